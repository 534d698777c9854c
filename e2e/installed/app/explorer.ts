// The explorer as an app mounts it from the installed package: its own entry, over a database of
// the app (opened here without the app's classes: its Todos show as stored). Typed by the shipped
// declarations (document.createElement knows the tag).
import { openDatabase } from 'shelfdb';
import 'shelfdb/explorer';

const db = await openDatabase('installed-app');
const explorer = document.createElement('shelf-explorer');
explorer.database = db;
explorer.editable = true;
document.body.append(explorer);
document.body.dataset.ready = 'yes';

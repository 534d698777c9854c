/**
 * Runs the Storage contract checks (test/storage-checks.ts, the same as in Node) in a page, against
 * `db.storage` of databases opened as an app opens them: the StorageClient talking over Comlink to
 * a real storage worker, which owns OPFS files or a real IndexedDB database. Each check gets fresh
 * databases, closed after it; `reopen` opens the same database again, as a reload would.
 */
import { openDatabase, type Database, type Storage } from 'shelfdb';
import {
  argumentChecks,
  storageChecks,
  type ReopenableStorage,
  type StorageCheck,
} from '../../test/storage-checks.js';

type Kind = 'opfs' | 'indexeddb';

async function runContract(kind: Kind, which: 'contract' | 'arguments'): Promise<string[]> {
  const checks: StorageCheck[] = which === 'contract' ? storageChecks : argumentChecks;
  const failures: string[] = [];
  let n = 0;
  for (const [name, run] of checks) {
    const opened: Database[] = [];
    const open = async (dbName: string): Promise<Storage> => {
      const db = await openDatabase(dbName, { storage: kind });
      opened.push(db);
      return db.storage;
    };
    const factory = async (): Promise<ReopenableStorage> => {
      const dbName = `contract-${kind}-${Date.now()}-${n++}`;
      return { storage: await open(dbName), reopen: () => open(dbName) };
    };
    try {
      await run(factory);
    } catch (error) {
      failures.push(`${name}: ${String((error as Error)?.stack ?? error)}`);
    } finally {
      for (const db of opened) await db.close();
    }
  }
  return failures;
}

declare global {
  interface Window {
    runContract: typeof runContract;
  }
}
window.runContract = runContract;
document.body.dataset.ready = 'yes';

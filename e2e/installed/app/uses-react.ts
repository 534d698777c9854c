// Compiled (not run) by the installed-package test: shelfdb/react as an app's strict TypeScript
// sees it from the shipped declarations, with React as the app's own dependency.
import { createElement, type ReactElement } from 'react';
import type { BTree, Database } from 'shelfdb';
import { useConnection, useObject, useRange, useRoot } from 'shelfdb/react';
import type { Todo } from './main.ts';

export function TodoList(props: { db: Database; tree: BTree<string, Todo> }): ReactElement {
  const conn = useConnection(props.db);
  const root = useRoot(conn);
  const { entries, loading, error } = useRange(props.tree, { min: 'a' }, { limit: 20 });
  const first = useObject(conn, entries[0]?.[1]);
  if (error !== undefined) return createElement('p', null, String(error));
  if (loading || root === undefined) return createElement('p', null, 'loading');
  return createElement(
    'ul',
    { title: first?.title ?? '' },
    entries.map(([key, todo]) => createElement('li', { key }, todo.title)),
  );
}

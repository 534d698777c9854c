/**
 * What the object view shows of one loaded object, taken at once (synchronously, right after the
 * load): its identity (oid, stored class, size, serial), what kind of object it is, and its fields
 * described (value-model.ts). The view renders this model, never the live object, which the
 * explorer's connection may turn into a ghost at any 'change'.
 */
import { BrokenObject } from '../broken-object.js';
import { BTree } from '../btree.js';
import { BTreeNode } from '../btree-node.js';
import type { Connection } from '../connection.js';
import type { Persistent } from '../persistent.js';
import { CONTENT_FIELD, containerKind, type ContainerKind } from './container-page.js';
import { scalarType, type ScalarType } from './edit-session.js';
import { describeValue, storedClassName, type ValueNode } from './value-model.js';

/**
 * A persistent object handed to a child view through a lit binding. lit inspects the values bound
 * in a template (it reads marker properties such as `_$litDirective$`), which a ghost refuses with
 * GhostError; so views pass this plain holder, made once per object, never the object itself.
 */
export interface Held<T extends Persistent = Persistent> {
  readonly obj: T;
}

/** How the view shows an object besides its fields. */
export type ObjectKind = 'object' | 'broken' | 'btree' | 'btree-node' | ContainerKind;

/** One field of the object. */
export interface FieldModel {
  name: string;
  value: ValueNode;
  /** The value itself and its type when it is a scalar the explorer can edit. */
  scalar: { type: ScalarType; current: unknown } | undefined;
}

/** The object as shown. */
export interface ObjectModel {
  oid: number;
  className: string;
  kind: ObjectKind;
  /** Bytes of the stored revision loaded. */
  size: number | undefined;
  /** Tid of that revision. */
  serial: number | undefined;
  fields: FieldModel[];
  /** Fields past `FIELD_LIMIT`, counted and not described. */
  moreFields: number;
  /** Why its fields cannot be edited (even in an editable explorer), if they cannot. */
  readOnly: string | undefined;
}

function kindOf(obj: Persistent): ObjectKind {
  if (obj instanceof BrokenObject) return 'broken';
  if (obj instanceof BTree) return 'btree';
  if (obj instanceof BTreeNode) return 'btree-node';
  return containerKind(obj) ?? 'object';
}

const READ_ONLY: Partial<Record<ObjectKind, string>> = {
  broken: 'class not registered in this page: shown as stored, read-only',
  btree: "a BTree's fields are its own bookkeeping (change its entries through the app)",
  'btree-node': "a BTree node's fields are its tree's bookkeeping",
};

/** Fields described at most (an object with more shows the count of the rest). */
export const FIELD_LIMIT = 200;

/** The model of `obj`, loaded in `conn`. */
export function describeObject(obj: Persistent, conn: Connection): ObjectModel {
  const kind = kindOf(obj);
  const state: Record<string, unknown> =
    obj instanceof BrokenObject ? obj.state : (obj as unknown as Record<string, unknown>);
  const hidden = kind === 'dict' || kind === 'list' || kind === 'set' ? CONTENT_FIELD[kind] : '';
  const fields: FieldModel[] = [];
  let moreFields = 0;
  for (const [name, value] of Object.entries(state)) {
    if (name === hidden || name.startsWith('_v_')) continue;
    if (fields.length >= FIELD_LIMIT) {
      moreFields++;
      continue;
    }
    const type = scalarType(value);
    fields.push({
      name,
      value: describeValue(value),
      scalar: type === undefined ? undefined : { type, current: value },
    });
  }
  return {
    oid: obj._p_oid ?? -1,
    className: storedClassName(obj),
    kind,
    size: conn.storedSize(obj),
    serial: obj._p_serial,
    fields,
    moreFields,
    readOnly: READ_ONLY[kind],
  };
}

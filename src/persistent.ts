/**
 * Persistent objects: ordinary class instances that notice their own changes.
 *
 * Status machine (`_p_status`):
 *
 *   new ──▶ unsaved ──commit──▶ saved ◀──load── ghost
 *                                 │  ▲            ▲ │
 *                     write/delete│  │commit      │ │invalidation, abort,
 *                                 ▼  │            │ │cache shrink (clean only)
 *                               unsaved ──abort───┘ │
 *                                                   ▼
 *                                                 ghost
 *
 * - unsaved: new (no oid, no connection yet), or stored with changes not yet committed.
 * - saved: loaded and unchanged since the revision `_p_serial`.
 * - ghost: only oid and class are known; reading or writing a field throws `GhostError`.
 *
 * Mechanism: the `Persistent` constructor returns a Proxy around the instance, so the field
 * initializers of subclasses (`title = ''`) and every later assignment, `Object.defineProperty` or
 * `delete` pass through one shared handler. It was chosen over accessors on the prototype because
 * class fields are defined on the instance (ES2022 [[Define]] semantics) and would shadow them, and
 * accessors cannot see new or deleted properties. The cost, measured by bench/tracking-cost.mjs and
 * recorded in BENCHMARKS.md, is ~20 ns per property read on a loaded object.
 *
 * Bookkeeping lives in a `Meta` record behind a symbol on the raw instance (the proxy's target):
 * the app only ever sees the proxy, so identity is the proxy's. Properties whose names start with
 * `_p_` are shelfdb's; those starting with `_v_` are volatile: never stored, never marked changed.
 */
import { GhostError, ShelfError } from './shared/errors.js';
import type { Tid } from './shared/storage.js';

/**
 * `obj._p_status`: 'unsaved' (new, or stored with changes not yet committed), 'saved' (loaded and
 * unchanged since), 'ghost' (stored, state not loaded: load it before reading fields).
 */
export type PersistentStatus = 'unsaved' | 'saved' | 'ghost';

/** What a persistent object needs from the connection that holds it (Connection implements it). */
export interface Jar {
  /**
   * A saved object was changed: remember it for the next commit. May throw (closed database,
   * read-only connection). `applied`: the change is already made (`_p_noteChange`, called after
   * mutating data the proxy cannot see, as the containers and the BTree do); otherwise a throw
   * stops it before it is made (an assignment or `delete`).
   */
  noteChanged(obj: Persistent, applied: boolean): void;
}

/** @internal The bookkeeping of one persistent object. */
export interface Meta {
  /** The raw instance behind the proxy: internal reads and writes bypass tracking through it. */
  target: Record<string, unknown>;
  /** The proxy: the object's identity. */
  self: Persistent;
  /** Object id; undefined until the object's first commit. */
  oid: number | undefined;
  status: PersistentStatus;
  /** Tid of the revision loaded or last committed. */
  serial: Tid | undefined;
  /** The connection holding the object; undefined until its first commit. */
  jar: Jar | undefined;
  /** The stored class name, once known (loaded, referenced or committed). */
  className: string | undefined;
  /** Bytes of the stored state, for `cacheBytes`. */
  size: number;
  /** Read since the cache last looked: the second chance of the cache's CLOCK eviction. */
  accessed: boolean;
  /** A BrokenObject: cannot be changed. */
  readonly: boolean;
}

/** @internal */
export const META: unique symbol = Symbol('shelfdb.meta');

type Target = Record<string | symbol, unknown> & { [META]: Meta };

/** @internal The bookkeeping of a persistent object (the proxy or its target). */
export function metaOf(obj: Persistent): Meta {
  return (obj as unknown as Target)[META];
}

/** @internal True for fields that are stored: not shelfdb's (`_p_`), not volatile (`_v_`). */
export function isStoredKey(key: string): boolean {
  return !(key.charCodeAt(0) === 95 /* _ */ && (key.startsWith('_p_') || key.startsWith('_v_')));
}

function ghostError(m: Meta): GhostError {
  return new GhostError(m.oid ?? -1, m.className ?? m.target.constructor.name);
}

/**
 * Keys a ghost answers without loading: shelfdb's own (`_p_…`), `then` (so a ghost can resolve a
 * promise), and whatever its prototype chain defines (methods and getters, which then read fields
 * through the proxy and throw there if they need state).
 */
function answersAsGhost(t: Target, key: string): boolean {
  return key.startsWith('_p_') || key === 'then' || key in Object.getPrototypeOf(t);
}

/** `key` is '' for `_p_noteChange` (the change is made already), else the property changing. */
function noteChange(m: Meta, key: string | symbol): void {
  if (m.status === 'ghost') throw ghostError(m);
  if (m.readonly) {
    throw new ShelfError(
      `${m.className ?? 'BrokenObject'} ${m.oid} is a BrokenObject (its class is not registered in this page) and cannot be changed. To work with it, register the class under the name it is stored as: static _p_name = '${m.className ?? ''}', listed in the database's classes (or registerClass).`,
    );
  }
  if (typeof key === 'symbol' || !isStoredKey(key)) return;
  if (m.status === 'saved') {
    m.jar?.noteChanged(m.self, key === '');
    m.status = 'unsaved';
  }
}

function reserved(key: string | symbol): boolean {
  return typeof key === 'string' && key.charCodeAt(0) === 95 /* _ */ && key.startsWith('_p_');
}

/**
 * Whether a write to an object in state `m` needs `noteChange`: for an unsaved object that is not a
 * BrokenObject it would do nothing (no GhostError, no ShelfError, nothing to note). This is the
 * state of every new object while its constructor and `Object.assign` fill it, so the traps skip
 * the call there (construction path of issue 12, measured by bench/persistent-cost.mjs).
 */
function mustNote(m: Meta): boolean {
  return m.status !== 'unsaved' || m.readonly;
}

function reservedError(key: string): TypeError {
  return new TypeError(`Property ${key} is shelfdb's: names starting with _p_ are reserved.`);
}

/**
 * `Reflect.defineProperty(t, key, descriptor)`, by assignment where that is the same thing: a class
 * field initializer (`title = ''`) defines a new writable, enumerable, configurable property, which
 * for a key that `t` and its prototypes do not have, on an extensible `t`, is exactly what `[[Set]]`
 * creates. The assignment takes V8's store cache instead of the runtime's generic definition:
 * ~1 µs less per new object of 7 fields in Chromium (bench/persistent-cost.mjs).
 */
function defineOn(t: Target, key: string | symbol, descriptor: PropertyDescriptor): boolean {
  if (
    descriptor.writable === true &&
    descriptor.enumerable === true &&
    descriptor.configurable === true &&
    !(key in t) &&
    Object.isExtensible(t)
  ) {
    t[key] = descriptor.value;
    return true;
  }
  return Reflect.defineProperty(t, key, descriptor);
}

const handler: ProxyHandler<Target> = {
  get(t, key, receiver) {
    if (key === META) return t[META];
    const m = t[META];
    if (m.status === 'ghost') {
      if (typeof key === 'string' && !answersAsGhost(t, key)) throw ghostError(m);
      return Reflect.get(t, key, receiver);
    }
    m.accessed = true;
    return t[key];
  },
  set(t, key, value) {
    if (reserved(key)) throw reservedError(key as string);
    const m = t[META];
    if (mustNote(m)) noteChange(m, key);
    return Reflect.set(t, key, value);
  },
  defineProperty(t, key, descriptor) {
    if (reserved(key)) throw reservedError(key as string);
    const m = t[META];
    if (mustNote(m)) noteChange(m, key);
    return defineOn(t, key, descriptor);
  },
  deleteProperty(t, key) {
    if (reserved(key)) throw reservedError(key as string);
    const m = t[META];
    if (!Object.prototype.hasOwnProperty.call(t, key) && m.status !== 'ghost') return true;
    if (mustNote(m)) noteChange(m, key);
    return Reflect.deleteProperty(t, key);
  },
  has(t, key) {
    const m = t[META];
    if (m.status === 'ghost' && typeof key === 'string' && !answersAsGhost(t, key)) {
      throw ghostError(m);
    }
    return key !== META && Reflect.has(t, key);
  },
  ownKeys(t) {
    if (t[META].status === 'ghost') throw ghostError(t[META]);
    return Reflect.ownKeys(t).filter((k) => k !== META);
  },
  getOwnPropertyDescriptor(t, key) {
    if (key === META) return undefined;
    const m = t[META];
    if (m.status === 'ghost' && typeof key === 'string' && !key.startsWith('_p_')) {
      throw ghostError(m);
    }
    return Reflect.getOwnPropertyDescriptor(t, key);
  },
};

/**
 * Puts `target` behind the tracking proxy with a new Meta. The Meta is built by one literal holding
 * every field, so that all Metas share one shape with its fields in the object itself.
 */
function wrap(
  target: object,
  oid: number | undefined,
  status: PersistentStatus,
  jar: Jar | undefined,
  className: string | undefined,
  readonly: boolean,
): Persistent {
  const m: Meta = {
    target: target as Record<string, unknown>,
    self: undefined as unknown as Persistent, // set just below: the proxy needs the Meta first
    oid,
    status,
    serial: undefined,
    jar,
    className,
    size: 0,
    accessed: false,
    readonly,
  };
  Object.defineProperty(target, META, { value: m, configurable: true });
  const proxy = new Proxy(target as Target, handler) as unknown as Persistent;
  m.self = proxy;
  return proxy;
}

/**
 * The base class of every stored object. Subclass it, declare fields as usual, give the class a
 * stable stored name (`static _p_name`: minifiers rename classes), and register it with
 * `registerClass` or the `classes` option of `openDatabase`.
 *
 * @example
 * class Todo extends Persistent {
 *   static _p_name = 'app.Todo';
 *   title = '';
 *   done = false;
 * }
 * registerClass(Todo);
 */
export class Persistent {
  constructor() {
    return wrap(this, undefined, 'unsaved', undefined, undefined, false);
  }

  /** The object id, assigned at the object's first commit. */
  get _p_oid(): number | undefined {
    return metaOf(this).oid;
  }

  /** 'unsaved' (new, or changed since its last commit), 'saved' (loaded, unchanged), or 'ghost'. */
  get _p_status(): PersistentStatus {
    return metaOf(this).status;
  }

  /** The tid of the revision loaded or last committed. */
  get _p_serial(): Tid | undefined {
    return metaOf(this).serial;
  }

  /** The connection holding this object (undefined before its first commit). */
  get _p_connection(): unknown {
    return metaOf(this).jar;
  }

  /**
   * Marks the object changed after mutating plain data nested in it (`this.tags.push(x)`), which
   * assignment tracking cannot see.
   * @throws GhostError on a ghost; ShelfError on a BrokenObject.
   */
  _p_noteChange(): void {
    noteChange(metaOf(this), '');
  }
}

/**
 * A class whose instances shelfdb can store. Its optional `static _p_name` is the stable name its
 * records are stored under (see `registerClass`); it is typed here rather than declared on
 * Persistent so that subclasses declare it without `override`.
 */
export type PersistentClass<T extends Persistent = Persistent> = (abstract new (
  ...args: never[]
) => T) & {
  /** The stable name the class's records are stored under, e.g. 'app.Todo'. */
  readonly _p_name?: string;
};

/** @internal Makes a ghost of `cls` without running its constructor. */
export function makeGhost(
  cls: PersistentClass,
  oid: number,
  className: string,
  jar: Jar,
  readonly = false,
): Persistent {
  return wrap(
    Object.create(cls.prototype as object) as object,
    oid,
    'ghost',
    jar,
    className,
    readonly,
  );
}

/** @internal The stored fields of a loaded or new object, as a fresh plain object. */
export function getState(m: Meta): Record<string, unknown> {
  const state: Record<string, unknown> = {};
  for (const key of Object.keys(m.target)) {
    if (isStoredKey(key)) state[key] = m.target[key];
  }
  return state;
}

/** @internal Fills a ghost with decoded fields and makes it saved. */
export function setState(m: Meta, state: Record<string, unknown>, serial: Tid, size: number): void {
  const t = m.target;
  for (const key of Object.keys(state)) t[key] = state[key];
  m.status = 'saved';
  m.serial = serial;
  m.size = size;
  m.accessed = false;
}

/**
 * @internal Drops the state of an object: it becomes a ghost (its identity stays).
 *
 * The fields are deleted newest first: V8 deletes the most recently added property of an object by
 * going back to its previous hidden class, so the target keeps fast properties and, loaded again
 * with the same fields, gets back the very hidden class it had (that of new objects of its class
 * too). Deleted oldest first, the target turned into a dictionary-mode object and stayed one.
 * Measured by bench/persistent-cost.mjs (Chromium, 100,000 objects of 7 fields, 90,000 ghosted,
 * CPU time on a loaded 2-core machine): `setState` on a ghost 714 → 635 ns in one run, 647 → 677
 * ns in another (within the noise), shrink and property reads unchanged (~27 ns per read). Kept
 * for what is certain: no dictionary per ghost, and reloaded objects share their class's hidden
 * class with new ones (V8's %HaveSameMap), so code reading them stays monomorphic.
 */
export function ghostify(m: Meta): void {
  const t = m.target;
  const keys = Object.keys(t);
  for (let i = keys.length - 1; i >= 0; i--) delete t[keys[i] as string];
  m.status = 'ghost';
  m.size = 0;
  m.accessed = false;
}

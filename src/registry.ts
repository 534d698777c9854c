/**
 * Class registry: stored class names ⇄ persistent classes.
 *
 * A stored record names its class by a string that every build of the app must agree on, so the
 * name is part of the class: `static _p_name = 'app.Todo'` (or an explicit name passed with it,
 * `registerClass(Todo, 'app.Todo')` / `classes: { 'app.Todo': Todo }`). `.name` is only a fallback,
 * with a console warning: a production build drops it (`class extends _{…}`) or renames it
 * (`class e`), and records stored under a name the next build does not know load as BrokenObject.
 *
 * `registerClass` writes to the page's global registry, the one piece of module state in shelfdb:
 * apps register their classes beside the class declarations, before any database exists. Each
 * Database has its own registry (its `classes` option and shelfdb's containers) that falls back to
 * the global one.
 */
import { Persistent, type PersistentClass } from './persistent.js';

/**
 * Class names that a minifier or a bundler made: one or two characters (`e`, `Zt`), or a name
 * with a `$n` suffix (rollup/rolldown rename clashing declarations `Todo$1`). Both can change from
 * one build to the next.
 */
const MINIFIED_NAME = /^[\w$]{1,2}$|\$\d+$/;

/**
 * Stored class names ⇄ persistent classes, falling back to a parent registry. Each Database has
 * one (`db.registry`) over the page's global registry; apps normally fill them through
 * `registerClass` and the `classes` option rather than directly.
 * @example
 * const registry = new ClassRegistry();
 * registry.register(Todo); // under Todo's static _p_name
 * registry.classOf('app.Todo'); // Todo
 */
export class ClassRegistry {
  /** Stored name → class. */
  private readonly byName = new Map<string, PersistentClass>();
  /** Class → stored name. */
  private readonly byClass = new Map<PersistentClass, string>();
  /** Consulted for names and classes this registry does not know. */
  private readonly parent: ClassRegistry | undefined;
  /**
   * Classes already warned about for a name derived from `.name`. Only the root registry's set is
   * used (the global one, for every Database), so each class warns once per page.
   */
  private readonly warned = new WeakSet<PersistentClass>();

  constructor(parent?: ClassRegistry) {
    this.parent = parent;
  }

  /**
   * Registers `cls` under its stored name: `name` if given, else its own `static _p_name`, else
   * the name it is registered under already (here or in the parent), else its `.name` (with a
   * console warning, once per class, since that name does not survive a production build).
   * @throws TypeError if `cls` does not extend Persistent; if its own `_p_name` is not a non-empty
   *   string; if `name` and `_p_name` differ; if it has neither and its `.name` is empty or looks
   *   minified; or if the name or the class is already registered differently (here or in the
   *   parent registry).
   */
  register(cls: PersistentClass, name?: string): void {
    if (typeof cls !== 'function' || !(cls.prototype instanceof Persistent)) {
      throw new TypeError(
        `registerClass: ${String((cls as { name?: unknown } | null)?.name ?? cls)} does not extend Persistent. Only Persistent subclasses can be registered.`,
      );
    }
    const stored = this.storedNameFor(cls, name);
    const existing = this.classOf(stored);
    if (existing !== undefined && existing !== cls && !redeclares(cls, existing)) {
      throw new TypeError(
        `registerClass: the name "${stored}" is already registered for another class${existing.name ? ` (${existing.name})` : ''}. Give ${cls.name || 'this class'} its own stable name: static _p_name = 'app.${cls.name || 'MyClass'}'.`,
      );
    }
    const existingName = this.nameOf(cls);
    if (existingName !== undefined && existingName !== stored) {
      throw new TypeError(
        `registerClass: ${cls.name || 'this class'} is already registered as "${existingName}", not "${stored}"; a class has one stored name.`,
      );
    }
    this.byName.set(stored, cls);
    this.byClass.set(cls, stored);
  }

  /** The class registered under the stored name `name`, here or in the parent registry. */
  classOf(name: string): PersistentClass | undefined {
    return this.byName.get(name) ?? this.parent?.classOf(name);
  }

  /**
   * The stored name `cls` is registered under, here or in the parent registry; or, for a class a
   * hot module reload declared again (see `redeclares`), the name of the class it replaces.
   */
  nameOf(cls: PersistentClass): string | undefined {
    const registered = this.registeredName(cls);
    if (registered !== undefined) return registered;
    const declared = declaredNameOrUndefined(cls);
    if (declared === undefined) return undefined;
    const existing = this.classOf(declared);
    return existing !== undefined && redeclares(cls, existing) ? declared : undefined;
  }

  private registeredName(cls: PersistentClass): string | undefined {
    return this.byClass.get(cls) ?? this.parent?.registeredName(cls);
  }

  /** The name `cls` is stored under, given the name it is registered with (if any). */
  private storedNameFor(cls: PersistentClass, name: string | undefined): string {
    const declared = declaredName(cls);
    if (name !== undefined) {
      if (typeof name !== 'string' || name === '') {
        throw new TypeError(
          `registerClass: the stored name of ${cls.name || 'a class'} must be a non-empty string, got ${JSON.stringify(name) ?? String(name)}.`,
        );
      }
      if (declared !== undefined && declared !== name) {
        throw new TypeError(
          `registerClass: ${cls.name || 'the class'} declares static _p_name = "${declared}" but is registered as "${name}". A class has one stored name: register it without a name, or make the two the same.`,
        );
      }
      return name;
    }
    if (declared !== undefined) return declared;
    // Registered already with a stable name (registerClass(Todo, 'app.Todo'), then listed in a
    // database's classes): that name, rather than a clash with its JavaScript name.
    return this.registeredName(cls) ?? this.derivedName(cls);
  }

  /**
   * `cls.name`, for a class registered with no stable name; refused where the build has visibly
   * changed it (empty, or minified), since records stored under it would be lost to the next build.
   */
  private derivedName(cls: PersistentClass): string {
    const name = cls.name;
    if (name === '' || MINIFIED_NAME.test(name)) {
      const what =
        name === ''
          ? 'has no name (a production build made it an anonymous class)'
          : `is called "${name}", which looks minified or renamed by a bundler`;
      throw new TypeError(
        `registerClass: a persistent class ${what}; records stored under such a name would not be found by the next build. Give the class a stable name where it is declared: static _p_name = 'app.MyClass' (or register it with one: classes: { 'app.MyClass': MyClass }).`,
      );
    }
    const root = this.root();
    if (!root.warned.has(cls)) {
      root.warned.add(cls);
      // eslint-disable-next-line no-console -- a warning for the app's developer, who reads the console
      console.warn(
        `shelfdb: the persistent class ${name} has no stable name, so its records are stored under "${name}", its JavaScript name. A minifier renames classes: after a production build, records stored under the old name load as BrokenObject. Give it a stable name where it is declared: class ${name} extends Persistent { static _p_name = 'app.${name}'; … } (if records are stored already, keep their name: static _p_name = '${name}').`,
      );
    }
    return name;
  }

  private root(): ClassRegistry {
    return this.parent === undefined ? this : this.parent.root();
  }
}

/**
 * A class's own `static _p_name`, if it declares one. Only its own: a subclass inherits the static
 * from its parent, and taking that would store two classes under one name.
 * @throws TypeError if it declares one that is not a non-empty string.
 */
function declaredName(cls: PersistentClass): string | undefined {
  if (!Object.prototype.hasOwnProperty.call(cls, '_p_name')) return undefined;
  const name: unknown = (cls as { _p_name?: unknown })._p_name;
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(
      `registerClass: ${cls.name || 'a persistent class'} declares static _p_name = ${JSON.stringify(name) ?? String(name)}; the stored name must be a non-empty string, such as 'app.${cls.name || 'MyClass'}'.`,
    );
  }
  return name;
}

/** declaredName, or undefined for a bad `_p_name` too (for lookups, which never throw). */
function declaredNameOrUndefined(cls: PersistentClass): string | undefined {
  try {
    return declaredName(cls);
  } catch {
    return undefined; // refused with its TypeError where the class is registered
  }
}

/**
 * True when `cls` is `existing` declared again: a dev server's hot module reload runs the module
 * anew, making a new class object with the same JavaScript name and the same own `_p_name`. It
 * takes the old one's place (records load as the newest) instead of clashing with it; a class of
 * another name claiming the stored name still clashes.
 */
function redeclares(cls: PersistentClass, existing: PersistentClass): boolean {
  const declared = declaredNameOrUndefined(cls);
  return (
    declared !== undefined &&
    cls.name !== '' &&
    cls.name === existing.name &&
    declaredNameOrUndefined(existing) === declared
  );
}

/** The page's global registry, which `registerClass` fills. */
export const globalRegistry = new ClassRegistry();

/**
 * Registers a persistent class in the page's global registry, for every database, under its
 * stable stored name: `name` if given, else the class's own `static _p_name`. Without either, the
 * class's JavaScript name is used and a console warning (once per class) says to give it a stable
 * one, because minifiers change it.
 * @throws TypeError if the class does not extend Persistent; if `name` and its `_p_name` differ or
 *   either is not a non-empty string; if it has neither and its JavaScript name is empty or looks
 *   minified; or if the name is taken by another class or the class is registered under another.
 * @example
 * class Todo extends Persistent {
 *   static _p_name = 'app.Todo';
 *   title = '';
 * }
 * registerClass(Todo);
 */
export function registerClass(cls: PersistentClass, name?: string): void {
  globalRegistry.register(cls, name);
}

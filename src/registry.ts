/**
 * Class registry: stored class names ⇄ persistent classes.
 *
 * A stored record names its class by a string that must survive minifying, so apps register each
 * class under a stable name (`registerClass(Todo, 'app.Todo')`; the default is `Todo.name`).
 * `registerClass` writes to the page's global registry, the one piece of module state in shelfdb:
 * apps register their classes beside the class declarations, before any database exists. Each
 * Database has its own registry (its `classes` option and shelfdb's containers) that falls back to
 * the global one.
 */
import { Persistent, type PersistentClass } from './persistent.js';

export class ClassRegistry {
  /** Stored name → class. */
  private readonly byName = new Map<string, PersistentClass>();
  /** Class → stored name. */
  private readonly byClass = new Map<PersistentClass, string>();
  /** Consulted for names and classes this registry does not know. */
  private readonly parent: ClassRegistry | undefined;

  constructor(parent?: ClassRegistry) {
    this.parent = parent;
  }

  /**
   * @throws TypeError if `cls` does not extend Persistent, if `name` is empty, or if the name or
   *   the class is already registered differently (here or in the parent registry).
   */
  register(cls: PersistentClass, name: string = cls.name): void {
    if (typeof cls !== 'function' || !(cls.prototype instanceof Persistent)) {
      throw new TypeError(
        `registerClass: ${String((cls as { name?: unknown })?.name ?? cls)} does not extend Persistent. Only Persistent subclasses can be registered.`,
      );
    }
    if (typeof name !== 'string' || name === '') {
      throw new TypeError(
        'registerClass: the class has no name. Pass a stable one: registerClass(MyClass, "app.MyClass").',
      );
    }
    const existing = this.classOf(name);
    if (existing !== undefined && existing !== cls) {
      throw new TypeError(
        `registerClass: the name "${name}" is already registered for another class. Give ${cls.name || 'this class'} its own stable name: registerClass(${cls.name || 'MyClass'}, "app.${cls.name || 'MyClass'}").`,
      );
    }
    const existingName = this.nameOf(cls);
    if (existingName !== undefined && existingName !== name) {
      throw new TypeError(
        `registerClass: ${cls.name} is already registered as "${existingName}"; a class has one stored name.`,
      );
    }
    this.byName.set(name, cls);
    this.byClass.set(cls, name);
  }

  classOf(name: string): PersistentClass | undefined {
    return this.byName.get(name) ?? this.parent?.classOf(name);
  }

  nameOf(cls: PersistentClass): string | undefined {
    return this.byClass.get(cls) ?? this.parent?.nameOf(cls);
  }
}

/** The page's global registry, which `registerClass` fills. */
export const globalRegistry = new ClassRegistry();

/**
 * Registers a persistent class under a stable stored name (default: the class's name, which
 * minifiers change: pass a name in apps that are minified).
 * @throws TypeError if the class does not extend Persistent or the name is taken by another class.
 * @example
 * class Todo extends Persistent { title = ''; }
 * registerClass(Todo, 'app.Todo');
 */
export function registerClass(cls: PersistentClass, name?: string): void {
  globalRegistry.register(cls, name);
}

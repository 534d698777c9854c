/**
 * Stored class names: the name a record is stored under must be the same in every build of the
 * app, so it comes from the class's own `static _p_name` (or an explicit name), never silently from
 * `.name`, which minifiers rename and bundlers drop.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BrokenObject,
  BTree,
  BTreeNode,
  ClassRegistry,
  Database,
  MemoryStorage,
  openDatabase,
  Persistent,
  PersistentDict,
  PersistentList,
  PersistentSet,
  registerClass,
} from '../src/index.js';

/** Commits `obj` under the root key 'x' and returns the class name its record is stored under. */
async function storedName(db: Database, obj: Persistent): Promise<string> {
  const conn = db.open();
  (await conn.root()).set('x', obj);
  await conn.commit();
  const [record] = await db.storage.load([obj._p_oid as number]);
  return record?.className as string;
}

/** A Persistent subclass whose JS name is `jsName` (as a minifier would leave it). */
function classNamed(jsName: string, stableName?: string): new () => Persistent & { title: string } {
  const cls = class extends Persistent {
    title = '';
  };
  Object.defineProperty(cls, 'name', { value: jsName });
  if (stableName !== undefined) Object.defineProperty(cls, '_p_name', { value: stableName });
  return cls;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('static _p_name', () => {
  it('is the name registerClass stores the class under', async () => {
    class Note extends Persistent {
      static _p_name = 'test.global.Note';
      text = '';
    }
    registerClass(Note);
    const db = new Database(new MemoryStorage());
    expect(db.registry.nameOf(Note)).toBe('test.global.Note');
    expect(await storedName(db, new Note())).toBe('test.global.Note');
  });

  it('is the name the classes option stores an array of classes under', async () => {
    class Todo extends Persistent {
      static readonly _p_name = 'app.Todo';
      title = '';
    }
    const db = new Database(new MemoryStorage(), { classes: [Todo] });
    expect(db.registry.nameOf(Todo)).toBe('app.Todo');
    expect(db.registry.classOf('Todo')).toBeUndefined();
    expect(await storedName(db, new Todo())).toBe('app.Todo');
  });

  it('agrees with an explicit name that is the same, and registerClass(cls, name) still works', () => {
    class Same extends Persistent {
      static _p_name = 'test.Same';
    }
    class Named extends Persistent {}
    const registry = new ClassRegistry();
    registry.register(Same, 'test.Same');
    registry.register(Named, 'test.Named');
    expect(registry.nameOf(Same)).toBe('test.Same');
    expect(registry.classOf('test.Named')).toBe(Named);
  });

  it('refuses an explicit name that differs from it with a TypeError naming both', () => {
    class Todo extends Persistent {
      static _p_name = 'app.Todo';
    }
    const registry = new ClassRegistry();
    expect(() => registry.register(Todo, 'app.Task')).toThrow(TypeError);
    expect(() => registry.register(Todo, 'app.Task')).toThrow(/"app\.Todo"[\s\S]*"app\.Task"/);
    expect(() => new Database(new MemoryStorage(), { classes: { 'app.Task': Todo } })).toThrow(
      /"app\.Todo"[\s\S]*"app\.Task"/,
    );
  });

  it('must be a non-empty string', () => {
    class Empty extends Persistent {
      static _p_name = '';
    }
    class NotAString extends Persistent {
      static _p_name = 42;
    }
    const registry = new ClassRegistry();
    expect(() => registry.register(Empty)).toThrow(TypeError);
    expect(() => registry.register(Empty)).toThrow(/Empty[\s\S]*_p_name/);
    expect(() => registry.register(NotAString as never)).toThrow(TypeError);
    expect(() => registry.register(NotAString as never)).toThrow(/NotAString[\s\S]*_p_name/);
  });

  it('is not inherited: a subclass without its own _p_name does not take its parent’s name', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    class Todo extends Persistent {
      static _p_name = 'app.Todo';
      title = '';
    }
    class SpecialTodo extends Todo {}
    class NamedSpecial extends Todo {
      static override _p_name = 'app.NamedSpecial';
    }
    const db = new Database(new MemoryStorage(), { classes: [Todo, SpecialTodo, NamedSpecial] });
    expect(db.registry.nameOf(Todo)).toBe('app.Todo');
    expect(db.registry.nameOf(SpecialTodo)).toBe('SpecialTodo');
    expect(db.registry.nameOf(NamedSpecial)).toBe('app.NamedSpecial');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toContain('SpecialTodo');
  });
});

describe("shelfdb's own classes", () => {
  it('are stored under fixed names, not their JavaScript names', () => {
    const db = new Database(new MemoryStorage());
    const names = [PersistentDict, PersistentList, PersistentSet, BTree, BTreeNode].map((cls) =>
      db.registry.nameOf(cls),
    );
    expect(names).toEqual([
      'shelfdb.PersistentDict',
      'shelfdb.PersistentList',
      'shelfdb.PersistentSet',
      'shelfdb.BTree',
      'shelfdb.BTreeNode',
    ]);
  });
});

describe('the classes option', () => {
  it('takes a record of stored name → class', async () => {
    class Todo extends Persistent {
      title = '';
    }
    class Project extends Persistent {
      static _p_name = 'app.Project';
    }
    const warn = vi.spyOn(console, 'warn');
    const db = new Database(new MemoryStorage(), {
      classes: { 'app.Todo': Todo, 'app.Project': Project },
    });
    expect(db.registry.classOf('app.Todo')).toBe(Todo);
    expect(db.registry.classOf('app.Project')).toBe(Project);
    expect(await storedName(db, new Todo())).toBe('app.Todo');
    expect(warn).not.toHaveBeenCalled();
  });

  it('refuses what is neither an array of classes nor a record, naming the option', () => {
    class Todo extends Persistent {
      static _p_name = 'app.Todo';
    }
    const options = { classes: Todo } as never;
    expect(() => new Database(new MemoryStorage(), options)).toThrow(TypeError);
    expect(() => new Database(new MemoryStorage(), options)).toThrow(/classes/);
    expect(() => new Database(new MemoryStorage(), { classes: [{}] as never })).toThrow(
      /does not extend Persistent/,
    );
  });

  it('checks the classes before openDatabase opens the storage, so a refused class leaves no lock behind', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-class-names-'));
    try {
      const path = join(scratch, 'db');
      const unnamed = classNamed('');
      await expect(
        openDatabase('unnamed', { storage: 'file', path, classes: [unnamed] }),
      ).rejects.toThrow(TypeError);
      class Todo extends Persistent {
        static _p_name = 'app.Todo';
      }
      const db = await openDatabase('unnamed', { storage: 'file', path, classes: [Todo] });
      await db.close();
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('openDatabase when building the database fails after the storage opened', () => {
  it('closes the storage, so the lock of a file database is released', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-class-names-'));
    try {
      const path = join(scratch, 'db');
      class Mine extends Persistent {
        static _p_name = 'race.Claimed';
      }
      class Theirs extends Persistent {
        static _p_name = 'race.Claimed';
      }
      // The classes pass the check before the storage opens; while it opens, another module
      // registers another class under the same name, and building the Database fails.
      const opening = openDatabase('race', { storage: 'file', path, classes: [Mine] });
      registerClass(Theirs);
      await expect(opening).rejects.toThrow(/already registered for another class/);
      const db = await openDatabase('race', { storage: 'file', path });
      await db.close();
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('names derived from .name', () => {
  it('warn once per class in the page, naming the class and the fix', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    class Bookmark extends Persistent {
      url = '';
    }
    class Tag extends Persistent {}
    new Database(new MemoryStorage(), { classes: [Bookmark] });
    new Database(new MemoryStorage(), { classes: [Bookmark, Tag] });
    registerClass(Bookmark);
    expect(warn).toHaveBeenCalledTimes(2);
    const message = String(warn.mock.calls[0]?.[0]);
    expect(message).toContain('Bookmark');
    expect(message).toContain("static _p_name = 'app.Bookmark'");
    expect(String(warn.mock.calls[1]?.[0])).toContain('Tag');
  });

  it('are not used for a class already registered under a stable name, which keeps it', async () => {
    const warn = vi.spyOn(console, 'warn');
    class Task extends Persistent {
      title = '';
    }
    registerClass(Task, 'test.global.Task');
    const db = new Database(new MemoryStorage(), { classes: [Task] });
    expect(db.registry.nameOf(Task)).toBe('test.global.Task');
    expect(await storedName(db, new Task())).toBe('test.global.Task');
    expect(warn).not.toHaveBeenCalled();
  });

  it('do not warn when the class has a stable name', () => {
    const warn = vi.spyOn(console, 'warn');
    class Own extends Persistent {
      static _p_name = 'test.Own';
    }
    class Explicit extends Persistent {}
    const registry = new ClassRegistry();
    registry.register(Own);
    registry.register(Explicit, 'test.Explicit');
    new Database(new MemoryStorage(), { classes: { 'test.Explicit2': Explicit } });
    expect(warn).not.toHaveBeenCalled();
  });

  it('are refused with a TypeError asking for a stable name when the class has no name', () => {
    const registry = new ClassRegistry();
    const anonymous = classNamed('');
    expect(() => registry.register(anonymous)).toThrow(TypeError);
    expect(() => registry.register(anonymous)).toThrow(/static _p_name/);
    expect(() => new Database(new MemoryStorage(), { classes: [anonymous] })).toThrow(
      /static _p_name/,
    );
  });

  it('are refused when the name looks minified or renamed by a bundler', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.stringMatching(/^[A-Za-z_$][A-Za-z0-9_$]?$/),
          fc.stringMatching(/^[A-Z][a-z]{2,8}\$[0-9]{1,2}$/),
        ),
        (jsName) => {
          const registry = new ClassRegistry();
          expect(() => registry.register(classNamed(jsName))).toThrow(/stable name/);
        },
      ),
    );
  });
});

describe('a second build', () => {
  it('loads a record stored under a _p_name as its class, whatever the class is called in each build', async () => {
    // The JS names a minifier might give the same class in two builds.
    const jsName = fc.stringMatching(/^[A-Za-z_$][A-Za-z0-9_$]{0,6}$/);
    const stable = fc.stringMatching(/^[a-z]{1,6}(\.[A-Z][a-zA-Z]{0,8}){1,2}$/);
    await fc.assert(
      fc.asyncProperty(jsName, jsName, stable, fc.string(), async (first, second, name, title) => {
        const storage = new MemoryStorage();
        const build1 = classNamed(first, name);
        const db1 = new Database(storage, { classes: [build1] });
        const written = new build1();
        written.title = title;
        expect(await storedName(db1, written)).toBe(name);

        const build2 = classNamed(second, name); // a distinct class: a fresh registry
        const db2 = new Database(storage, { classes: [build2] });
        const conn = db2.open();
        const read = await conn.load((await conn.root()).get('x') as Persistent);
        expect(read).not.toBeInstanceOf(BrokenObject);
        expect(read).toBeInstanceOf(build2);
        expect((read as Persistent & { title: string }).title).toBe(title);
      }),
      { numRuns: 50 },
    );
  });
});

describe('a class declared again by a hot module reload (same JavaScript name, same _p_name)', () => {
  /** What a dev server's hot reload makes: the module runs again, declaring a new class object. */
  const declareTodo = (stored: string): new () => Persistent & { title: string } =>
    class Todo extends Persistent {
      static _p_name = stored;
      title = '';
    };

  it('replaces the old class in registerClass instead of throwing, and loads as the new one', async () => {
    const first = declareTodo('hot.Todo');
    registerClass(first);
    const again = declareTodo('hot.Todo');
    expect(() => registerClass(again)).not.toThrow();
    const db = new Database(new MemoryStorage());
    const todo = new again();
    todo.title = 'after the reload';
    expect(await storedName(db, todo)).toBe('hot.Todo');
    const conn = db.open();
    const loaded = await conn.get(todo._p_oid as number);
    expect(loaded).toBeInstanceOf(again);
    await db.close();
  });

  it('commits instances of the new class under the stored name in a database opened with the old one', async () => {
    const first = declareTodo('hot.Listed');
    const db = new Database(new MemoryStorage(), { classes: [first] });
    const again = declareTodo('hot.Listed');
    const todo = new again();
    todo.title = 'made by the reloaded module';
    expect(await storedName(db, todo)).toBe('hot.Listed');
    await db.close();
  });

  it('still refuses another class (another JavaScript name) claiming a stored name in use', () => {
    registerClass(declareTodo('hot.Taken'));
    const other = class Project extends Persistent {
      static _p_name = 'hot.Taken';
    };
    expect(() => registerClass(other)).toThrow(/already registered for another class \(Todo\)/);
  });
});

import { describe, expect, it } from 'vitest';
import { Database, MemoryStorage, Persistent, registerClass } from '../src/index.js';

class Todo extends Persistent {
  title = '';
  done = false;
}
registerClass(Todo, 'smoke.Todo');

describe('smoke', () => {
  it('commits and reads back', async () => {
    const db = new Database(new MemoryStorage());
    const conn = db.open();
    const root = await conn.root();
    const t = new Todo();
    t.title = 'x';
    root.set('t', t);
    await conn.commit();
    const c2 = db.open();
    const r2 = await c2.root();
    const t2 = r2.get('t') as Todo;
    await c2.load(t2);
    expect(t2.title).toBe('x');
  });
});

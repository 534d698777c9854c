// One round of bench/persistent-cost.mjs, bundled with the shelfdb modules it measures so that it
// runs alike in Node and in Chromium.
import { Cache, Persistent, metaOf, setState } from 'shelfdb-persistent-under-test';

class Rec extends Persistent {
  id = 0;
  title = '';
  done = false;
  priority = 0;
  tags = [];
  created = 0;
  note = '';
}

function fields(i) {
  return {
    id: i,
    title: `record ${i} with a title of some length`,
    done: (i & 1) === 0,
    priority: i % 5,
    tags: ['a', 'b'],
    created: 1_700_000_000_000 + i,
    note: 'x'.repeat(100),
  };
}

/**
 * The phases of one round, to run in order: each returns how many items it did. `n` new objects are
 * committed into a cache of `cacheSize`, which `shrink` makes ghosts of all but `cacheSize`; those
 * ghosts are then reloaded and each of their fields is read `reads` times.
 */
export function round(n, cacheSize, reads) {
  const input = Array.from({ length: n }, (_, i) => fields(i));
  const jar = { noteChanged() {} };
  const cache = new Cache(cacheSize, 2 ** 40);
  const objs = new Array(n);
  let ghosts = [];
  return {
    construct() {
      for (let i = 0; i < n; i++) objs[i] = Object.assign(new Rec(), input[i]);
      return n;
    },
    commit() {
      // What PendingCommit does for new objects: oid and status when encoding, cache at landing.
      for (let i = 0; i < n; i++) {
        const m = metaOf(objs[i]);
        m.oid = i + 1;
        m.jar = jar;
        m.className = 'Rec';
        m.status = 'saved';
      }
      for (let i = 0; i < n; i++) cache.add(objs[i]);
      for (let i = 0; i < n; i++) {
        const m = metaOf(objs[i]);
        m.serial = 1;
        m.size = 200;
        cache.noteLoaded(objs[i]);
      }
      return n;
    },
    shrink() {
      const ghosted = cache.shrink();
      if (ghosted !== Math.max(0, n - cacheSize))
        throw new Error(`shrink ghosted ${ghosted}, not ${n - cacheSize}`);
      ghosts = objs.filter((o) => o._p_status === 'ghost');
      return ghosted;
    },
    reload() {
      for (let i = 0; i < ghosts.length; i++) setState(metaOf(ghosts[i]), input[i], 2, 200);
      return ghosts.length;
    },
    read() {
      let sum = 0;
      for (let r = 0; r < reads; r++) {
        for (let i = 0; i < ghosts.length; i++) {
          const o = ghosts[i];
          sum += o.id + o.priority + o.created + o.title.length + o.note.length + o.tags.length;
          if (o.done) sum++;
        }
      }
      if (sum === 0 && ghosts.length > 0) throw new Error('the reads read nothing');
      return ghosts.length * 7 * reads;
    },
  };
}

/** The benchmark's record: about 200 bytes as JSON, keys 1..N. Shared by every system. */
export interface Fields {
  id: number;
  title: string;
  done: boolean;
  priority: number;
  tags: string[];
  created: number;
  note: string;
}

export function fields(id: number): Fields {
  return {
    id,
    title: `Todo item number ${id}`,
    done: id % 2 === 0,
    priority: id % 5,
    tags: ['work', 'home', `t${id % 10}`],
    created: 1_700_000_000_000 + id,
    note: 'Some longer text describing the todo item in a few words.',
  };
}

/** Deterministic pseudo-random keys in 1..n (a fixed LCG: every run reads the same keys). */
export function randomKeys(count: number, n: number, seed = 12345): number[] {
  const out = new Array<number>(count);
  let x = seed;
  for (let i = 0; i < count; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out[i] = 1 + (x % n);
  }
  return out;
}

/** Median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}

/**
 * The chunk size of the chunked import (one transaction per chunk, shelfdb and SQLite alike):
 * 10,000 from 100,000 objects up; below, a tenth of N, so that even a small run has ten chunks.
 */
export function importChunk(n: number): number {
  return n >= 100_000 ? 10_000 : Math.max(1, Math.ceil(n / 10));
}

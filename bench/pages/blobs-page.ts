/**
 * The blob benchmark's page: every case of blob-cases.ts, run by bench/blobs.mjs (and the bench
 * smoke test) through `window.blobBench.run(name, bytes, run, phase)`. `cases` lists them;
 * `reads` those that have a setup phase (run first, then the page is reloaded).
 */
import { blobCases, type AskWorker, type BlobCase, type BlobResult } from './blob-cases.js';

const worker = new Worker(new URL('./blob-worker.ts', import.meta.url), { type: 'module' });
let nextId = 1;
const waiting = new Map<number, { resolve: (v: never) => void; reject: (e: unknown) => void }>();
worker.onmessage = (event: MessageEvent<{ id: number; result?: never; error?: string }>) => {
  const w = waiting.get(event.data.id);
  waiting.delete(event.data.id);
  if (event.data.error !== undefined) w?.reject(new Error(event.data.error));
  else w?.resolve(event.data.result as never);
};
const ask: AskWorker = (op, blob, name) => {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    worker.postMessage({ id, op, blob, name }); // the Blob is cloned as a handle: no bytes copied
  });
};

const cases = blobCases(ask);
(window as unknown as { blobBench: unknown }).blobBench = {
  cases: Object.keys(cases),
  reads: Object.keys(cases).filter((name) => name.includes('.read')),
  /** Runs case `name` on a Blob of `bytes` bytes; `phase` 'setup' stores what a read reads. */
  run: (
    name: string,
    bytes: number,
    run: number,
    phase: 'setup' | 'timed' = 'timed',
  ): Promise<BlobResult> => {
    const c = cases[name] as BlobCase | undefined;
    if (c === undefined) throw new Error(`no blob benchmark case ${name}`);
    return c(bytes, run, phase);
  },
};
document.body.dataset.ready = 'yes';

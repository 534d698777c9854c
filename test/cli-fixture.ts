/** Builders for the CLI tests: real 'file' databases in a temp directory, and an in-process run. */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { openDatabase, Persistent } from '../src/index.js';
import { main } from '../cli/main.js';
import { CLASSES, Project, todo } from './fixtures.js';

/** What one run of the CLI wrote, and its exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI in process with `args`; `tty` makes stderr claim to be a terminal, `signal` is
 * what Ctrl-C fires in the executable.
 */
export async function cli(
  args: string[],
  options: { tty?: boolean; signal?: AbortSignal } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text), isTTY: options.tty === true },
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return { code, stdout, stderr };
}

/** The tids of `makeTodoDatabase`'s transactions, and its objects' oids. */
export interface TodoDatabase {
  path: string;
  /** The commit that stored the project and its todos 'a' and 'b'. */
  created: number;
  /** The commit that renamed todo 'a' to 'a2'. */
  renamed: number;
  /** The commit that dropped 'b' from the project (b is garbage after it). */
  dropped: number;
  projectOid: number;
  aOid: number;
  bOid: number;
}

/**
 * A closed 'file' database at `path`: a root holding a Project with two todos (one tagged, with a
 * date and a Map), then 'a' renamed, then 'b' dropped, each commit with a note.
 */
export async function makeTodoDatabase(path: string): Promise<TodoDatabase> {
  const db = await openDatabase('cli-test', { storage: 'file', path, classes: CLASSES });
  try {
    const conn = db.open();
    const root = await conn.root();
    const project = new Project();
    project.name = 'home';
    project.owner = { since: new Date(Date.UTC(2026, 0, 2)), scores: new Map([['x', 1n]]) };
    const a = todo('a', { tags: ['urgent'] });
    const b = todo('b', { done: true });
    project.todos = [a, b];
    root.set('project', project);
    const created = await conn.commit({ note: 'create the project' });
    a.title = 'a2';
    const renamed = await conn.commit({ note: 'rename a' });
    project.todos = [a];
    const dropped = await conn.commit({ note: 'drop b' });
    return {
      path,
      created,
      renamed,
      dropped,
      projectOid: project._p_oid as number,
      aOid: a._p_oid as number,
      bOid: b._p_oid as number,
    };
  } finally {
    await db.close();
  }
}

/**
 * A database at `path` whose process "died" (no close: no checkpoint, so opening reads the whole
 * log) after five commits, with one byte of its first transaction flipped: opening it without
 * `recover` fails. Returns the damaged offset.
 */
export async function makeCrashedDamagedDatabase(path: string): Promise<number> {
  const db = await openDatabase('cli-damaged', { storage: 'file', path });
  const conn = db.open();
  const root = await conn.root();
  for (let i = 0; i < 5; i++) {
    root.set(`k${i}`, i);
    await conn.commit({ note: `k${i}` });
  }
  // The lock names a process that is gone, as a crash leaves it.
  writeFileSync(
    join(path, 'shelfdb.lock'),
    JSON.stringify({ pid: await deadPid(), host: hostname() }),
  );
  return flipFirstTransactionByte(path);
}

/** Flips a byte inside the first transaction of seg-000001.log; returns that transaction's offset. */
export function flipFirstTransactionByte(path: string): number {
  const file = join(path, 'seg-000001.log');
  const log = readFileSync(file);
  const first = 32 + log.readUInt32LE(32); // after the oid reservation: the first transaction
  log[first + 50] = (log[first + 50] as number) ^ 0xff;
  writeFileSync(file, log);
  return first;
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

/** The notes of docs/guide/command-line.md's examples. */
export class Note extends Persistent {
  static _p_name = 'app.Note';
  text = '';
  tags: string[] = [];
}

/**
 * docs/guide/command-line.md's example database at `path`: two notes committed ('first notes'),
 * one edited ('edit'), one dropped from the root ('drop a note').
 */
export async function makeNotesDatabase(path: string): Promise<void> {
  const db = await openDatabase('notes', { storage: 'file', path, classes: [Note] });
  try {
    const conn = db.open();
    const root = await conn.root();
    const milk = Object.assign(new Note(), { text: 'buy milk', tags: ['home'] });
    const ann = Object.assign(new Note(), { text: 'call Ann' });
    root.set('notes', [milk, ann]);
    await conn.commit({ note: 'first notes' });
    milk.text = 'buy oat milk';
    await conn.commit({ note: 'edit' });
    root.set('notes', [milk]);
    await conn.commit({ note: 'drop a note' });
  } finally {
    await db.close();
  }
}

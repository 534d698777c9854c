/**
 * The installed-package tests' fixture: shelfdb packed as it would be published (`npm pack`, which
 * builds through `prepack`), installed with npm into a fresh app in a temporary folder outside the
 * repository, and the servers that app runs (Vite's dev server, `vite preview`, a plain static
 * server for a page without a bundler).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const APP_SOURCE = fileURLToPath(new URL('./app', import.meta.url));

/** What the app installs beside shelfdb, at the versions this repository pins. */
const APP_DEV_DEPENDENCIES = [
  'vite',
  'typescript',
  'react',
  'react-dom',
  '@types/react',
  '@types/react-dom',
];
/** Bundlers the app tries that this repository does not use itself, at fixed versions. */
const APP_BUNDLERS = ['webpack@5.113.0'];

export interface InstalledApp {
  /** The app's folder (outside the repository). */
  dir: string;
  /** Removes the app and the tarball. */
  remove(): void;
}

/** Runs a command to completion; throws with its output when it fails. */
export function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env } });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${cwd}) failed with status ${String(result.status)}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/** Packs this repository and installs the tarball into a fresh app. */
export function installPackage(): InstalledApp {
  const root = mkdtempSync(join(tmpdir(), 'shelfdb-installed-'));
  const packed = run('npm', ['pack', '--silent', '--pack-destination', root], REPO);
  const tarball = join(root, packed.trim().split('\n').at(-1) as string);
  const dir = join(root, 'app');
  cpSync(APP_SOURCE, dir, { recursive: true });
  const pinned = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'installed-app', private: true, type: 'module' }, null, 2),
  );
  run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      tarball,
      ...APP_DEV_DEPENDENCIES.map((name) => `${name}@${pinned.devDependencies[name]}`),
      ...APP_BUNDLERS,
    ],
    dir,
  );
  return { dir, remove: () => rmSync(root, { recursive: true, force: true }) };
}

export interface Served {
  url: string;
  stop(): Promise<void>;
}

/** Starts `node_modules/.bin/vite <args>` in the app on `port`; resolves once it answers. */
export async function vite(app: InstalledApp, args: string[], port: number): Promise<Served> {
  const child = spawn(
    process.execPath,
    [
      join(app.dir, 'node_modules/vite/bin/vite.js'),
      ...args,
      '--port',
      String(port),
      '--strictPort',
      '--host',
      '127.0.0.1',
    ],
    { cwd: app.dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}/`;
  try {
    await answering(url, child, () => output);
  } catch (error) {
    await stopped(child);
    throw error;
  }
  return { url, stop: () => stopped(child) };
}

/** Serves the app's folder as plain files (node_modules included), as a static host would. */
export async function staticFiles(app: InstalledApp, port: number): Promise<Served> {
  const types: Record<string, string> = {
    '.html': 'text/html',
    '.js': 'text/javascript',
    '.mjs': 'text/javascript',
    '.map': 'application/json',
    '.json': 'application/json',
  };
  const server: Server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    try {
      const body = readFileSync(join(app.dir, path));
      response.writeHead(200, {
        'content-type': types[extname(path)] ?? 'application/octet-stream',
      });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function answering(url: string, child: ChildProcess, output: () => string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (child.exitCode !== null) {
      throw new Error(`the server exited (${child.exitCode}) before answering:\n${output()}`);
    }
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer within 30 s:\n${output()}`);
}

function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill();
  });
}

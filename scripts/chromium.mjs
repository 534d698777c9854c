// The Chromium that browser tests and benchmarks drive: $CHROMIUM_PATH, else /usr/bin/chromium,
// else Playwright's own download. Never skips: without one, callers fail saying how to get it.
import { existsSync } from 'node:fs';
import { chromium } from '@playwright/test';

export function chromiumPath() {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (existsSync(fromEnv)) return fromEnv;
    throw new Error(`CHROMIUM_PATH is set to ${fromEnv}, which does not exist.`);
  }
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  let bundled;
  try {
    bundled = chromium.executablePath();
  } catch {
    bundled = undefined; // Playwright has no browser of its own here; reported below
  }
  if (bundled && existsSync(bundled)) return bundled;
  throw new Error(
    'No Chromium found. Install one (Debian/Ubuntu: `sudo apt-get install chromium`), or point CHROMIUM_PATH at a Chromium or Chrome binary.',
  );
}

/** Flags for headless Chromium in a sandboxed machine without network. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

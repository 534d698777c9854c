import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { MemoryBlockDirectory, type BlockDirectory } from '../worker/block-file.js';
import { NodeBlockDirectory } from '../worker/node-file.js';
import { blockFileChecks } from './block-file-contract.js';

function describeBlockFile(name: string, make: () => Promise<BlockDirectory>): void {
  describe(`BlockFile contract: ${name}`, () => {
    for (const [check, run] of blockFileChecks) it(check, async () => run(await make()));
  });
}

const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-blockfile-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;

describeBlockFile('memory', async () => new MemoryBlockDirectory());
describeBlockFile('Node file', () => NodeBlockDirectory.create(join(scratch, `d${n++}`)));

// Runs the BlockFile contract over OPFS sync access handles inside a real dedicated worker.
import { OpfsBlockDirectory } from '../../worker/opfs-file.js';
import { runBlockFileChecks } from '../../test/block-file-contract.js';

let n = 0;
const failures = await runBlockFileChecks(async () =>
  OpfsBlockDirectory.forDatabase(`blockfile-contract-${Date.now()}-${n++}`),
);
postMessage(failures);

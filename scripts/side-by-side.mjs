// Runs shell commands at once, each with its output held back and printed whole when it ends (so
// two logs never interleave), and exits with the first failing command's status. `npm test` runs
// typecheck and lint so: each is mostly one core's work, and CI has two.
//   node scripts/side-by-side.mjs 'command one' 'command two' ...
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';

const run = (command) =>
  new Promise((resolve) => {
    const child = spawn(command, { shell: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = [];
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    child.on('error', (error) =>
      resolve({ command, status: 1, output: [Buffer.from(String(error))] }),
    );
    child.on('close', (status) => resolve({ command, status: status ?? 1, output }));
  });

const results = await Promise.all(process.argv.slice(2).map((command) => run(command)));
let status = 0;
for (const result of results) {
  const text = Buffer.concat(result.output).toString();
  console.log(`$ ${result.command}${text ? `\n${text.trimEnd()}` : ''}`);
  if (result.status !== 0) {
    console.error(`✗ ${result.command} exited with ${result.status}`);
    if (status === 0) status = result.status;
  }
}
process.exit(status);

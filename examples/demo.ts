/**
 * `npm start`: the main demo, on the embedded defaults. It grows with the project;
 * today it runs a WASI guest through the public API, the way a plugin host would.
 */
import { readFile } from 'node:fs/promises';
import { Sandbox } from 'skiff';

const hello = await readFile(new URL('../../guests/wasm/hello.wasm', import.meta.url));

console.log('skiff demo: running guests/wasm/hello.wasm in a sandbox (no files, no network, only what is granted)\n');
const result = await Sandbox.run(hello, {
  name: 'hello',
  args: ['7', 'from', 'the', 'demo'],
  env: { GREETING: 'hello from skiff' },
});
process.stdout.write(result.stdout.replace(/^(?=.)/gm, '  guest | '));
console.log(`\nexit code ${result.exitCode} (${result.reason}): the guest exits with its first argument`);

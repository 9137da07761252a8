/**
 * Start-to-exit of the `hello` guest: skiff's `Sandbox.run` beside node:wasi and a bare
 * browser_wasi_shim run, all in this thread, with the module compiled once.
 */
import { openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { WASI as NodeWASI } from 'node:wasi';
import { ConsoleStdout, WASI as ShimWASI } from '@bjorn3/browser_wasi_shim';
import { Sandbox } from '../src/index.js';
import { compare } from './harness.js';

const module = await WebAssembly.compile(await readFile(new URL('../../guests/wasm/hello.wasm', import.meta.url)));
const sink = (): void => {};
const devNull = openSync('/dev/null', 'w');

await compare('hello guest, start to exit (module compiled once)', [
  { name: 'skiff Sandbox.run', fn: () => Sandbox.run(module, { args: ['0'] }) },
  {
    name: 'node:wasi',
    fn: async () => {
      const wasi = new NodeWASI({ version: 'preview1', args: ['hello', '0'], stdout: devNull, returnOnExit: true });
      const instance = await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports);
      wasi.start(instance);
    },
  },
  {
    name: 'browser_wasi_shim (bare)',
    fn: async () => {
      const out = new ConsoleStdout(sink);
      const wasi = new ShimWASI(['hello', '0'], [], [out, out, out], { debug: false });
      const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport });
      wasi.start(instance as unknown as Parameters<ShimWASI['start']>[0]);
    },
  },
]);

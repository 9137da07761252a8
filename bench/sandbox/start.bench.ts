/**
 * Start latency of a container: from `Sandbox.run` to the `hello` guest's exit (its
 * output collected), with a warm pool and the module compiled once — beside the same
 * guest run in this thread by node:wasi (`new WASI` + instantiate + start) and by a bare
 * browser_wasi_shim (no filesystem, output discarded). skiff's run includes the hand-off
 * to the container's thread and back, a fresh overlay root and skiff's WASI layer.
 *
 * The same three spaced 2 ms apart (outside the timed window), as a plugin host calls a
 * plugin now and then: each run then starts on a thread (and CPU) that was idle, and a
 * warm skiff thread has had time to prepare the next instance (spare.ts).
 *
 * Then throughput: hello containers run to exit per second, one at a time and 8 at once
 * (each op is a batch of 8; ops/s × 8 is containers/s).
 */
import { openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { WASI as NodeWASI } from 'node:wasi';
import { ConsoleStdout, WASI as ShimWASI } from '@bjorn3/browser_wasi_shim';
import { Runtime, Sandbox, nodePlatform } from '../../src/index.js';
import { compare, type Case } from '../harness.js';

const bytes = await readFile(new URL('../../../guests/wasm/hello.wasm', import.meta.url));
const module = await WebAssembly.compile(bytes);
const runtime = new Runtime({ platform: nodePlatform });
await runtime.warm();
const devNull = openSync('/dev/null', 'w');
const sink = (): void => {};

const run = async (): Promise<void> => {
  const r = await Sandbox.run(module, { args: ['0'], runtime });
  if (r.exitCode !== 0 || !r.stdout.startsWith('arg[0]=main.wasm')) throw new Error(`unexpected run: ${JSON.stringify(r)}`);
};

const single: Case[] = [
  { name: 'skiff Sandbox.run (own thread)', fn: run },
  {
    name: 'node:wasi (caller thread)',
    fn: async () => {
      const wasi = new NodeWASI({ version: 'preview1', args: ['hello', '0'], stdout: devNull, returnOnExit: true });
      const instance = await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports);
      wasi.start(instance);
    },
  },
  {
    name: 'browser_wasi_shim bare (caller thread)',
    fn: async () => {
      const out = new ConsoleStdout(sink);
      const wasi = new ShimWASI(['hello', '0'], [], [out, out, out], { debug: false });
      const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport });
      wasi.start(instance as unknown as Parameters<ShimWASI['start']>[0]);
    },
  },
];
await compare('hello guest, Sandbox.run to exit (warm pool, module compiled once)', single, { timeMs: 3000, warmupMs: 500 });

const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 2));
await compare(
  'the same, each call 2 ms after the last (a plugin host calling now and then)',
  single.map((c) => ({ ...c, beforeEach: pause })),
  { timeMs: 3000, warmupMs: 500 },
);

await compare(
  'hello containers per second (ops of 8: × 8 for containers/s)',
  [
    {
      name: 'skiff, 8 one after another',
      fn: async () => {
        for (let i = 0; i < 8; i++) await run();
      },
    },
    { name: 'skiff, 8 at once', fn: () => Promise.all(Array.from({ length: 8 }, run)) },
    {
      name: 'node:wasi, 8 one after another',
      baseline: true,
      fn: async () => {
        for (let i = 0; i < 8; i++) {
          const wasi = new NodeWASI({ version: 'preview1', args: ['hello', '0'], stdout: devNull, returnOnExit: true });
          wasi.start(await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports));
        }
      },
    },
  ],
  { timeMs: 3000, warmupMs: 500 },
);

console.log(`\npool after the runs: ${JSON.stringify(runtime.stats())}`);
await runtime.close();

/**
 * Start latency of a WASI 0.2 component container: create → start → exit → remove of the
 * `connect` guest given a bad argument (it reads its arguments, prints its usage line
 * through wasi:cli/stdout and returns err), with a warm pool and the component
 * transpiled and compiled once — beside the same component instantiated and run in this
 * thread with skiff's preview 2 host (jco's instantiation and the guest, no thread
 * hand-off: the floor), and a preview 1 module (`hello`) through the same runtime path.
 * The first run's transpile (jco's transpiler loading, then transpiling) is timed once.
 */
import { readFile } from 'node:fs/promises';
import { Runtime, nodePlatform } from '../../src/index.js';
import { transpileComponent } from '../../src/platform/node/transpile.js';
import { functionBody, instantiator, type ComponentCode } from '../../src/sandbox/component.js';
import { Preview2 } from '../../src/sandbox/wasi/preview2.js';
import { compare, type Case } from '../harness.js';

const connect = new Uint8Array(await readFile(new URL('../../../guests/wasm/connect.wasm', import.meta.url)));
const hello = new Uint8Array(await readFile(new URL('../../../guests/wasm/hello.wasm', import.meta.url)));
const runtime = new Runtime({ platform: nodePlatform });
await runtime.warm();

async function once(module: Uint8Array, cmd: string[], expectCode: number): Promise<void> {
  const c = await runtime.create({ module, cmd, keepFiles: false });
  await runtime.start(c.id);
  const s = await runtime.wait(c.id);
  await runtime.remove(c.id);
  if (s.exitCode !== expectCode) throw new Error(`unexpected exit ${s.exitCode}`);
}

const t0 = performance.now();
await once(connect, ['x'], 1);
console.log(`first component run, transpile included: ${(performance.now() - t0).toFixed(0)} ms`);

const t = await transpileComponent(connect);
const modules: Record<string, WebAssembly.Module> = {};
for (const [name, bytes] of Object.entries(t.modules)) modules[name] = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
const code: ComponentCode = { kind: 'component', body: functionBody(t.source), modules, imports: t.imports };
const instantiate = instantiator(code);
const sink = (): void => {};

const cases: Case[] = [
  { name: 'skiff component container (own thread)', fn: () => once(connect, ['x'], 1) },
  { name: 'skiff preview 1 module container, hello (own thread)', fn: () => once(hello, [], 0) },
  {
    name: 'jco instantiate + run, skiff preview 2 host (caller thread)',
    baseline: true,
    fn: () => {
      const host = new Preview2({ args: ['connect', 'x'], env: [], stdout: sink, stderr: sink, clock: { realtime: () => 0n, monotonic: () => 0n, sleep: () => {} }, checkpoint: () => {} });
      const exports = instantiate((name) => modules[name] as WebAssembly.Module, host.imports);
      try {
        (exports['wasi:cli/run@0.2.0'] as { run: () => void }).run();
      } catch {
        /* err: the usage line */
      }
    },
  },
];
await compare('a WASI 0.2 component, create → exit (warm pool, transpiled once)', cases, { timeMs: 3000, warmupMs: 500 });
await runtime.close();

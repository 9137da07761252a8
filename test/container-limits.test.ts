/**
 * Every limit of a container, hit by a real guest while another container runs
 * normally beside it (issue #4, "Isolation and limits"): kill of a spinning guest, the
 * caller's event loop during a spin, timeout, memory (membomb sees memory.grow refused;
 * `membomb --abort` and a hand-made module trap at the limit: OOMKilled), open files
 * (fdbomb: EMFILE), and the log ring under a stdout flood (the flood guest).
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodePlatform } from '../src/platform/node/index.js';
import { Runtime, type ContainerSpec } from '../src/sandbox/runtime.js';
import { Sandbox } from '../src/sandbox/sandbox.js';
import { floodModule, oomTrapModule } from './helpers/wasm.js';

const guest = (name: string): Promise<Uint8Array> => readFile(new URL(`../guests/wasm/${name}.wasm`, import.meta.url));
const runtime = new Runtime({ platform: nodePlatform });
let hello: Uint8Array;
let spin: Uint8Array;
beforeAll(async () => {
  hello = await guest('hello');
  spin = await guest('spin');
  await runtime.warm();
});
afterAll(() => runtime.close());

async function run(spec: ContainerSpec): Promise<string> {
  const c = await runtime.create(spec);
  await runtime.start(c.id);
  return c.id;
}

/** A hello container run to completion now; its output must be intact. */
async function helloBeside(): Promise<void> {
  const id = await run({ module: hello, entrypoint: ['hello'], cmd: ['0', 'beside'], env: { SIDE: '1' } });
  expect(await runtime.wait(id)).toEqual({ exitCode: 0, reason: 'Completed' });
  expect(runtime.logs(id).text('stdout')).toBe('arg[0]=hello\narg[1]=0\narg[2]=beside\nenv SIDE=1\ncwd=/\n');
  expect(runtime.logs(id).text('stderr')).toBe('');
}

/** Resolves when the container has written `text` to stdout. */
async function printed(id: string, text: string): Promise<void> {
  let out = '';
  for await (const e of runtime.logs(id).follow()) {
    out += new TextDecoder().decode(e.bytes);
    if (out.includes(text)) return;
  }
  throw new Error(`container ended without printing ${JSON.stringify(text)}: ${JSON.stringify(out)}`);
}

describe('container limits, each hit while another container runs', () => {
  it('kill ends a spinning guest within 100 ms; a hello container runs to completion during the spin', async () => {
    const id = await run({ module: spin });
    await printed(id, 'spinning\n');
    await helloBeside();
    expect(runtime.inspect(id).state.status).toBe('running');
    const t0 = performance.now();
    expect(await runtime.kill(id)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(100);
    expect(runtime.inspect(id).state).toMatchObject({ status: 'exited', exitCode: 137, reason: 'Killed' });
    // The terminated thread was replaced: the pool still serves.
    await helloBeside();
  });

  it('a spinning guest does not delay the caller\'s event loop', async () => {
    const id = await run({ module: spin });
    await printed(id, 'spinning');
    // What a guest could take from this loop is its time: the share of it the loop spent
    // busy (eventLoopUtilization: not waiting for events) over 80 waits of 5 ms, which a
    // guest computing on this loop, or a loop waiting on the guest, would keep near 1.
    // Under load it was 0.02 to 0.24. Not how late each wait ends (the bound was 30 ms):
    // that also counts the time a loaded machine gives this thread no core, and any pause
    // of this thread that is not the guest's; in a full run under two busy loops one wait
    // ended 129 ms late, the loop busy 105 ms of the 20 waits.
    const elu = performance.eventLoopUtilization();
    for (let i = 0; i < 80; i++) await new Promise((r) => setTimeout(r, 5));
    expect(performance.eventLoopUtilization(elu).utilization).toBeLessThan(0.5);
    await runtime.kill(id);
  });

  it('timeout ends a run with 137, DeadlineExceeded', async () => {
    const id = await run({ module: spin, timeout: 150 });
    await helloBeside();
    expect(await runtime.wait(id)).toEqual({ exitCode: 137, reason: 'DeadlineExceeded' });
    const { startedAt, finishedAt } = runtime.inspect(id).state;
    const ran = Date.parse(finishedAt as string) - Date.parse(startedAt as string);
    expect(ran).toBeGreaterThanOrEqual(148);
    // The deadline, then at most the stop grace and a terminate (kill's 100 ms bound,
    // tested on its own), plus slack for a late timer on a loaded 2-core machine.
    expect(ran).toBeLessThan(150 + 100 + 150);
  });

  it('memory: membomb under 64m sees memory.grow refused at the limit, and exits normally', async () => {
    const id = await run({ module: await guest('membomb'), entrypoint: ['membomb'], memory: 64 * 1024 * 1024 });
    await helloBeside();
    expect(await runtime.wait(id)).toEqual({ exitCode: 0, reason: 'Completed' });
    const out = runtime.logs(id).text('stdout');
    expect(out).toMatch(/grown to 32 MiB\n/);
    expect(out).toMatch(/refused at 6[34] MiB\n$/);
    expect(runtime.inspect(id).state.memoryBytes).toBeLessThanOrEqual(64 * 1024 * 1024);
    // Without a limit it grows past 64 MiB (so the limit is what refused it).
    const free = await run({ module: await guest('membomb'), entrypoint: ['membomb'], cmd: ['16'], memory: 128 * 1024 * 1024 });
    await runtime.wait(free);
    expect(runtime.logs(free).text('stdout')).toMatch(/grown to 100 MiB\n/);
  });

  it('memory: membomb --abort, whose allocation fails at the limit and aborts, is OOMKilled', async () => {
    const id = await run({ module: await guest('membomb'), entrypoint: ['membomb'], cmd: ['--abort'], memory: 16 * 1024 * 1024 });
    await helloBeside();
    const exit = await runtime.wait(id);
    expect(exit).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    expect(runtime.logs(id).text('stdout')).toMatch(/refused at 1[56] MiB\n$/);
    expect(runtime.logs(id).text('stderr')).toMatch(/memory allocation of \d+ bytes failed\n[\s\S]*trap at the memory limit/);
    expect(runtime.inspect(id).state.oomKilled).toBe(true);
  });

  it('memory: a guest that traps at its limit is OOMKilled', async () => {
    const id = await run({ module: oomTrapModule(), memory: 8 * 1024 * 1024 });
    await helloBeside();
    const exit = await runtime.wait(id);
    expect(exit).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    expect(exit.message).toMatch(/memory limit/);
    expect(runtime.inspect(id).state).toMatchObject({ oomKilled: true, memoryBytes: 8 * 1024 * 1024 });
    expect(runtime.logs(id).text('stderr')).toMatch(/trap at the memory limit/);
  });

  it('open files: fdbomb hits EMFILE at the configured limit', async () => {
    const id = await run({ module: await guest('fdbomb'), entrypoint: ['fdbomb'], cmd: ['/'], maxOpenFiles: 64 });
    await helloBeside();
    expect(await runtime.wait(id)).toEqual({ exitCode: 0, reason: 'Completed' });
    // 64 descriptors: stdin, stdout, stderr and the root preopen, then 60 files.
    expect(runtime.logs(id).text('stdout')).toBe('opened 60\nrefused: EMFILE\n');
  });

  it('log limit: a stdout flood keeps only the newest bytes; the other container\'s output is intact', async () => {
    const limit = 64 * 1024;
    const total = 8 * 1024 * 1024;
    const id = await run({ module: await guest('flood'), entrypoint: ['flood'], cmd: [String(total), '4096'], logLimit: limit });
    await helloBeside();
    expect(await runtime.wait(id)).toEqual({ exitCode: 0, reason: 'Completed' });
    const logs = runtime.logs(id);
    const done = `flood done ${total}\n`;
    expect(logs.size).toBe(limit);
    expect(logs.size + logs.dropped).toBe(total + done.length);
    expect(runtime.inspect(id).logs).toEqual({ bytes: logs.size, dropped: logs.dropped });
    // The newest bytes: the flood's last lines (each 4096-byte chunk is lines 0–63), then its stderr line.
    expect(logs.text('stderr')).toBe(done);
    expect(logs.text('stdout')).toMatch(/flood 0000000062 \.+\nflood 0000000063 \.+\n$/);

    // Sandbox.run: the result is capped, the callback sees everything.
    let streamed = 0;
    const r = await Sandbox.run(floodModule(256, 4096), { runtime, logLimit: 10_000, stdout: (c) => (streamed += c.length) });
    expect(streamed).toBe(1024 * 1024);
    expect(r.stdout.length).toBeLessThanOrEqual(10_000);
  });
});

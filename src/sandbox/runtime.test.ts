/**
 * The container lifecycle: states, exit codes and reasons, logs, restart with the files
 * a container had, diff and commit, names and ids, and the thread pool.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { counterModule, floodModule, printModule, touchModule, sleepModule, yieldLoopModule } from '../../test/helpers/wasm.js';
import { ModuleError } from './module.js';
import { createImage } from '../layers/build.js';
import { MemoryFiles } from '../layers/files.js';
import { ImageStore } from '../layers/image-store.js';
import { Overlay } from '../layers/overlay.js';
import { nodePlatform } from '../platform/node/index.js';
import type { Platform } from '../platform/platform.js';
import { memoryVolumes } from '../platform/node/volumes.js';
import { receive, type StartMessage } from './protocol.js';
import { Runtime } from './runtime.js';

const guest = (name: string): Promise<Uint8Array> => readFile(new URL(`../../guests/wasm/${name}.wasm`, import.meta.url));
const store = await ImageStore.open(new MemoryFiles());
const runtime = new Runtime({ platform: nodePlatform, store });
afterAll(() => runtime.close());

describe('Runtime: lifecycle', () => {
  it('created → running → exited, with the exit code from proc_exit', async () => {
    const c = await runtime.create({ module: await guest('hello'), entrypoint: ['hello'], cmd: ['7', 'a b'], env: { A: '1' } });
    expect(c.id).toMatch(/^[0-9a-f]{64}$/);
    expect(c.name).toMatch(/^[a-z]+_[a-z]+$/);
    expect(c.state).toMatchObject({ status: 'created', restartCount: 0 });
    const exited = runtime.wait(c.id);
    await runtime.start(c.id);
    expect(await exited).toEqual({ exitCode: 7, reason: 'Error' });
    const info = runtime.inspect(c.name);
    expect(info.state).toMatchObject({ status: 'exited', exitCode: 7, reason: 'Error', oomKilled: false, restartCount: 0 });
    expect(Date.parse(info.state.finishedAt as string)).toBeGreaterThanOrEqual(Date.parse(info.state.startedAt as string));
    expect(runtime.logs(c.id).text('stdout')).toBe('arg[0]=hello\narg[1]=7\narg[2]=a b\nenv A=1\ncwd=/\n');
    const entry = runtime.logs(c.id).list()[0];
    expect(entry?.stream).toBe('stdout');
    expect(Math.abs((entry?.time ?? 0) - Date.now())).toBeLessThan(10_000);
    // A short id prefix works as Docker's does.
    expect(runtime.inspect(c.id.slice(0, 12)).id).toBe(c.id);
    await runtime.remove(c.id);
    expect(() => runtime.inspect(c.id)).toThrow(/no such container/);
  });

  it('names are unique; a running container is not removed without force', async () => {
    const a = await runtime.create({ module: yieldLoopModule(), name: 'busy-one' });
    await expect(runtime.create({ module: yieldLoopModule(), name: 'busy-one' })).rejects.toThrow(/already in use/);
    await runtime.start(a.id);
    expect(runtime.inspect('busy-one').state.status).toBe('running');
    expect(runtime.list().map((x) => x.name)).toContain('busy-one');
    await expect(runtime.remove('busy-one')).rejects.toThrow(/is running/);
    await runtime.remove('busy-one', { force: true });
    expect(runtime.list({ all: true }).map((x) => x.name)).not.toContain('busy-one');
  });

  it('kill of a guest at WASI calls is cooperative: its thread goes back to the pool', async () => {
    // A grace far beyond the kill bound: a guest that did not stop itself would be
    // terminated only after 10 s, so a kill within 100 ms that ends no thread was the
    // guest's own stop. (Under the default 20 ms grace, a loaded machine that keeps the
    // woken thread off the CPU for 20 ms turns a cooperative stop into a termination.)
    const patient = new Runtime({ platform: nodePlatform, stopGraceMs: 10_000 });
    try {
      await patient.warm();
      const before = patient.stats();
      const c = await patient.create({ module: yieldLoopModule() });
      await patient.start(c.id);
      // The pool replaces the thread the run took: let that thread boot first (booting
      // takes CPU: the kill then took up to 53 ms under load, 2 to 17 ms without).
      await patient.warm();
      await new Promise((r) => setTimeout(r, 20));
      const t0 = performance.now();
      expect(await patient.kill(c.id)).toBe(true);
      expect(performance.now() - t0).toBeLessThan(100);
      expect(patient.inspect(c.id).state).toMatchObject({ status: 'exited', exitCode: 137, reason: 'Killed' });
      // Not terminated: the same threads.
      expect(patient.stats().ended).toBe(before.ended);
      expect(await patient.kill(c.id)).toBe(false);
    } finally {
      await patient.close();
    }
  });

  it('restart keeps the files the container made; diff lists them; commit makes an image of them', async () => {
    const base = await createImage(store, {
      ref: 'touch:1',
      layers: [{ 'bin/touch.wasm': touchModule('marker'), 'etc/motd': 'hi' }],
      config: { Entrypoint: ['/bin/touch.wasm'], WorkingDir: '/srv' },
    });
    const c = await runtime.create({ image: 'touch:1' });
    await runtime.start(c.id);
    expect(await runtime.wait(c.id)).toEqual({ exitCode: 0, reason: 'Completed' });
    expect(runtime.diff(c.id)).toEqual([
      { kind: 'A', path: '/marker' },
      { kind: 'A', path: '/srv' },
    ]);
    // Start again: the file is still there, so O_EXCL fails with EEXIST (20).
    await runtime.start(c.id);
    expect(await runtime.wait(c.id)).toEqual({ exitCode: 20, reason: 'Error' });
    expect(runtime.inspect(c.id).state.restartCount).toBe(1);
    expect(runtime.diff(c.id).map((x) => x.path)).toEqual(['/marker', '/srv']);

    const committed = await runtime.commit(c.id, { ref: 'touch:2' });
    expect(committed.manifest.layers.length).toBe(base.manifest.layers.length + 1);
    const root = new Overlay(await store.layers(committed));
    expect(root.readdir(root.root)).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'marker' }), expect.objectContaining({ name: 'srv' })]));
    const fresh = await runtime.create({ image: committed });
    await runtime.start(fresh.id);
    expect((await runtime.wait(fresh.id)).exitCode).toBe(20);
  });

  it('logs stream while the container runs, and end when it exits', async () => {
    const c = await runtime.create({ module: floodModule(4096, 16), logLimit: 1 << 20 });
    const seen: number[] = [];
    const following = (async () => {
      for await (const e of runtime.logs(c.id).follow()) seen.push(e.bytes.length);
    })();
    await runtime.start(c.id);
    await runtime.wait(c.id);
    await following;
    expect(seen.reduce((a, b) => a + b, 0)).toBe(4096 * 16);
    // Batched: drained from the output ring in chunks (one entry per drain, not per write;
    // the exact merging is output.test.ts's). 4,096 tiny writes, each a few hundred
    // nanoseconds, against a reader that needs a wake-up per drain: even a loaded machine
    // merges far more than two per chunk. (64 writes of 1 KiB were too few: a cold writer
    // on a busy CI machine was once as slow as the reader, 55 chunks.)
    expect(seen.length).toBeLessThan(2048);
  });

  it('a refused module or a missing command throws at create', async () => {
    await createImage(store, { ref: 'nocmd:1', layers: [{ 'x.wasm': await guest('hello') }] });
    await expect(runtime.create({ image: 'nocmd:1' })).rejects.toThrow(/no Entrypoint or Cmd/);
    await expect(runtime.create({ image: 'nocmd:1', entrypoint: ['/missing.wasm'] })).rejects.toThrow(/"\/missing.wasm" is not a file in the image/);
    await expect(runtime.create({ image: 'nowhere:1' })).rejects.toThrow(/not in the store/);
    // A bare name is found on PATH, or in the working dir.
    const c = await runtime.create({ image: 'nocmd:1', entrypoint: ['x.wasm'], cmd: ['4'] });
    await runtime.start(c.id);
    expect((await runtime.wait(c.id)).exitCode).toBe(4);
  });
});

describe('Runtime: files across runtimes (upper)', () => {
  it('upper(id) is the changeset of the last run; ContainerSpec.upper restores it in another runtime', async () => {
    await createImage(store, { ref: 'touch:upper', layers: [{ 'bin/touch.wasm': touchModule('marker') }], config: { Entrypoint: ['/bin/touch.wasm'] } });
    const c = await runtime.create({ image: 'touch:upper' });
    expect(runtime.upper(c.id)).toBeUndefined();
    await runtime.start(c.id);
    expect(await runtime.wait(c.id)).toEqual({ exitCode: 0, reason: 'Completed' });
    const upper = runtime.upper(c.id);
    expect(upper).toBeInstanceOf(Uint8Array);

    const other = new Runtime({ platform: nodePlatform, store, poolSize: 1 });
    try {
      const restored = await other.create({ image: 'touch:upper', upper });
      expect(other.diff(restored.id)).toEqual([{ kind: 'A', path: '/marker' }]);
      await other.start(restored.id);
      // The file is there: O_EXCL fails with EEXIST (20).
      expect(await other.wait(restored.id)).toEqual({ exitCode: 20, reason: 'Error' });
      // Not a changeset of this image: refused at create.
      await expect(other.create({ image: 'touch:upper', upper: new TextEncoder().encode('not a tar') })).rejects.toThrow(/do not apply onto its image touch:upper/);
    } finally {
      await other.close();
    }
  });
});

describe('Runtime: preopens (wasmtime --dir)', () => {
  it("a bare module gets exactly its preopens: wasicalls prints wasmtime's transcript except the four deliberate lines", async () => {
    const volumes = new Runtime({ platform: nodePlatform, volumes: memoryVolumes(), poolSize: 1 });
    try {
      const wasicalls = await guest('wasicalls');
      const c = await volumes.create({
        module: wasicalls,
        entrypoint: ['wasicalls'],
        cmd: ['/sandbox', '7', 'héllo', '', 'a b'],
        env: ['A=1', 'ÜNI=€uro ☃'],
        preopens: [
          { name: '/sandbox', mount: { type: 'tmpfs', target: '/' } },
          { name: '/spare', mount: 'spare-volume:/ignored' },
        ],
      });
      expect(volumes.inspect(c.id).mounts).toEqual(['tmpfs::/sandbox', 'spare-volume::/spare']);
      await volumes.start(c.id);
      expect(await volumes.wait(c.id)).toEqual({ exitCode: 7, reason: 'Error' });
      const lines = volumes.logs(c.id).text('stdout').split('\n');
      const wasmtime = (await readFile(new URL('../../guests/expected/wasicalls.wasmtime.txt', import.meta.url), 'utf8')).split('\n');
      expect(lines.length).toBe(wasmtime.length);
      expect(lines.filter((line, i) => line !== wasmtime[i]).sort()).toEqual([
        'fd_read f into 5+100 bytes: SUCCESS 11 (both iovecs)',
        'path_filestat_get dlnk/ (trailing slash): DIRECTORY',
        'path_filestat_get f/ (trailing slash): NOTDIR',
        'path_remove_directory e/ (trailing slash): SUCCESS',
      ]);
      // No root, so no exec into it; and preopens are for bare modules only.
      await expect(volumes.create({ image: 'touch:1', preopens: [] })).rejects.toThrow(/preopens are for a bare module/);
      await expect(volumes.create({ module: wasicalls, preopens: [], mounts: ['/x'] })).rejects.toThrow(/not both/);
    } finally {
      await volumes.close();
    }
  });
});

describe('Runtime: modules', () => {
  it('a module that imports its memory gets one of its declared size, within the limit', async () => {
    const c = await runtime.create({ module: printModule('imported memory\n', { importMemory: true, maxPages: 8 }), memory: 1024 * 1024 });
    await runtime.start(c.id);
    expect(await runtime.wait(c.id)).toEqual({ exitCode: 0, reason: 'Completed' });
    expect(runtime.logs(c.id).text('stdout')).toBe('imported memory\n');
    expect(runtime.inspect(c.id).state.memoryBytes).toBe(65536);
    // Declared larger than the limit: refused before it runs.
    await expect(runtime.create({ module: printModule('x', { importMemory: true, maxPages: 32 }), memory: 1024 * 1024 })).rejects.toThrow(ModuleError);
  });

  it('a module that is not a WASI command ends with 126 and says why', async () => {
    // printModule's start function, but exported as `main`: no `_start`.
    const bytes = printModule('x');
    const patched = new Uint8Array(bytes);
    const at = Buffer.from(patched).indexOf('_start');
    patched.set(new TextEncoder().encode('_xtart'), at);
    const c = await runtime.create({ module: patched });
    await runtime.start(c.id);
    const exit = await runtime.wait(c.id);
    expect(exit).toMatchObject({ exitCode: 126, reason: 'Error' });
    expect(exit.message).toMatch(/must export "_start"/);
  });
});

describe('Runtime: what crosses to a warm thread', () => {
  // With a mailbox (threads that may block) a start without handles is a letter, never
  // posted; without one, every start is posted. Either way the module and layers cross once.
  it.each([
    { mailbox: true, posted: 1 },
    { mailbox: false, posted: 3 },
  ])('a module and an image\'s layers are sent to a thread once; later runs name them by key (mailbox: $mailbox)', async ({ mailbox, posted }) => {
    const starts: StartMessage[] = [];
    const recording: Platform = {
      ...nodePlatform,
      threads: {
        ...nodePlatform.threads,
        blockingWait: mailbox,
        spawn(module, events) {
          const thread = nodePlatform.threads.spawn(module, events);
          return {
            ...thread,
            post(message, transfer) {
              const { message: m } = receive(structuredClone(message));
              if (m.type === 'start') starts.push(m);
              thread.post(message, transfer);
            },
            terminate: () => thread.terminate(),
            ref: () => thread.ref(),
            unref: () => thread.unref(),
          };
        },
      },
    };
    const single = new Runtime({ platform: recording, store, poolSize: 1 });
    try {
      await createImage(store, { ref: 'layered:1', layers: [{ 'hello.wasm': await guest('hello') }, { 'etc/motd': 'hi' }], config: { Entrypoint: ['/hello.wasm'] } });
      await single.warm();
      for (let i = 0; i < 3; i++) {
        const c = await single.create({ image: 'layered:1', keepFiles: false });
        await single.start(c.id);
        expect((await single.wait(c.id)).exitCode).toBe(0);
      }
      expect(starts.length).toBe(posted);
      expect(starts[0]?.module.handle).toBeDefined();
      expect(starts[0]?.layers.every((l) => l.meta !== undefined && l.bytes !== undefined)).toBe(true);
      for (const later of starts.slice(1)) {
        expect(later.module.handle).toBeUndefined();
        expect(later.layers.map((l) => Object.keys(l))).toEqual([['key'], ['key']]);
        expect(later.layers.map((l) => l.key)).toEqual(starts[0]?.layers.map((l) => l.key));
      }
      expect(starts[0]?.layers[0]?.key).toMatch(/^sha256:/);
    } finally {
      await single.close();
    }
  });
});

describe('Runtime: spare instances', () => {
  // A warm thread instantiates the module it ran again while idle (spare.ts); each run
  // must still get an instance nothing ran in: the counter prints "1", never "2".
  it('back-to-back runs of one module on one thread each start from a fresh instance', async () => {
    const single = new Runtime({ platform: nodePlatform, poolSize: 1 });
    try {
      await single.warm();
      const bytes = counterModule();
      for (let i = 0; i < 6; i++) {
        const c = await single.create({ module: bytes, keepFiles: false });
        await single.start(c.id);
        expect((await single.wait(c.id)).exitCode).toBe(0);
        expect(single.logs(c.id).text('stdout')).toBe('1');
        // Let the idle thread make its spare before the next run.
        if (i % 2 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      await single.close();
    }
  });
});

describe('Runtime: thread pool', () => {
  it('threads return to the pool: many starts and exits leak nothing', async () => {
    await runtime.warm();
    const hello = await guest('hello');
    const start = runtime.stats();
    for (let round = 0; round < 10; round++) {
      const ids = await Promise.all(Array.from({ length: 8 }, () => runtime.create({ module: hello, keepFiles: false }).then((c) => c.id)));
      await Promise.all(ids.map((id) => runtime.start(id)));
      const exits = await Promise.all(ids.map((id) => runtime.wait(id)));
      expect(exits.every((e) => e.exitCode === 0)).toBe(true);
      await Promise.all(ids.map((id) => runtime.remove(id)));
    }
    for (let i = 0; i < 50; i++) {
      const c = await runtime.create({ module: hello, keepFiles: false });
      await runtime.start(c.id);
      await runtime.wait(c.id);
      await runtime.remove(c.id);
    }
    const end = runtime.stats();
    expect(end.busy).toBe(0);
    expect(end.running).toBe(0);
    // At most one thread per container that ran at once (8), plus the pool's size.
    expect(end.idle).toBeLessThanOrEqual(10);
    // Live threads = spawned − ended: only the idle (and booting) ones.
    expect(end.spawned - end.ended).toBe(end.idle + end.booting);
    // 130 runs, mostly reusing threads.
    expect(end.spawned - start.spawned).toBeLessThan(20);
  });
});

describe('Runtime: usage (CPU busy estimate)', () => {
  it('counts a spinning guest as busy, and a guest blocked in poll as idle even while the block lasts', async () => {
    const spinner = await runtime.create({ module: await guest('spin') });
    const server = await runtime.create({ module: sleepModule(30) });
    await runtime.start(spinner.id);
    await runtime.start(server.id);
    await new Promise((r) => setTimeout(r, 200));
    // Short windows, as a kubelet sampling under a fast FakeClock sees them: in every one
    // the sleeper is idle (its wait is in slices of up to 50 ms, and the slice in progress
    // counts at once). The counts are whole milliseconds, so a window across the end of a
    // slice can show up to 2 ms busy that is rounding (2 of 6 ms was seen under load): with
    // windows of 10 ms, not 5, rounding plus a moment's delay of the sleeper's thread stays
    // far from half of one.
    let worst = 0;
    for (let i = 0, before = runtime.usage(server.id); i < 20; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const after = runtime.usage(server.id);
      if (!before || !after) throw new Error('not running');
      const ran = after.runningMs - before.runningMs;
      if (ran > 0) worst = Math.max(worst, (after.busyMs - before.busyMs) / ran);
      before = after;
    }
    expect(worst).toBeLessThan(0.5);
    const spin = runtime.usage(spinner.id);
    const idle = runtime.usage(server.id);
    expect(spin && idle).toBeTruthy();
    // The spinner computes the whole time; the sleeper has waited in one poll_oneoff since it
    // started (a block still in progress: counted as it goes, not only when it ends).
    expect((spin?.busyMs ?? 0) / (spin?.runningMs ?? 1)).toBeGreaterThan(0.8);
    expect((idle?.busyMs ?? 1) / (idle?.runningMs ?? 1)).toBeLessThan(0.3);
    await runtime.kill(spinner.id);
    await runtime.kill(server.id);
    expect(runtime.usage(server.id)).toBeUndefined(); // not running
  });
});

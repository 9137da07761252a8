/**
 * `Runtime.exec` (issue #4, item 3: "exec runs another program in the same root FS and
 * volumes"): a program run in its own thread over a running container's live files, which
 * the container's thread serves — while its guest is blocked in poll (the http guest),
 * asleep (files wait), or computing without WASI calls (then exec's calls fail with EIO
 * after the exec call timeout instead of hanging).
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImage } from '../src/layers/build.js';
import { SkiffError } from '../src/layers/errors.js';
import { MemoryFiles } from '../src/layers/files.js';
import { ImageStore } from '../src/layers/image-store.js';
import { nodePlatform } from '../src/platform/node/index.js';
import { memoryVolumes } from '../src/platform/node/volumes.js';
import { Runtime } from '../src/sandbox/runtime.js';

const root = new URL('..', import.meta.url);
const wasm = (name: string): Promise<Buffer> => readFile(new URL(`guests/wasm/${name}.wasm`, root));
const store = await ImageStore.open(new MemoryFiles());
// The containers here stop at WASI calls (a kill wakes them), and one test reads the
// upper after a kill, which only a run that stops itself keeps (a terminated thread takes
// its changes with it). Under the default 20 ms grace, a loaded machine that kept the woken
// thread off the CPU for longer got it terminated instead (the upper then came back empty,
// 3 runs in 15 under load); a long grace lets it stop itself however late it runs.
const runtime = new Runtime({ platform: nodePlatform, store, volumes: memoryVolumes(), stopGraceMs: 10_000 });
let conflict: (p: Promise<unknown>) => Promise<void>;

beforeAll(async () => {
  // The web example's shape (the http guest serving /www, counting hits in /data), plus tools in /usr/bin.
  const tools = { 'usr/bin/notes': await wasm('notes'), 'usr/bin/hello': await wasm('hello'), 'usr/bin/fsops': await wasm('fsops'), 'usr/bin/files': await wasm('files'), 'usr/bin/manyfiles': await wasm('manyfiles') };
  await createImage(store, {
    ref: 'web:exec',
    layers: [{ 'www/index.html': '<h1>hi</h1>', 'etc/motd': 'from the image\n' }, { 'server.wasm': await wasm('http'), 'data/': { dir: true }, ...tools }],
    config: { Entrypoint: ['/server.wasm'], Env: ['DOCROOT=/www', 'HITS_FILE=/data/hits', 'FROM_IMAGE=yes'], ExposedPorts: { '80/tcp': {} }, WorkingDir: '/www' },
  });
  await createImage(store, { ref: 'tools:exec', layers: [tools], config: { Entrypoint: ['files'] } });
  conflict = async (p) => {
    const e = await p.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SkiffError);
    expect((e as SkiffError).code).toBe('CONFLICT');
  };
  await runtime.warm();
});
afterAll(() => runtime.close());

describe('exec into a running container', () => {
  it("writes a file the container's server then serves; reads a file the container wrote", async () => {
    await runtime.create({ image: 'web:exec', name: 'exec-web' });
    await runtime.start('exec-web');
    for (let i = 0; i < 3; i++) await (await runtime.fetch('exec-web', '/')).text();

    // The guest is blocked in poll: its thread wakes to serve each call of the exec'd program.
    const wrote = await runtime.exec('exec-web', { cmd: ['files', 'write', '/www/new.txt', 'made by exec', 'cat', '/data/hits', 'cat', '/etc/motd'] });
    expect(wrote).toEqual({
      exitCode: 0,
      reason: 'Completed',
      stdout: 'write /www/new.txt: ok\ncat /data/hits: "3\\x0a"\ncat /etc/motd: "from the image\\x0a"\n',
      stderr: '',
    });
    const served = await runtime.fetch('exec-web', '/new.txt');
    expect(served.status).toBe(200);
    expect(await served.text()).toBe('made by exec');

    // fsops: every file operation, through the container's thread; it cleans up after itself.
    const fsops = await runtime.exec('exec-web', { cmd: ['/usr/bin/fsops', '/data'] });
    expect(fsops.stdout.trimEnd().split('\n').at(-1)).toBe('done');
    expect(fsops).toMatchObject({ exitCode: 0, reason: 'Completed', stderr: '' });

    await runtime.kill('exec-web');
    // What exec wrote is part of the container's changes.
    expect(runtime.diff('exec-web')).toEqual(expect.arrayContaining([{ kind: 'A', path: '/www/new.txt' }, { kind: 'A', path: '/data/hits' }]));
  });

  it("gets the container's env, working dir and memory limit; its exit codes are a run's", async () => {
    await runtime.create({ image: 'web:exec', name: 'exec-codes', env: { FROM_SPEC: '1' } });
    await runtime.start('exec-codes');
    const hello = await runtime.exec('exec-codes', { cmd: ['hello', '7', 'x y'], env: { EXTRA: 'e' } });
    expect(hello).toMatchObject({ exitCode: 7, reason: 'Error', stderr: '' });
    expect(hello.stdout).toBe(
      'arg[0]=hello\narg[1]=7\narg[2]=x y\nenv DOCROOT=/www\nenv HITS_FILE=/data/hits\nenv FROM_IMAGE=yes\nenv FROM_SPEC=1\nenv PWD=/www\nenv EXTRA=e\ncwd=/\n',
    );
    const there = await runtime.exec('exec-codes', { cmd: ['hello'], workingDir: '/data' });
    expect(there.stdout).toMatch(/env PWD=\/data\n/);
    expect(there.exitCode).toBe(0);
    // Output streams as it is written.
    const seen: string[] = [];
    await runtime.exec('exec-codes', { cmd: ['files', 'cat', '/nope'], onLog: (e) => seen.push(new TextDecoder().decode(e.bytes)) });
    expect(seen.join('')).toBe('cat /nope: ENOENT\n');
    // Not in the container: 127; not a module: 126 (both with a message on stderr).
    const missing = await runtime.exec('exec-codes', { cmd: ['nosuch'] });
    expect(missing).toMatchObject({ exitCode: 127, reason: 'Error' });
    expect(missing.stderr).toMatch(/exec nosuch: "nosuch" is not a file in the container/);
    const notWasm = await runtime.exec('exec-codes', { cmd: ['/etc/motd'] });
    expect(notWasm).toMatchObject({ exitCode: 126, reason: 'Error' });
    expect(notWasm.stderr).toMatch(/\/etc\/motd: not a valid WebAssembly module/);
    const component = await runtime.exec('exec-codes', { cmd: ['notes', 'x'] });
    expect(component).toMatchObject({ exitCode: 126, reason: 'Error' });
    expect(component.stderr).toMatch(/\/usr\/bin\/notes is a WebAssembly component \(WASI 0\.2\): exec runs preview 1 modules only/);
    // Execs run side by side (up to the slots; more wait for one).
    const many = await Promise.all(Array.from({ length: 6 }, (_, i) => runtime.exec('exec-codes', { cmd: ['hello', String(i)] })));
    expect(many.map((r) => r.exitCode)).toEqual([0, 1, 2, 3, 4, 5]);
    // Exec output is not the container's log.
    expect(runtime.logs('exec-codes').text('stdout')).toBe('listening on fd 3\n');
    await runtime.kill('exec-codes');
  });

  it('reaches the container\'s volumes and tmpfs; the container sees its writes at once', async () => {
    // The container waits for a file the exec writes in its tmpfs (asleep in nanosleep between looks).
    await runtime.create({ image: 'tools:exec', name: 'exec-mounts', cmd: ['wait', '/scratch/go', '5000', 'cat', '/scratch/msg', 'cat', '/vol/note'], mounts: ['shared:/vol', { type: 'tmpfs', target: '/scratch' }] });
    const exited = runtime.wait('exec-mounts');
    await runtime.start('exec-mounts');
    const r = await runtime.exec('exec-mounts', { cmd: ['files', 'write', '/vol/note', 'in the volume', 'write', '/scratch/msg', 'now', 'mkdir', '/scratch/go'] });
    expect(r.stdout).toBe('write /vol/note: ok\nwrite /scratch/msg: ok\nmkdir /scratch/go: ok\n');
    expect(await exited).toEqual({ exitCode: 0, reason: 'Completed' });
    expect(runtime.logs('exec-mounts').text('stdout')).toBe('wait /scratch/go: ok\ncat /scratch/msg: "now"\ncat /vol/note: "in the volume"\n');
    // The volume outlives both.
    const later = await runtime.create({ image: 'tools:exec', cmd: ['cat', '/v/note'], mounts: ['shared:/v:ro'] });
    await runtime.start(later.id);
    await runtime.wait(later.id);
    expect(runtime.logs(later.id).text('stdout')).toBe('cat /v/note: "in the volume"\n');
  });

  it('a container that is not running refuses exec (CONFLICT); its execs end with it', async () => {
    await runtime.create({ image: 'web:exec', name: 'exec-stopped' });
    await conflict(runtime.exec('exec-stopped', { cmd: ['hello'] }));
    await runtime.start('exec-stopped');
    // An exec still running when the container is killed is killed with it.
    const sleeping = runtime.exec('exec-stopped', { cmd: ['files', 'sleep', '5000'] });
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    await runtime.kill('exec-stopped');
    expect(await sleeping).toMatchObject({ exitCode: 137, reason: 'Killed' });
    expect(performance.now() - t0).toBeLessThan(200);
    await conflict(runtime.exec('exec-stopped', { cmd: ['hello'] }));
    await conflict(runtime.exec('exec-stopped', { cmd: [] }));
  });

  it('a guest that never makes a WASI call starves exec: its calls fail with EIO after the timeout', async () => {
    const impatient = new Runtime({ platform: nodePlatform, store, execCallTimeoutMs: 300 });
    try {
      await impatient.create({ image: 'tools:exec', name: 'spinner', cmd: ['spin'] });
      await impatient.start('spinner');
      for await (const e of impatient.logs('spinner').follow()) if (new TextDecoder().decode(e.bytes).includes('spinning')) break;
      const t0 = performance.now();
      const r = await impatient.exec('spinner', { cmd: ['hello'] });
      const took = performance.now() - t0;
      // Even its command cannot be read from the container's files.
      expect(r).toMatchObject({ exitCode: 126, reason: 'Error' });
      expect(r.stderr).toMatch(/EIO/);
      expect(took).toBeGreaterThanOrEqual(290);
      expect(took).toBeLessThan(2000);
      expect(await impatient.kill('spinner')).toBe(true);
    } finally {
      await impatient.close();
    }
  });

  it('measures exec call latency (a file call answered by the container\'s thread) against the same calls in the container', async () => {
    await runtime.create({ image: 'web:exec', name: 'exec-bench' });
    await runtime.start('exec-bench');
    const files = 500;
    // The first exec compiles the module and warms the code paths; the second is measured.
    expect((await runtime.exec('exec-bench', { cmd: ['manyfiles', '/data', String(files), '64'] })).exitCode).toBe(0);
    const t0 = performance.now();
    const viaExec = await runtime.exec('exec-bench', { cmd: ['manyfiles', '/data', String(files), '64'] });
    const execMs = performance.now() - t0;
    expect(viaExec.exitCode).toBe(0);
    await runtime.kill('exec-bench');
    const direct = await runtime.create({ image: 'tools:exec', entrypoint: ['manyfiles'], cmd: ['/data', String(files), '64'] });
    const t1 = performance.now();
    await runtime.start(direct.id);
    expect((await runtime.wait(direct.id)).exitCode).toBe(0);
    const directMs = performance.now() - t1;
    expect(runtime.logs(direct.id).text('stdout')).toBe(viaExec.stdout);
    // About 10 WASI calls per file (guests/README.md, manyfiles), nearly all of them file calls.
    const calls = files * 10;
    console.log(`exec: ${files} files in ${execMs.toFixed(0)} ms (${((execMs * 1000) / calls).toFixed(1)} µs per call) vs in the container ${directMs.toFixed(0)} ms (${((directMs * 1000) / calls).toFixed(1)} µs per call)`);
  });
});

// RemoteFs ↔ VolumeServer across real worker threads (testing/volume-thread.ts):
// - the MountFs conformance suite, with the server in a worker and RemoteFs here;
// - containers the other way round (RemoteFs in workers, the volume here): two sharing
//   one volume, a write acknowledged just before the thread is killed, read-only mounts,
//   host descriptors released when the container goes away, round-trip latency.
import * as nodeFs from 'node:fs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Volume, createFsFromVolume } from 'memfs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENOENT, Errno } from '../layers/errno.js';
import { nodeThreads } from '../platform/node/threads.js';
import { PathFs } from './path-fs.js';
import { RemoteFs, VolumeServer, type VolumeConnection } from './remote-fs.js';
import { makeFile, mountFsSuite, ok, readAll, readonlyMountFsSuite } from './testing/mountfs-suite.js';
import { TestThread } from './testing/thread-harness.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

let serverThread: TestThread;
beforeAll(async () => {
  serverThread = await TestThread.start(nodeThreads);
});
afterAll(async () => {
  await serverThread.terminate();
});

async function served(maxHandles?: number): Promise<{ fss: RemoteFs[]; server: number }> {
  const r = await serverThread.request<{ connection: VolumeConnection; server: number }>({ cmd: 'serve', ...(maxHandles !== undefined ? { maxHandles } : {}) });
  return { fss: RemoteFs.connect(r.connection), server: r.server };
}

mountFsSuite('RemoteFs (PathFs over memfs in a worker)', async () => {
  const { fss } = await served();
  return { fs: fss[0] as RemoteFs, cleanup: () => (fss[0] as RemoteFs).disconnect() };
});

readonlyMountFsSuite('RemoteFs (a read-only mount of a shared volume)', async () => {
  const { fss } = await served();
  return { rw: fss[0] as RemoteFs, ro: fss[1] as RemoteFs, cleanup: () => (fss[0] as RemoteFs).disconnect() };
});

describe('RemoteFs and VolumeServer', () => {
  it('ends the connection and releases host descriptors when the client disconnects', async () => {
    const { fss, server } = await served();
    const fs = fss[0] as RemoteFs;
    const a = makeFile(fs, fs.root(), 'a', 'x');
    expect(readAll(fs, ok(fs.lookup(fs.root(), 'a')))).toBe('x');
    expect(await serverThread.request({ cmd: 'server-stats', server })).toMatchObject({ descriptors: 2 });
    fs.release(a as never);
    expect(await serverThread.request({ cmd: 'server-stats', server })).toMatchObject({ descriptors: 1 });
    fs.disconnect();
    expect(await serverThread.request({ cmd: 'close-server', server })).toMatchObject({ handles: 0, descriptors: 0 });
    expect(fs.stat(fs.root())).toBeInstanceOf(Errno);
  });

  it('keeps its handle table bounded and finds evicted nodes again', async () => {
    const { fss, server } = await served(8);
    const fs = fss[0] as RemoteFs;
    const root = fs.root();
    const d = ok(fs.mkdir(root, 'd', 0o755));
    makeFile(fs, d, 'inside', 'kept');
    const replaced = makeFile(fs, root, 'replaced', 'old');
    fs.release(replaced as never);
    const replacedNode = ok(fs.lookup(root, 'replaced'));
    for (let i = 0; i < 50; i++) ok(fs.mkdir(root, `n${i}`, 0o755));
    const stats = await serverThread.request<{ handles: number }>({ cmd: 'server-stats', server });
    expect(stats.handles).toBeLessThanOrEqual(8 + 4);
    // `d` was evicted: the client looks it up again by name.
    expect(ok(fs.readdir(d)).map((e) => e.name)).toEqual(['inside']);
    // `replaced` now names something else: its old node is gone, not silently redirected.
    // (A new *file* there could reuse the inode number, on memfs as on disk: identity is
    // device + inode, as for any path-based handle.)
    expect(fs.unlink(root, 'replaced')).toBeUndefined();
    ok(fs.mkdir(root, 'replaced', 0o755));
    for (let i = 0; i < 20; i++) ok(fs.lookup(root, `n${i}`));
    expect(fs.stat(replacedNode)).toBe(ENOENT);
    fs.disconnect();
  });
});

describe('volumes shared by container threads', () => {
  const workers: TestThread[] = [];
  const start = async (): Promise<TestThread> => {
    const t = await TestThread.start(nodeThreads);
    workers.push(t);
    return t;
  };
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.terminate()));
  });

  const memVolume = (): { fs: ReturnType<typeof createFsFromVolume>; pfs: PathFs } => {
    const fs = createFsFromVolume(new Volume());
    fs.mkdirSync('/v');
    return { fs, pfs: new PathFs(fs, '/v', { verify: 'on-change' }) };
  };

  it('two containers on one volume see each other’s writes at once', async () => {
    const { fs, pfs } = memVolume();
    const [a, b] = await Promise.all([start(), start()]);
    const sa = new VolumeServer([{ path: '/data', fs: pfs }]);
    const sb = new VolumeServer([{ path: '/data', fs: pfs }]);
    await a.request({ cmd: 'connect', connection: sa.connection }, sa.transfer);
    await b.request({ cmd: 'connect', connection: sb.connection }, sb.transfer);
    expect(await a.request({ cmd: 'write', mount: 0, path: 'shared/note.txt', data: enc('from a') })).toMatchObject({ n: 6 });
    const rb = await b.request<{ data: Uint8Array }>({ cmd: 'read', mount: 0, path: 'shared/note.txt' });
    expect(dec(rb.data)).toBe('from a');
    expect(await b.request({ cmd: 'write', mount: 0, path: 'shared/note.txt', data: enc('B'), pos: 5 })).toMatchObject({ n: 1 });
    const ra = await a.request<{ data: Uint8Array }>({ cmd: 'read', mount: 0, path: 'shared/note.txt' });
    expect(dec(ra.data)).toBe('from B');
    expect(String(fs.readFileSync('/v/shared/note.txt'))).toBe('from B');
    await a.request({ cmd: 'disconnect' });
    await b.request({ cmd: 'disconnect' });
    await Promise.all([sa.done, sb.done]);
    expect(pfs.openDescriptors).toBe(0);
  });

  for (const kind of ['memfs', 'disk'] as const) {
    it(`a write acknowledged just before the thread is killed is kept (${kind})`, async () => {
      let pfs: PathFs;
      let content: () => string;
      let cleanup = (): void => {};
      if (kind === 'memfs') {
        const v = memVolume();
        pfs = v.pfs;
        content = () => String(v.fs.readFileSync('/v/log'));
      } else {
        const dir = mkdtempSync(join(tmpdir(), 'skiff-vol-'));
        pfs = new PathFs(nodeFs, dir, { verify: 'on-change' });
        content = () => readFileSync(join(dir, 'log'), 'utf8');
        cleanup = () => rmSync(dir, { recursive: true, force: true });
      }
      try {
        const t = await TestThread.start(nodeThreads);
        const server = new VolumeServer([{ path: '/data', fs: pfs }]);
        await t.request({ cmd: 'connect', connection: server.connection }, server.transfer);
        const acked = await t.post({ cmd: 'write', mount: 0, path: 'log', data: enc('acknowledged'), thenSpin: true });
        expect(acked).toMatchObject({ n: 12 });
        // The guest is still running (spinning); kill it now, as `docker kill` would.
        await t.terminate();
        expect(content()).toBe('acknowledged');
        // The runtime closes the connection when the thread exits: descriptors are released.
        expect(pfs.openDescriptors).toBe(1);
        await server.close();
        expect(server.handleCount).toBe(0);
        expect(pfs.openDescriptors).toBe(0);
      } finally {
        cleanup();
      }
    });
  }

  it('a read-only mount refuses writes with EROFS; the same volume stays writable elsewhere', async () => {
    const { pfs } = memVolume();
    const t = await start();
    const server = new VolumeServer([
      { path: '/ro', fs: pfs, readonly: true },
      { path: '/rw', fs: pfs },
    ]);
    await t.request({ cmd: 'connect', connection: server.connection }, server.transfer);
    expect(await t.request({ cmd: 'write', mount: 0, path: 'x', data: enc('no') })).toMatchObject({ errno: 'EROFS' });
    expect(await t.request({ cmd: 'write', mount: 1, path: 'x', data: enc('yes') })).toMatchObject({ n: 3 });
    expect(await t.request({ cmd: 'write', mount: 0, path: 'x', data: enc('no') })).toMatchObject({ n: 'EROFS' });
    const r = await t.request<{ data: Uint8Array }>({ cmd: 'read', mount: 0, path: 'x' });
    expect(dec(r.data)).toBe('yes');
    await server.close();
  });

  it('measures one RemoteFs round trip (stat, p50 µs)', async () => {
    const { pfs } = memVolume();
    const t = await start();
    const server = new VolumeServer([{ path: '/data', fs: pfs }]);
    await t.request({ cmd: 'connect', connection: server.connection }, server.transfer);
    const r = await t.request<{ p50: number; p99: number; failure?: string }>({ cmd: 'stat-loop', mount: 0, n: 5000 });
    expect(r.failure).toBeUndefined();
    console.log(`RemoteFs stat round trip (memfs volume): p50 ${r.p50.toFixed(1)} µs, p99 ${r.p99.toFixed(1)} µs`);
    await server.close();
  });
});

/**
 * Volumes with real containers (issue #4, "Volumes" and "Sandbox, deny by default"):
 * named volumes in memory (memfs) and on disk, shared by two running containers, a
 * write acknowledged just before the container's thread is terminated, Docker's
 * populate rule, a volume outliving its containers (and refused removal while in use),
 * read-only binds (EROFS), tmpfs, the `fsops` transcript inside each kind of mount, and
 * the `escape` guest against a host bind mount and from the container's root.
 *
 * Guests: `files` (a tiny file script, guests/README.md), `fsops`, `escape`.
 */
import * as nodeFs from 'node:fs';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createImage } from '../src/layers/build.js';
import { MemoryFiles } from '../src/layers/files.js';
import { ImageStore } from '../src/layers/image-store.js';
import { nodePlatform } from '../src/platform/node/index.js';
import { diskVolumes, memoryVolumes, nodeHostFs } from '../src/platform/node/volumes.js';
import type { MountEntry } from '../src/sandbox/mounts.js';
import { Runtime, type ContainerSpec } from '../src/sandbox/runtime.js';
import { VolumeManager, type HostFs } from '../src/sandbox/volumes.js';

const guest = (name: string): Promise<Uint8Array> => readFile(new URL(`../guests/wasm/${name}.wasm`, import.meta.url));
const golden = readFileSync(new URL('../guests/expected/fsops.txt', import.meta.url), 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'skiff-volumes-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let files: Uint8Array;
let fsops: Uint8Array;
let escape: Uint8Array;
const store = await ImageStore.open(new MemoryFiles());
const runtimes: Runtime[] = [];
beforeAll(async () => {
  files = await guest('files');
  fsops = await guest('fsops');
  escape = await guest('escape');
});
afterAll(() => Promise.all(runtimes.map((r) => r.close())));

function runtimeWith(volumes: VolumeManager): Runtime {
  const r = new Runtime({ platform: nodePlatform, store, volumes });
  runtimes.push(r);
  return r;
}

/** Creates and starts a container of the `files` guest (or of `spec`'s module or image); its id. */
async function start(runtime: Runtime, mounts: readonly MountEntry[], args: readonly string[], spec: Partial<ContainerSpec> = {}): Promise<string> {
  const what: ContainerSpec = spec.image !== undefined ? {} : { module: files, entrypoint: ['files'] };
  const c = await runtime.create({ ...what, cmd: args, mounts, ...spec });
  await runtime.start(c.id);
  return c.id;
}

/** Runs a container to its exit: exit code and stdout. */
async function run(runtime: Runtime, mounts: readonly MountEntry[], args: readonly string[], spec: Partial<ContainerSpec> = {}): Promise<{ code: number; out: string; id: string }> {
  const id = await start(runtime, mounts, args, spec);
  const status = await runtime.wait(id);
  expect(runtime.logs(id).text('stderr')).toBe('');
  return { code: status.exitCode, out: runtime.logs(id).text('stdout'), id };
}

/** Resolves when the container has printed `text`. */
async function printed(runtime: Runtime, id: string, text: string): Promise<void> {
  let out = '';
  for await (const e of runtime.logs(id).follow()) {
    out += new TextDecoder().decode(e.bytes);
    if (out.includes(text)) return;
  }
  throw new Error(`container ended without printing ${JSON.stringify(text)}: ${JSON.stringify(out)}`);
}

const kinds = [
  { kind: 'memory (memfs)', make: () => memoryVolumes() },
  { kind: 'disk', make: () => diskVolumes(mkdtempSync(join(scratch, 'home-'))) },
] as const;

for (const { kind, make } of kinds) {
  describe(`named volumes, ${kind}`, () => {
    const volumes = make();
    const runtime = runtimeWith(volumes);

    it('two running containers share a volume and each sees the other write', async () => {
      // a cannot finish before b has written, nor b before a: they run at the same time.
      // A file exists before its bytes are written, so each side waits for a marker
      // written after the data (waiting on the data file itself races its write).
      const a = await start(runtime, ['shared:/data'], ['write', '/data/a', 'from a', 'mkdir', '/data/a.done', 'wait', '/data/b.done', '10000', 'cat', '/data/b']);
      const b = await start(runtime, ['shared:/srv'], ['wait', '/srv/a.done', '10000', 'cat', '/srv/a', 'write', '/srv/b', 'from b', 'mkdir', '/srv/b.done']);
      const [sa, sb] = await Promise.all([runtime.wait(a), runtime.wait(b)]);
      expect(runtime.logs(a).text('stdout')).toBe('write /data/a: ok\nmkdir /data/a.done: ok\nwait /data/b.done: ok\ncat /data/b: "from b"\n');
      expect(runtime.logs(b).text('stdout')).toBe('wait /srv/a.done: ok\ncat /srv/a: "from a"\nwrite /srv/b: ok\nmkdir /srv/b.done: ok\n');
      expect([sa.exitCode, sb.exitCode]).toEqual([0, 0]);
      // Every host descriptor of both runs was released with them.
      await vi.waitFor(() => expect(volumes.get('shared')?.fs.openDescriptors).toBe(0));
    });

    it('a write acknowledged to the guest survives the container being terminated mid-run', async () => {
      // The guest writes, then spins without a WASI call: kill must terminate its thread.
      const id = await start(runtime, ['durable:/data'], ['write', '/data/ack.txt', 'acknowledged', 'spin']);
      await printed(runtime, id, 'write /data/ack.txt: ok\nspinning\n');
      const before = runtime.stats().ended;
      expect(await runtime.kill(id)).toBe(true);
      expect(runtime.inspect(id).state).toMatchObject({ exitCode: 137, reason: 'Killed' });
      expect(runtime.stats().ended).toBe(before + 1); // the thread was terminated, not asked
      await vi.waitFor(() => expect(volumes.get('durable')?.fs.openDescriptors).toBe(0));
      const next = await run(runtime, ['durable:/data'], ['cat', '/data/ack.txt']);
      expect(next.out).toBe('cat /data/ack.txt: "acknowledged"\n');
    });

    it('outlives its containers, is seen by the next one, and cannot be removed while in use', async () => {
      const first = await run(runtime, ['keep:/data'], ['write', '/data/note', 'kept', 'mkdir', '/data/sub']);
      expect(first.code).toBe(0);
      expect(volumes.usersOf('keep')).toEqual([first.id]);
      expect(volumes.remove('keep')).toMatchObject({ code: 'in-use' });
      await runtime.remove(first.id);
      expect(volumes.usersOf('keep')).toEqual([]);
      expect(volumes.list().map((v) => v.name)).toContain('keep');
      const second = await run(runtime, ['keep:/elsewhere'], ['cat', '/elsewhere/note', 'ls', '/elsewhere']);
      expect(second.out).toBe('cat /elsewhere/note: "kept"\nls /elsewhere: note sub\n');
      await runtime.remove(second.id);
      expect(volumes.remove('keep')).toBeUndefined();
      const third = await run(runtime, ['keep:/data'], ['ls', '/data']);
      expect(third.out).toBe('ls /data:\n');
    });

    it("Docker's populate rule: an empty volume over image content is filled from it, once", async () => {
      await createImage(store, {
        ref: `app-${kind.split(' ')[0]}:1`,
        layers: [{ 'bin/files.wasm': files, 'etc/app/config': 'from the image', 'etc/app/d/x': 'x' }],
        config: { Entrypoint: ['/bin/files.wasm'] },
      });
      const image = `app-${kind.split(' ')[0]}:1`;
      const first = await run(runtime, ['conf:/etc/app'], ['cat', '/etc/app/config', 'ls', '/etc/app', 'write', '/etc/app/config', 'changed'], { image });
      expect(first.out).toBe('cat /etc/app/config: "from the image"\nls /etc/app: config d\nwrite /etc/app/config: ok\n');
      // Not again: the volume keeps what containers wrote, and an emptied volume stays empty.
      const second = await run(runtime, ['conf:/etc/app'], ['cat', '/etc/app/config', 'rm', '/etc/app/config', 'rm', '/etc/app/d/x'], { image });
      expect(second.out).toBe('cat /etc/app/config: "changed"\nrm /etc/app/config: ok\nrm /etc/app/d/x: ok\n');
      const emptied = await run(runtime, ['conf:/etc/app'], ['ls', '/etc/app', 'ls', '/etc/app/d'], { image });
      expect(emptied.out).toBe('ls /etc/app: d\nls /etc/app/d:\n');
      // `nocopy`, a volume that already has content, and a mount point the image lacks: no copy.
      const nocopy = await run(runtime, ['bare:/etc/app:nocopy'], ['ls', '/etc/app'], { image });
      expect(nocopy.out).toBe('ls /etc/app:\n');
      await run(runtime, ['full:/x'], ['write', '/x/mine', '1'], { image });
      const full = await run(runtime, ['full:/etc/app'], ['ls', '/etc/app'], { image });
      expect(full.out).toBe('ls /etc/app: mine\n');
      const elsewhere = await run(runtime, ['fresh:/opt/none'], ['ls', '/opt/none'], { image });
      expect(elsewhere.out).toBe('ls /opt/none:\n');
    });

    it('fsops prints the golden transcript inside the volume, as in the overlay and in a tmpfs', async () => {
      for (const [dir, mounts] of [
        ['/data', ['fsops:/data']],
        ['/', []],
        ['/scratch', [{ type: 'tmpfs', target: '/scratch' }]],
      ] as const) {
        const r = await run(runtime, mounts, [dir], { module: fsops, entrypoint: ['fsops'] });
        expect({ dir, out: r.out }).toEqual({ dir, out: golden });
        expect(r.code).toBe(0);
      }
    });

    it('a read-only volume is EROFS for every change, and still readable', async () => {
      await run(runtime, ['ro:/data'], ['write', '/data/f', 'content', 'mkdir', '/data/d']);
      const r = await run(runtime, ['ro:/data:ro'], ['cat', '/data/f', 'write', '/data/f', 'x', 'write', '/data/new', 'x', 'mkdir', '/data/e', 'rm', '/data/f', 'ls', '/data']);
      expect(r.out).toBe('cat /data/f: "content"\nwrite /data/f: EROFS\nwrite /data/new: EROFS\nmkdir /data/e: EROFS\nrm /data/f: EROFS\nls /data: d f\n');
    });
  });
}

describe('mount points, tmpfs and anonymous volumes', () => {
  const volumes = memoryVolumes();
  const runtime = runtimeWith(volumes);

  it('mount points are made in the root (diff lists them, as docker diff does); nothing written in a mount is in the upper', async () => {
    const r = await run(runtime, ['mp:/srv/data', { type: 'tmpfs', target: '/srv/data/tmp' }, { type: 'tmpfs', target: '/scratch' }], [
      'write', '/srv/data/v', 'in the volume',
      'write', '/srv/data/tmp/t', 'in the tmpfs',
      'write', '/root-file', 'in the root',
      'ls', '/', 'ls', '/srv/data',
    ]);
    expect(r.out).toContain('ls /: root-file scratch srv\nls /srv/data: tmp v\n');
    // /srv/data/tmp, the nested mount point, was made inside the volume, not in the root.
    expect(runtime.diff(r.id)).toEqual([
      { kind: 'A', path: '/root-file' },
      { kind: 'A', path: '/scratch' },
      { kind: 'A', path: '/srv' },
      { kind: 'A', path: '/srv/data' },
    ]);
    expect(runtime.inspect(r.id).mounts).toEqual(['mp:/srv/data', 'tmpfs:/srv/data/tmp', 'tmpfs:/scratch']);
    // A tmpfs is empty at every start; the volume keeps its files.
    await runtime.start(r.id);
    await runtime.wait(r.id);
    expect(runtime.logs(r.id).text('stdout')).toContain('ls /srv/data: tmp v\n');
    const again = await run(runtime, ['mp:/srv/data', { type: 'tmpfs', target: '/srv/data/tmp' }], ['ls', '/srv/data/tmp']);
    expect(again.out).toBe('ls /srv/data/tmp:\n');
  });

  it('a mount point where the image has a file ends the run with 126 and says why', async () => {
    await createImage(store, { ref: 'file-in-the-way:1', layers: [{ 'bin/files.wasm': files, data: 'a file' }], config: { Entrypoint: ['/bin/files.wasm'] } });
    const c = await runtime.create({ image: 'file-in-the-way:1', mounts: ['in-the-way:/data'] });
    await runtime.start(c.id);
    expect(await runtime.wait(c.id)).toMatchObject({ exitCode: 126, reason: 'Error', message: 'mount point /data: ENOTDIR' });
    expect(runtime.logs(c.id).text('stderr')).toBe('skiff: mount point /data: ENOTDIR\n');
  });

  it('an anonymous volume is removed with its container only when asked (docker rm -v)', async () => {
    const a = await run(runtime, ['/anon'], ['write', '/anon/f', '1']);
    const [name] = volumes.list().filter((v) => v.anonymous).map((v) => v.name);
    expect(name).toMatch(/^[0-9a-f]{64}$/);
    await runtime.remove(a.id);
    expect(volumes.get(name as string)).toBeDefined();
    const b = await run(runtime, [`${name as string}:/again`, '/anon2'], ['cat', '/again/f']);
    expect(b.out).toBe('cat /again/f: "1"\n');
    await runtime.remove(b.id, { volumes: true });
    // The anonymous volume of b went with it; the one b named explicitly too (it is anonymous and unused).
    expect(volumes.list().filter((v) => v.anonymous)).toEqual([]);
  });
});

describe('host bind mounts', () => {
  const MARKER = 'TOP-SECRET';

  it('are refused unless granted', async () => {
    const runtime = runtimeWith(memoryVolumes());
    await expect(runtime.create({ module: files, mounts: [`${scratch}:/mnt`] })).rejects.toThrow(/host bind mounts are not granted/);
    const bare = new Runtime({ platform: nodePlatform });
    runtimes.push(bare);
    await expect(bare.create({ module: files, mounts: [`${scratch}:/mnt`] })).rejects.toThrow(/this runtime has no volumes/);
    await expect(bare.create({ module: files, mounts: ['named:/mnt'] })).rejects.toThrow(/this runtime has no volumes/);
  });

  it('read-only: EROFS for the guest, the host directory untouched', async () => {
    const host = mkdtempSync(join(scratch, 'ro-'));
    writeFileSync(join(host, 'f'), 'host content');
    const runtime = runtimeWith(memoryVolumes({ allowBind: true }));
    const r = await run(runtime, [`${host}:/mnt:ro`], ['cat', '/mnt/f', 'write', '/mnt/f', 'x', 'write', '/mnt/g', 'x', 'mkdir', '/mnt/d', 'rm', '/mnt/f']);
    expect(r.out).toBe('cat /mnt/f: "host content"\nwrite /mnt/f: EROFS\nwrite /mnt/g: EROFS\nmkdir /mnt/d: EROFS\nrm /mnt/f: EROFS\n');
    expect(readdirSync(host)).toEqual(['f']);
    expect(readFileSync(join(host, 'f'), 'utf8')).toBe('host content');
    // Writable, the same directory takes the guest's writes.
    const rw = await run(runtime, [`${host}:/mnt`], ['write', '/mnt/g', 'from the guest']);
    expect(rw.code).toBe(0);
    expect(readFileSync(join(host, 'g'), 'utf8')).toBe('from the guest');
  });

  /** root/secret.txt and root/outside/inner.txt next to root/bind (the guest's /mnt), with host symlinks out of it. */
  function layout(): { root: string; bind: string; secret: string; inner: string } {
    const root = mkdtempSync(join(scratch, 'escape-'));
    const bind = join(root, 'bind');
    mkdirSync(bind);
    mkdirSync(join(root, 'outside'));
    const secret = join(root, 'secret.txt');
    const inner = join(root, 'outside', 'inner.txt');
    writeFileSync(secret, `${MARKER} do not read\n`);
    writeFileSync(inner, `${MARKER} inner\n`);
    symlinkSync(secret, join(bind, 'hostabs'));
    symlinkSync('../secret.txt', join(bind, 'hostrel'));
    // node:wasi follows this one as a middle component (test/guests.test.ts shows it).
    symlinkSync('../outside', join(bind, 'hostdir'));
    return { root, bind, secret, inner };
  }

  /** node:fs, recording every path it is given and the inode of every file it opens. */
  function spyFs(): { fs: HostFs; paths: string[]; opened: bigint[] } {
    const paths: string[] = [];
    const opened: bigint[] = [];
    const fs = new Proxy(nodeHostFs, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          // Every path handed to the host (a symlink's target is only stored, never resolved).
          for (const a of key === 'symlinkSync' ? args.slice(1) : args) if (typeof a === 'string') paths.push(a);
          const r = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (key === 'openSync') opened.push(nodeFs.fstatSync(r as number, { bigint: true }).ino);
          return r;
        };
      },
    });
    return { fs, paths, opened };
  }

  const attempts = (stdout: string): Map<string, string> => {
    const m = new Map<string, string>();
    for (const line of stdout.split('\n')) {
      const a = /^attempt (.+?): (.*)$/.exec(line);
      if (a !== null) m.set(a[1] as string, a[2] as string);
    }
    return m;
  };

  it('escape: every way out of the bind is blocked, host symlinks included, and the secret is never opened', async () => {
    const { root, bind, secret, inner } = layout();
    const spy = spyFs();
    const volumes = new VolumeManager({ fs: nodeHostFs, home: mkdtempSync(join(scratch, 'home-')), hostFs: spy.fs });
    const runtime = runtimeWith(volumes);
    const id = await start(runtime, [`${bind}:/mnt`], ['/mnt', 'secret.txt', 'hostabs,hostrel,hostdir/inner.txt', MARKER], { module: escape, entrypoint: ['escape'] });
    const status = await runtime.wait(id);
    const out = runtime.logs(id).text('stdout');
    expect(out.startsWith('control: ok\n')).toBe(true);
    expect(out).not.toContain(MARKER);
    const seen = attempts(out);
    expect(seen.size).toBeGreaterThan(30);
    for (const [name, result] of seen) {
      if (name.startsWith('raw-dot-dir')) continue; // the mount itself: the control listing
      // `..` of the mount is the container's own root (Docker's namespace, not a host
      // directory): listing it shows the mount point and nothing else.
      if (name === 'raw-dotdot-dir') expect(result).toBe('OPENED [. .. mnt]');
      else expect(`${name}: ${result}`).toMatch(/: BLOCKED \(E[A-Z]+\)$/);
    }
    expect(seen.get('host-symlink hostdir/inner.txt')).toBe('BLOCKED (ENOENT)'); // node:wasi's hole
    expect(out.endsWith('breaches: 0\n')).toBe(true);
    expect(status).toEqual({ exitCode: 0, reason: 'Completed' });
    // The host side: nothing was moved or left, and nothing outside the bind was ever touched.
    expect(readdirSync(bind).sort()).toEqual(['hostabs', 'hostdir', 'hostrel']);
    expect(readdirSync(root).sort()).toEqual(['bind', 'outside', 'secret.txt']);
    expect(readFileSync(secret, 'utf8')).toBe(`${MARKER} do not read\n`);
    expect(spy.paths.length).toBeGreaterThan(50);
    const outside = spy.paths.filter((p) => p !== bind && !p.startsWith(`${bind}/`));
    expect(outside).toEqual([]);
    const secretInodes = [statSync(secret, { bigint: true }).ino, statSync(inner, { bigint: true }).ino];
    expect(spy.opened.filter((ino) => secretInodes.includes(ino))).toEqual([]);
    expect(spy.opened.length).toBeGreaterThan(0); // the control file was opened through the spy
  });

  it("escape from the container's root: `..` at / stays at /, symlinks and links resolve inside", async () => {
    const { root, bind } = layout();
    const runtime = runtimeWith(memoryVolumes({ allowBind: true }));
    await createImage(store, { ref: 'escape:1', layers: [{ 'bin/escape.wasm': escape, 'etc/motd': 'hi' }], config: { Entrypoint: ['/bin/escape.wasm'] } });
    const id = await start(runtime, [`${bind}:/mnt`], ['/', 'secret.txt', '', MARKER], { image: 'escape:1' });
    await runtime.wait(id);
    const out = runtime.logs(id).text('stdout');
    expect(out.startsWith('control: ok\n')).toBe(true);
    expect(out).not.toContain(MARKER);
    const seen = attempts(out);
    for (const [name, result] of seen) {
      if (name.startsWith('raw-dot')) continue; // listings of / (checked below)
      // `rename(/victim, /../escape-victim)` "moves out" of `/` only in the guest's eyes:
      // `/..` is `/`, and the file is found there below.
      if (name === 'rename-out') expect(result).toBe('MOVED');
      else expect(`${name}: ${result}`).toMatch(/: BLOCKED \(E[A-Z]+\)$/);
    }
    // `..` at / is / itself: both listings are the container's root.
    const listing = seen.get('raw-dot-dir (the mount itself; control)');
    expect(listing).toMatch(/^OPENED \[\. \.\. bin escape-victim etc .*mnt/);
    expect(seen.get('raw-dotdot-dir')).toBe(listing);
    expect(runtime.diff(id).map((c) => c.path)).toContain('/escape-victim');
    expect(readdirSync(root).sort()).toEqual(['bind', 'outside', 'secret.txt']);
    expect(readdirSync(bind).sort()).toEqual(['hostabs', 'hostdir', 'hostrel']);
  });
});

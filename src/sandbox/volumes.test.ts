import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EROFS, Errno } from '../layers/errno.js';
import { Overlay } from '../layers/overlay.js';
import { layerOf } from '../layers/testing/layers.js';
import { diskVolumes, memoryVolumes, nodeHostFs } from '../platform/node/volumes.js';
import { OverlayFs } from './overlay-fs.js';
import { makeFile, ok, readAll } from './testing/mountfs-suite.js';
import { Vfs } from './vfs.js';
import { Volume, VolumeError, VolumeManager, createTmpfs, parseVolumeSpec, populateFromImage } from './volumes.js';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'skiff-volumes-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const names = (v: Volume): string[] => ok(v.fs.readdir(v.fs.root())).map((d) => d.name);

describe('VolumeManager', () => {
  it('creates, lists, inspects and removes named volumes; create is idempotent', () => {
    const m = memoryVolumes({ now: () => new Date('2024-05-01T10:00:00.123Z') });
    const v = m.create('data', { labels: { app: 'web' } });
    expect(v).toBeInstanceOf(Volume);
    expect(m.create('data')).toBe(v);
    expect(m.list().map((x) => x.name)).toEqual(['data']);
    expect(m.inspect('data')).toEqual({
      Name: 'data',
      Driver: 'local',
      Mountpoint: '/volumes/data/_data',
      CreatedAt: '2024-05-01T10:00:00Z',
      Labels: { app: 'web' },
      Scope: 'local',
      Options: {},
    });
    expect(m.remove('data')).toBeUndefined();
    expect(m.list()).toEqual([]);
    expect(m.remove('data')).toMatchObject({ code: 'not-found', message: 'no such volume: data' });
    expect(m.inspect('nope')).toBeInstanceOf(VolumeError);
  });

  it('refuses invalid names (they become paths on disk) and names anonymous volumes with 64 hex digits', () => {
    const m = memoryVolumes();
    for (const bad of ['../x', 'a/b', '.hidden', 'x', '', 'a b', '..']) expect(m.create(bad)).toMatchObject({ code: 'invalid-name' });
    const anon = m.create() as Volume;
    expect(anon.name).toMatch(/^[0-9a-f]{64}$/);
    expect(anon.anonymous).toBe(true);
    expect(m.prune()).toEqual([anon.name]);
  });

  it('a named volume outlives its containers; rm of one in use is refused', () => {
    const m = memoryVolumes();
    const r = m.mount({ type: 'volume', name: 'keep', target: '/data' }, 'c1');
    if (r instanceof VolumeError) throw new Error(r.message);
    expect(r.populate).toBe(true);
    makeFile(r.fs as never, (r.fs as NonNullable<typeof r.fs>).root(), 'f', 'persisted');
    expect(m.mount({ type: 'volume', name: 'keep', target: '/other' }, 'c2')).toMatchObject({ fs: r.fs });
    expect(m.usersOf('keep')).toEqual(['c1', 'c2']);
    expect(m.remove('keep')).toMatchObject({ code: 'in-use', message: 'remove keep: volume is in use - [c1, c2]: remove those containers first' });
    m.release('c1');
    expect(m.remove('keep')).toMatchObject({ code: 'in-use' });
    m.release('c2');
    const v = m.get('keep') as Volume;
    expect(readAll(v.fs, ok(v.fs.lookup(v.fs.root(), 'f')))).toBe('persisted');
    expect(m.prune()).toEqual([]);
    expect(m.remove('keep')).toBeUndefined();
  });

  it('on disk: $SKIFF_HOME/volumes/<name>/_data, seen by another manager (another process)', () => {
    const home = tmp();
    const a = diskVolumes(home);
    const v = a.create('db') as Volume;
    makeFile(v.fs, v.fs.root(), 'table', 'rows');
    expect(readFileSync(join(home, 'volumes/db/_data/table'), 'utf8')).toBe('rows');
    expect(JSON.parse(readFileSync(join(home, 'volumes/db/volume.json'), 'utf8'))).toMatchObject({ anonymous: false, populated: false });
    const b = diskVolumes(home);
    expect(b.list().map((x) => x.name)).toEqual(['db']);
    expect((b.inspect('db') as { Mountpoint: string }).Mountpoint).toBe(join(home, 'volumes/db/_data'));
    const again = b.get('db') as Volume;
    expect(readAll(again.fs, ok(again.fs.lookup(again.fs.root(), 'table')))).toBe('rows');
    expect(b.remove('db')).toBeUndefined();
    expect(existsSync(join(home, 'volumes/db'))).toBe(false);
    expect(a.get('db')).toBeUndefined();
  });

  it('removing a volume never follows a symlink out of it', () => {
    const home = tmp();
    const outside = tmp();
    writeFileSync(join(outside, 'keep'), 'mine');
    const m = diskVolumes(home);
    const v = m.create('vol') as Volume;
    ok(v.fs.symlink(outside, v.fs.root(), 'link'));
    ok(v.fs.symlink(join(outside, 'keep'), v.fs.root(), 'file-link'));
    expect(m.remove('vol')).toBeUndefined();
    expect(readFileSync(join(outside, 'keep'), 'utf8')).toBe('mine');
  });

  it('host bind mounts: denied unless granted; read-only enforced; the source must exist', () => {
    const host = tmp();
    writeFileSync(join(host, 'f'), 'host file');
    expect(memoryVolumes().mount({ type: 'bind', source: host, target: '/h' }, 'c')).toMatchObject({ code: 'bind-denied' });
    const m = memoryVolumes({ allowBind: true });
    const ro = m.mount({ type: 'bind', source: host, target: '/h', readonly: true }, 'c');
    if (ro instanceof VolumeError) throw new Error(ro.message);
    const fs = ro.fs as NonNullable<typeof ro.fs>;
    expect(fs.readonly).toBe(true);
    const f = ok(fs.lookup(fs.root(), 'f'));
    expect(readAll(fs, f)).toBe('host file');
    expect(fs.write(f, 0, new Uint8Array([1]))).toBe(EROFS);
    expect(fs.createFile(fs.root(), 'new', 0o644)).toBe(EROFS);
    expect(existsSync(join(host, 'new'))).toBe(false);
    expect(m.mount({ type: 'bind', source: join(host, 'missing'), target: '/h' }, 'c')).toMatchObject({ code: 'bind-source' });
    expect(m.mount({ type: 'bind', source: join(host, 'f'), target: '/h' }, 'c')).toMatchObject({ code: 'bind-source' });
    expect(m.mount({ type: 'bind', source: 'relative', target: '/h' }, 'c')).toMatchObject({ code: 'invalid-spec' });
    m.release('c');
    expect(fs.openDescriptors).toBe(0);
  });

  it('tmpfs: an empty in-memory filesystem per call', () => {
    const a = createTmpfs();
    makeFile(a, a.root(), 'x', '1');
    expect(createTmpfs().readdir(createTmpfs().root())).toEqual([]);
    expect(memoryVolumes().mount({ type: 'tmpfs', target: '/run' }, 'c')).toMatchObject({ type: 'tmpfs', fs: undefined });
  });
});

describe('parseVolumeSpec (docker run -v)', () => {
  it.each([
    ['data:/var/lib/data', { type: 'volume', name: 'data', target: '/var/lib/data', readonly: false, nocopy: false }],
    ['data:/srv/:ro', { type: 'volume', name: 'data', target: '/srv', readonly: true, nocopy: false }],
    ['data:/srv:ro,nocopy', { type: 'volume', name: 'data', target: '/srv', readonly: true, nocopy: true }],
    ['/host/dir:/in:ro', { type: 'bind', source: '/host/dir', target: '/in', readonly: true }],
    ['/host/dir:/in:rw,z', { type: 'bind', source: '/host/dir', target: '/in', readonly: false }],
    ['/cache', { type: 'volume', target: '/cache' }],
    ['vv:/a/../b', { type: 'volume', name: 'vv', target: '/b', readonly: false, nocopy: false }],
  ])('%s', (spec, expected) => {
    expect(parseVolumeSpec(spec)).toEqual(expected);
  });

  it.each(['relative', 'data:relative', 'data:/x:bogus', '../x:/y', 'a:b:c:d', '/h:/x:nocopy'])('refuses %s', (spec) => {
    expect(parseVolumeSpec(spec)).toBeInstanceOf(VolumeError);
  });
});

describe("Docker's populate rule", () => {
  async function image(): Promise<OverlayFs> {
    const layer = await layerOf([
      ['app/', { dir: true }],
      ['app/data/', { dir: true, mode: 0o750 }],
      ['app/data/config.json', { file: '{"port":80}', mode: 0o600 }],
      ['app/data/sub/', { dir: true }],
      ['app/data/sub/deep.txt', 'deep'],
      ['app/data/link', { symlink: 'config.json' }],
      ['app/data/h1', 'same'],
      ['app/data/h2', { hardlink: 'app/data/h1' }],
      ['app/current', { symlink: 'data' }],
      ['app/empty/', { dir: true }],
    ]);
    return new OverlayFs(new Overlay([layer]));
  }

  it('copies the image directory into an empty volume, once', async () => {
    const root = await image();
    const m = memoryVolumes();
    const mounted = m.mount({ type: 'volume', name: 'data', target: '/app/data' }, 'c1');
    if (mounted instanceof VolumeError) throw new Error(mounted.message);
    expect(mounted.populate).toBe(true);
    const v = mounted.volume as Volume;
    expect(populateFromImage(root, '/app/data', v)).toBe(true);
    const fs = v.fs;
    expect(names(v)).toEqual(['config.json', 'h1', 'h2', 'link', 'sub']);
    const config = ok(fs.lookup(fs.root(), 'config.json'));
    expect(readAll(fs, config)).toBe('{"port":80}');
    expect(ok(fs.stat(config)).mode & 0o777).toBe(0o600);
    expect(ok(fs.stat(config)).mtime).toBe(1_700_000_000_000_000_000n);
    expect(fs.readlink(ok(fs.lookup(fs.root(), 'link')))).toBe('config.json');
    expect(readAll(fs, ok(fs.lookup(ok(fs.lookup(fs.root(), 'sub')), 'deep.txt')))).toBe('deep');
    expect(fs.key(ok(fs.lookup(fs.root(), 'h1')))).toBe(fs.key(ok(fs.lookup(fs.root(), 'h2'))));
    expect(v.populated).toBe(true);
    // Once: emptied by a container, it stays empty, and a later mount does not ask for it.
    for (const n of ['config.json', 'h1', 'h2', 'link']) expect(fs.unlink(fs.root(), n)).toBeUndefined();
    expect(fs.unlink(ok(fs.lookup(fs.root(), 'sub')), 'deep.txt')).toBeUndefined();
    expect(fs.rmdir(fs.root(), 'sub')).toBeUndefined();
    expect(populateFromImage(root, '/app/data', v)).toBe(false);
    expect(names(v)).toEqual([]);
    expect(m.mount({ type: 'volume', name: 'data', target: '/app/data' }, 'c2')).toMatchObject({ populate: false });
  });

  it('the copy is what the container sees at the mount point; its writes go to the volume', async () => {
    const root = await image();
    const m = memoryVolumes();
    const mounted = m.mount({ type: 'volume', name: 'data', target: '/app/current' }, 'c1') as Exclude<ReturnType<VolumeManager['mount']>, VolumeError>;
    // Through a symlink in the image, as Docker resolves the mount point.
    expect(populateFromImage(root, '/app/current', mounted.volume as Volume)).toBe(true);
    const vfs = new Vfs(root, [{ path: '/app/data', fs: mounted.fs as NonNullable<typeof mounted.fs> }]);
    const cfg = ok(vfs.resolve(vfs.root, '/app/current/config.json', true));
    expect(cfg.mount.fs).toBe(mounted.fs);
    const w = cfg.mount.fs.write(cfg.node, 0, new TextEncoder().encode('{"port":81}'));
    expect(w).toBe(11);
    expect(root.overlay.resolve(root.overlay.root, '/app/data/config.json')).not.toBeInstanceOf(Errno);
    expect(new TextDecoder().decode(root.overlay.contentOf(root.overlay.resolve(root.overlay.root, '/app/data/config.json') as never))).toBe('{"port":80}');
  });

  it('does not copy into a volume that has content, nor when the image has nothing there', async () => {
    const root = await image();
    const m = memoryVolumes();
    const full = m.create('full') as Volume;
    makeFile(full.fs, full.fs.root(), 'mine', 'x');
    expect(populateFromImage(root, '/app/data', full)).toBe(false);
    expect(names(full)).toEqual(['mine']);
    const fresh = m.create('fresh') as Volume;
    expect(populateFromImage(root, '/nowhere', fresh)).toBe(false);
    expect(populateFromImage(root, '/app/data/config.json', fresh)).toBe(false);
    expect(populateFromImage(root, '/app/empty', fresh)).toBe(true);
    expect(names(fresh)).toEqual([]);
  });

  it('nocopy skips it', () => {
    const m = memoryVolumes();
    expect(m.mount({ type: 'volume', name: 'nn', target: '/x', nocopy: true }, 'c')).toMatchObject({ populate: false });
  });

  it('populates a volume on disk too', async () => {
    const home = tmp();
    mkdirSync(join(home, 'volumes'), { recursive: true });
    const m = new VolumeManager({ fs: nodeHostFs, home });
    const v = m.create('dd') as Volume;
    expect(populateFromImage(await image(), '/app/data', v)).toBe(true);
    expect(readFileSync(join(home, 'volumes/dd/_data/sub/deep.txt'), 'utf8')).toBe('deep');
    expect(JSON.parse(readFileSync(join(home, 'volumes/dd/volume.json'), 'utf8')).populated).toBe(true);
  });
});

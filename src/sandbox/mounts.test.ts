/**
 * mounts.ts without threads: resolving a spec's entries (and what is refused), the
 * namespace a container thread builds (mount points, order, errors), and a run's wire
 * forms. The served path across real threads is in test/container-volumes.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { Errno } from '../layers/errno.js';
import { Overlay, type Dirent } from '../layers/overlay.js';
import { memoryVolumes } from '../platform/node/volumes.js';
import { RunMounts, fsMount, mountNamespace, releaseMounts, resolveMounts, tmpfsMount, type ContainerMount } from './mounts.js';
import { OverlayFs } from './overlay-fs.js';
import { Handles, type MountWire } from './protocol.js';

const tmpfsWire = (path: string, readonly = false): MountWire => ({ path, readonly, kind: 'tmpfs' });

describe('resolveMounts', () => {
  it('resolves -v strings, requests and mounts; named volumes are in use by the container until released', () => {
    const volumes = memoryVolumes();
    const mine = fsMount('/shared', new OverlayFs(new Overlay([])));
    const mounts = resolveMounts(volumes, ['data:/var/lib/app', 'conf:/etc/app:ro', { type: 'tmpfs', target: '/tmp/' }, mine], 'c1');
    expect(mounts.map((m) => [m.path, m.readonly, m.fs === 'tmpfs' ? 'tmpfs' : 'fs', m.source])).toEqual([
      ['/var/lib/app', false, 'fs', 'data:/var/lib/app'],
      ['/etc/app', true, 'fs', 'conf:/etc/app:ro'],
      ['/tmp', false, 'tmpfs', 'tmpfs:/tmp'],
      ['/shared', false, 'fs', 'fs:/shared'],
    ]);
    expect(mounts[3]).toBe(mine);
    expect(volumes.usersOf('data')).toEqual(['c1']);
    expect(volumes.remove('data')).toMatchObject({ code: 'in-use' });
    releaseMounts(volumes, 'c1', mounts);
    expect(volumes.usersOf('data')).toEqual([]);
    expect(volumes.list().map((v) => v.name)).toEqual(['conf', 'data']);
  });

  it('refuses bad entries, saying what to do, and releases what it took', () => {
    const volumes = memoryVolumes();
    expect(() => resolveMounts(volumes, ['a1:/x', 'a2:/x'], 'c')).toThrow(/duplicate mount point \/x/);
    expect(volumes.usersOf('a1')).toEqual([]);
    expect(() => resolveMounts(volumes, ['data:relative'], 'c')).toThrow(/must be absolute/);
    expect(() => resolveMounts(volumes, [tmpfsMount('/')], 'c')).toThrow(/cannot be \//);
    expect(() => resolveMounts(volumes, [{ type: 'tmpfs', target: 'tmp' }], 'c')).toThrow(/must be an absolute path/);
    expect(() => resolveMounts(volumes, ['/host/dir:/mnt'], 'c')).toThrow(/host bind mounts are not granted/);
    expect(() => resolveMounts(undefined, ['data:/data'], 'c')).toThrow(/this runtime has no volumes; create it with one/);
    // tmpfs and mounts need no volume manager.
    expect(resolveMounts(undefined, [{ type: 'tmpfs', target: '/t' }], 'c')).toHaveLength(1);
  });

  it('anonymous volumes go with their container only when asked', () => {
    const volumes = memoryVolumes();
    const a = resolveMounts(volumes, ['/anon'], 'c1');
    releaseMounts(volumes, 'c1', a);
    expect(volumes.list()).toHaveLength(1);
    const b = resolveMounts(volumes, ['/anon'], 'c2');
    releaseMounts(volumes, 'c2', b, { anonymous: true });
    expect(volumes.list()).toHaveLength(1); // c1's stays
  });
});

describe('mountNamespace (the container thread side)', () => {
  it('makes mount points parents first, a nested one inside its parent mount, through symlinks inside the root', () => {
    const overlay = new Overlay([]);
    overlay.mkdirAt(overlay.root, 'var', 0o755);
    overlay.symlinkAt('/run', overlay.resolve(overlay.root, 'var', true) as never, 'run');
    const root = new OverlayFs(overlay);
    // Given child first: sorted by depth.
    const ns = mountNamespace(root, [tmpfsWire('/a/b/c'), tmpfsWire('/a'), tmpfsWire('/var/run')], []);
    if (typeof ns === 'string') throw new Error(ns);
    const { vfs } = ns;
    // /a/b/c was made in the tmpfs at /a; the root has only /a.
    expect((overlay.readdir(overlay.root) as readonly Dirent[]).map((e) => e.name).sort()).toEqual(['a', 'run', 'var']);
    expect(overlay.readdir(overlay.resolve(overlay.root, 'a', true) as never)).toEqual([]);
    const abc = vfs.resolve(vfs.root, '/a/b/c', true);
    expect(abc instanceof Errno ? abc : vfs.isMountRoot(abc)).toBe(true);
    // /var/run -> /run: the mount is on /run, inside the container.
    const run = vfs.resolve(vfs.root, '/run', true);
    expect(run instanceof Errno ? run : vfs.isMountRoot(run)).toBe(true);
    ns.close();
  });

  it('a file in the way, a read-only parent or an unknown kind is an error message (the run exits 126)', () => {
    const overlay = new Overlay([]);
    overlay.createFile(overlay.root, 'f', 0o644);
    const root = new OverlayFs(overlay);
    expect(mountNamespace(root, [tmpfsWire('/f')], [])).toBe('mount point /f: ENOTDIR');
    expect(mountNamespace(root, [tmpfsWire('/f/x')], [])).toBe('mount point /f/x: ENOTDIR');
    expect(mountNamespace(root, [tmpfsWire('/ro', true), tmpfsWire('/ro/inner')], [])).toBe('mount point /ro/inner: EROFS');
    expect(mountNamespace(root, [{ path: '/n', readonly: false, kind: 'nfs' }], [])).toMatch(/unknown kind "nfs"/);
  });
});

describe('RunMounts (the runtime side of one run)', () => {
  it('serves every served mount over one connection; tmpfs crosses as plain data', async () => {
    const a = fsMount('/a', new OverlayFs(new Overlay([])));
    const b = fsMount('/b', new OverlayFs(new Overlay([])), { readonly: true });
    const run = RunMounts.open([a, tmpfsMount('/t'), b], []);
    if (typeof run === 'string') throw new Error(run);
    const handles = new Handles();
    expect(run.wires(handles)).toEqual([
      { path: '/a', readonly: false, kind: 'served', connection: 0, index: 0 },
      { path: '/t', readonly: false, kind: 'tmpfs' },
      { path: '/b', readonly: true, kind: 'served', connection: 0, index: 1 },
    ]);
    expect(handles.list).toHaveLength(1);
    expect(run.serverHandles).toBe(2); // the two mount roots
    await run.close();
    expect(run.serverHandles).toBe(0);
    await run.close(); // idempotent
  });

  it('a mount that refuses the run (prepare) gives its message; nothing is served', () => {
    const refusing: ContainerMount = { path: '/x', readonly: false, fs: 'tmpfs', prepare: () => 'no room' };
    expect(RunMounts.open([refusing], [])).toBe('no room');
  });
});

// The MountFs conformance suite (testing/mountfs-suite.ts) over every in-thread
// implementation: the overlay (a container's root), PathFs over memfs (named volumes in
// memory) and PathFs over a real directory (volumes on disk, host bind mounts).
// RemoteFs runs the same suite across a worker thread in remote-fs.test.ts.
import * as nodeFs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Volume, createFsFromVolume } from 'memfs';
import { Overlay } from '../layers/overlay.js';
import { OverlayFs } from './overlay-fs.js';
import { PathFs, type SyncFs } from './path-fs.js';
import { mountFsSuite, readonlyMountFsSuite } from './testing/mountfs-suite.js';

const memfs = (): SyncFs => {
  const fs = createFsFromVolume(new Volume());
  fs.mkdirSync('/vol');
  return fs;
};

function tmp(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-pathfs-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

mountFsSuite('OverlayFs (empty image)', () => ({ fs: new OverlayFs(new Overlay([])) }));

mountFsSuite('PathFs over memfs', () => ({ fs: new PathFs(memfs(), '/vol', { verify: 'on-change' }) }));

mountFsSuite('PathFs over node:fs (always verify)', () => {
  const t = tmp();
  const fs = new PathFs(nodeFs, t.dir);
  return {
    fs,
    cleanup: () => {
      fs.dispose();
      t.cleanup();
    },
  };
});

readonlyMountFsSuite('PathFs over memfs', () => {
  const fs = memfs();
  return { rw: new PathFs(fs, '/vol'), ro: new PathFs(fs, '/vol', { readonly: true }) };
});

readonlyMountFsSuite('PathFs over node:fs', () => {
  const t = tmp();
  return { rw: new PathFs(nodeFs, t.dir), ro: new PathFs(nodeFs, t.dir, { readonly: true }), cleanup: t.cleanup };
});

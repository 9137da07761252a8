/**
 * Volumes on the Node platform: named volumes as directories under
 * `$SKIFF_HOME/volumes/<name>/_data` (or in a memfs volume), and host bind mounts
 * through `node:fs` — all through sandbox/path-fs.ts, which never follows a host symlink.
 *
 * Bind mounts are a grant (STYLE §8): `allowBind` must be set, and they are refused on
 * Windows, where `O_NOFOLLOW` does not exist and `\` separates path components.
 */
import * as fs from 'node:fs';
import { Volume, createFsFromVolume } from 'memfs';
import type { HostStats, SyncFs } from '../../sandbox/path-fs.js';
import type { HostFs } from '../../sandbox/volumes.js';
import { VolumeManager } from '../../sandbox/volumes.js';

/** `node:fs` as the sandbox's `SyncFs`/`HostFs`. */
export const nodeHostFs: HostFs = fs;

/** The volume manager of a `$SKIFF_HOME` (`home`), created on first use. */
export function diskVolumes(home: string, options: { allowBind?: boolean } = {}): VolumeManager {
  const allowBind = options.allowBind === true && process.platform !== 'win32';
  return new VolumeManager({ fs: nodeHostFs, home: fs.realpathSync(mkdirp(home)), ...(allowBind ? { hostFs: nodeHostFs } : {}) });
}

/**
 * Volumes in memory (a memfs volume laid out as `$SKIFF_HOME` is), with host bind mounts
 * granted when `allowBind`: a library runtime in Node.
 */
export function memoryVolumes(options: { allowBind?: boolean; now?: () => Date } = {}): VolumeManager {
  const allowBind = options.allowBind === true && process.platform !== 'win32';
  return new VolumeManager({
    fs: memfs(),
    home: '/',
    ...(allowBind ? { hostFs: nodeHostFs } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
  });
}

/**
 * A memfs volume as a `SyncFs`, with two memfs defects fixed so that a guest sees what
 * Linux shows (the `fsops` guest's transcript, guests/expected/fsops.txt):
 * - `renameSync` onto an existing name leaves the directory's child count one too high
 *   (memfs's `Link.setChild` counts the replaced child again), so the directory can
 *   never be removed (`rmdir`: ENOTEMPTY). The existing target is removed first; memfs
 *   is synchronous and in this thread, so nothing can observe the two steps apart.
 * - `lstatSync` of a symlink reports size 0; Linux reports the target's length in bytes.
 */
export function memfs(): SyncFs {
  const fs = createFsFromVolume(new Volume());
  const encoder = new TextEncoder();
  const lstatSync = fs.lstatSync.bind(fs) as unknown as SyncFs['lstatSync'];
  return Object.assign(Object.create(fs) as SyncFs, {
    lstatSync(path: string, options: { bigint: true }): HostStats | undefined {
      const st = lstatSync(path, options);
      if (st === undefined || !st.isSymbolicLink() || st.size !== 0n) return st;
      const size = BigInt(encoder.encode(String(fs.readlinkSync(path))).length);
      return Object.create(st, { size: { value: size, enumerable: true } }) as HostStats;
    },
    renameSync(from: string, to: string): void {
      let target: HostStats | undefined;
      try {
        target = lstatSync(to, { bigint: true });
      } catch {
        target = undefined;
      }
      if (target !== undefined) {
        const source = lstatSync(from, { bigint: true });
        // Same file (two links), or a mismatch rename(2) refuses: leave it to memfs.
        if (source !== undefined && source.ino !== target.ino && source.isDirectory() === target.isDirectory()) {
          if (target.isDirectory()) fs.rmdirSync(to);
          else fs.unlinkSync(to);
        }
      }
      fs.renameSync(from, to);
    },
  });
}

function mkdirp(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

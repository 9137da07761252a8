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
    fs: createFsFromVolume(new Volume()),
    home: '/',
    ...(allowBind ? { hostFs: nodeHostFs } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
  });
}

function mkdirp(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

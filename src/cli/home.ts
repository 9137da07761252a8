/**
 * `$SKIFF_HOME`: the directory where skiff keeps its state, `~/.skiff` by default.
 *
 *   $SKIFF_HOME/images       the image store: an OCI image layout (`oci-layout`,
 *                            `index.json`, `blobs/sha256/…`) that skopeo and umoci read
 *                            as it is.
 *   $SKIFF_HOME/containers   containers kept after `skiff run` (container-store.ts).
 *   $SKIFF_HOME/volumes      named volumes, `<name>/_data` (sandbox/volumes.ts).
 *
 * A relative `$SKIFF_HOME` resolves from the working directory. Nothing is created until
 * a command needs it (opening the image store creates its layout).
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ImageStore } from '../layers/image-store.js';
import { NodeFiles } from '../platform/node/files.js';
import { diskVolumes } from '../platform/node/volumes.js';
import type { VolumeManager } from '../sandbox/volumes.js';
import type { IO } from './io.js';

export const HOME_ENV = 'SKIFF_HOME';

/** The state directory: `$SKIFF_HOME`, else `~/.skiff` (`$HOME` of `io.env` when set). */
export function skiffHome(io: Pick<IO, 'env' | 'cwd'>): string {
  const fromEnv = io.env[HOME_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return resolve(io.cwd, fromEnv);
  const home = io.env.HOME !== undefined && io.env.HOME !== '' ? io.env.HOME : homedir();
  return join(home, '.skiff');
}

/** The image store's layout directory. */
export function imagesDir(io: Pick<IO, 'env' | 'cwd'>): string {
  return join(skiffHome(io), 'images');
}

/** Opens (creating if new) the image store under `$SKIFF_HOME`. */
export function openImageStore(io: Pick<IO, 'env' | 'cwd'>): Promise<ImageStore> {
  return ImageStore.open(new NodeFiles(imagesDir(io)));
}

/** The directory of kept containers. */
export function containersDir(io: Pick<IO, 'env' | 'cwd'>): string {
  return join(skiffHome(io), 'containers');
}

/**
 * The named volumes under `$SKIFF_HOME/volumes` (created if new). With `allowBind`, host
 * bind mounts are granted too: `skiff run -v /host:/path` is the user's explicit grant.
 */
export function openVolumes(io: Pick<IO, 'env' | 'cwd'>, options: { allowBind?: boolean } = {}): VolumeManager {
  return diskVolumes(skiffHome(io), options);
}

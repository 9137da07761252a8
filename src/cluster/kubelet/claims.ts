/**
 * Where PersistentVolumeClaims keep their files: on the master, so that they outlive the
 * pods that mount them and the nodes those pods ran on. One `ClaimVolumes` is shared by
 * every `NodeHost` of a cluster; a kubelet that mounts a claim gets its files served over
 * the synchronous volume channel (remote-fs.ts `VolumeServer` here, `RemoteFs` in the
 * kubelet thread, which its runtime serves on to the container threads).
 *
 * By default a claim's files are an in-memory filesystem of the master's thread (they
 * survive pods and nodes, not the process); given a `VolumeManager` (`diskVolumes(dir)`
 * in the daemon), each claim is the named volume `pvc-<namespace>-<name>` and survives
 * the process too.
 *
 * ReadWriteOnce is not enforced: two pods mounting one claim share its files (as two
 * containers sharing a named volume do).
 */
import type { MountFs } from '../../sandbox/vfs.js';
import { VolumeError, createTmpfs, type VolumeManager } from '../../sandbox/volumes.js';

export class ClaimVolumes {
  private readonly memory = new Map<string, MountFs>();

  constructor(private readonly volumes?: VolumeManager) {}

  /** The files of claim `namespace/name`, made empty on first use; an error message when the volume cannot be made. */
  fs(namespace: string, name: string): MountFs | string {
    if (this.volumes !== undefined) {
      const volumeName = `pvc-${namespace}-${name}`;
      const v = this.volumes.get(volumeName) ?? this.volumes.create(volumeName, { labels: { 'skiff.dev/claim': `${namespace}/${name}` } });
      return v instanceof VolumeError ? v.toString() : v.fs;
    }
    const key = `${namespace}/${name}`;
    let fs = this.memory.get(key);
    if (fs === undefined) {
      fs = createTmpfs();
      this.memory.set(key, fs);
    }
    return fs;
  }

  /** Forgets claim `namespace/name`'s files (the claim was deleted). */
  delete(namespace: string, name: string): void {
    this.memory.delete(`${namespace}/${name}`);
    this.volumes?.remove(`pvc-${namespace}-${name}`);
  }
}

/**
 * skiff's public API. Everything a library user imports comes from here:
 * `import { Sandbox, ImageStore, createImage } from 'skiff'`.
 *
 * This is the package's Node entry: importing it registers the Node platform
 * (worker_threads) as the default (platform/platform.ts). A browser entry registers the
 * browser platform instead; code can always pass `platform` explicitly.
 */
import { setDefaultPlatform } from './platform/platform.js';
import { nodePlatform } from './platform/node/index.js';

setDefaultPlatform(nodePlatform);

export { Sandbox, type RunOptions, type RunResult } from './sandbox/sandbox.js';
export {
  Runtime,
  type RuntimeOptions,
  type ContainerSpec,
  type ContainerInfo,
  type ContainerState,
  type ContainerStatus,
  type ContainerMount,
  type ExitStatus,
  type ExitReason,
  type Change,
  type ChangeKind,
} from './sandbox/runtime.js';
export { LogRing, type LogEntry, type LogStream } from './sandbox/logs.js';
export { parsePublish, type PublishSpec, type PortInfo, type VirtualConnection } from './sandbox/network.js';
export { ConnectionClosedError } from './sandbox/net/host.js';
// Volumes: named (in memory or on disk), host binds (opt-in), tmpfs, any filesystem you keep.
export { tmpfsMount, fsMount, type MountEntry } from './sandbox/mounts.js';
export { VolumeManager, Volume, VolumeError, parseVolumeSpec, type MountRequest, type VolumeInfo } from './sandbox/volumes.js';
export { memoryVolumes, diskVolumes } from './platform/node/volumes.js';
export type { MountFs } from './sandbox/vfs.js';
export { ModuleError, type ModuleProblem } from './sandbox/module.js';
export { parseSize, parseDuration } from './sandbox/units.js';
export { setDefaultPlatform, defaultPlatform, type Platform } from './platform/platform.js';
export { nodePlatform } from './platform/node/index.js';

// Images: the store, images from code, commit, and the overlay filesystem.
export { ImageStore, type Image, type ImageSummary, type LoadOptions, type LoadProgress, type SaveOptions, type NewImage } from './layers/image-store.js';
export { createImage, commit, writeTree, type FileTree, type TreeValue, type ImageSpec, type CommitOptions } from './layers/build.js';
export { MemoryFiles, type Files } from './layers/files.js';
export { Overlay, type Node, type Stat, type Dirent, type OpenOptions, type OverlayOptions } from './layers/overlay.js';
export { diffLayer, exportTree } from './layers/changeset.js';
export { Errno, type ErrnoCode } from './layers/errno.js';
export { SkiffError, InvalidLayerError, InvalidImageError, DigestMismatchError, NotFoundError, type ErrorCode } from './layers/errors.js';
export type { ImageConfig, ImageManifest, ContainerConfig, Descriptor } from './layers/oci.js';
export type { Digest } from './layers/digest.js';

// The micro-cluster: API store, controllers, scheduler, kubelets on worker threads.
export { Cluster, ClusterNodes, ClusterImages, kindOf, type ClusterOptions } from './cluster/cluster.js';
export type { Applied } from './cluster/apply.js';
export { FakeClock, realClock, type Clock } from './cluster/clock.js';
export { ApiError, type KubeObject, type ObjectMeta, type ObjectKey, type WatchEvent } from './cluster/api/types.js';
export { ServiceProxyError } from './cluster/services/proxy.js';

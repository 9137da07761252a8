/**
 * The thread module of a Node kubelet (src/cluster/kubelet/kubelet.ts): a cluster node is
 * a worker thread running this, spawned by the master's `NodeHost` through the platform's
 * `Threads`. The kubelet's own container threads are nested workers, started with the
 * Node platform injected here.
 */
import { serveKubelet } from '../../cluster/kubelet/kubelet.js';
import type { ThreadPort } from '../threads.js';
import { nodePlatform } from './index.js';

/** This module, for `NodeHost`'s `kubeletModule` option. */
export const KUBELET_MODULE = new URL(import.meta.url);

/**
 * The container thread module, located from this file: this module runs bundled
 * (scripts/bundle-threads.mjs) as kubelet-main.bundle.js beside it, where the sandbox's
 * own `import.meta.url` would point here instead of to src/sandbox/.
 */
const CONTAINER_MODULE = new URL('../../sandbox/worker.js', import.meta.url);

export function main(port: ThreadPort): void {
  serveKubelet(port, { platform: nodePlatform, threadModule: CONTAINER_MODULE });
}

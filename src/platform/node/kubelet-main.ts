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

export function main(port: ThreadPort): void {
  serveKubelet(port, { platform: nodePlatform });
}

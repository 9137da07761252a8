/** Kubelets: each cluster node is a worker thread (kubelet.ts) driven by the master's `NodeHost` (node-host.ts). */
export { NodeHost, type NodeCapacity, type NodeEvent, type NodeHostOptions } from './node-host.js';
export { ClaimVolumes } from './claims.js';
export { BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, BACKOFF_RESET_MS } from './kubelet.js';
export type { PodMetrics } from './protocol.js';

/**
 * The scheduler cache (kube's internal/cache): one NodeInfo per node, kept up to date
 * incrementally from Node and Pod events, and the pods *assumed* on a node — placed by
 * the scheduler, not yet seen bound in the store — so that the next cycle counts them
 * without waiting for the binding to come back.
 *
 * Lifecycle of a pod in the cache:
 *   assume(pod, node)   the scheduler picked `node`; the pod's requests count there now
 *   addOrUpdatePod(p)   the store reports the pod bound (spec.nodeName set): the assumed
 *                       entry is confirmed (or moved, if bound elsewhere)
 *   forget(key)         binding failed: the assumed requests are released
 *   removePod(key)      the pod is gone, or finished (Succeeded/Failed pods hold nothing)
 * Every operation is idempotent and O(1) in the number of nodes and pods.
 */
import type { Node, Pod } from '../objects/core.js';
import { NodeInfo } from './node-info.js';
import { podInfo, type PodInfo } from './pod-info.js';

interface PodState {
  info: PodInfo;
  nodeName: string;
  assumed: boolean;
}

export class SchedulerCache {
  private readonly infos = new Map<string, NodeInfo>();
  /** NodeInfos of the nodes that exist, in the order they were added: what a cycle walks. */
  private readonly list: NodeInfo[] = [];
  private readonly pods = new Map<string, PodState>();
  /**
   * How many existing nodes are cordoned, have a NoSchedule/NoExecute taint, are not
   * Ready, have a PreferNoSchedule taint: when none does, the filter or score that looks
   * at it has nothing to say (the plugins' PreFilter/PreScore skips).
   */
  unschedulableNodes = 0;
  noScheduleNodes = 0;
  notReadyNodes = 0;
  preferNoScheduleNodes = 0;

  /** The nodes that exist. The array is the cache's own: read, do not keep or change it. */
  get nodes(): readonly NodeInfo[] {
    return this.list;
  }

  nodeInfo(name: string): NodeInfo | undefined {
    const ni = this.infos.get(name);
    return ni?.node ? ni : undefined;
  }

  /** Adds or updates a node; accounting of its pods is kept. */
  addOrUpdateNode(node: Node): void {
    const name = node.metadata.name ?? '';
    let ni = this.infos.get(name);
    if (!ni) this.infos.set(name, (ni = new NodeInfo(name)));
    if (!ni.node) this.list.push(ni);
    else this.count(ni, -1);
    ni.setNode(node);
    this.count(ni, 1);
  }

  private count(ni: NodeInfo, sign: 1 | -1): void {
    if (ni.unschedulable) this.unschedulableNodes += sign;
    if (ni.noScheduleTaints.length > 0) this.noScheduleNodes += sign;
    if (ni.conditionTaint !== undefined) this.notReadyNodes += sign;
    if (ni.preferNoScheduleTaints.length > 0) this.preferNoScheduleNodes += sign;
  }

  /**
   * Removes a node. Its pods stay accounted to it (as in kube) until they are removed, so
   * that a node that comes back is not taken for empty.
   */
  removeNode(name: string): void {
    const ni = this.infos.get(name);
    if (!ni?.node) return;
    this.count(ni, -1);
    ni.node = undefined;
    ni.generation++;
    const i = this.list.indexOf(ni);
    if (i >= 0) this.list.splice(i, 1);
    if (ni.podCount === 0) this.infos.delete(name);
  }

  /** Counts `info` on `nodeName` before the binding is confirmed. */
  assume(info: PodInfo, nodeName: string): void {
    this.place(info, nodeName, true);
  }

  /** Releases an assumed pod whose binding failed. A confirmed pod is not touched. */
  forget(key: string): void {
    const st = this.pods.get(key);
    if (st?.assumed) this.unplace(key, st);
  }

  isAssumed(key: string): boolean {
    return this.pods.get(key)?.assumed === true;
  }

  /** Whether the cache counts the pod somewhere (bound or assumed). */
  has(key: string): boolean {
    return this.pods.has(key);
  }

  /**
   * A pod as the store has it. Bound and not finished: counted on its node (confirming
   * an assumed entry). Finished, or not bound and not assumed: not counted.
   */
  addOrUpdatePod(pod: Pod, info?: PodInfo): void {
    const key = info?.key ?? podInfo(pod).key;
    const nodeName = pod.spec.nodeName;
    const finished = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
    const st = this.pods.get(key);
    if (!nodeName || finished) {
      // Unbound: an assumed pod stays assumed (the store has not seen the binding yet).
      if (st && (finished || !st.assumed)) this.unplace(key, st);
      return;
    }
    this.place(info ?? podInfo(pod), nodeName, false);
  }

  removePod(key: string): void {
    const st = this.pods.get(key);
    if (st) this.unplace(key, st);
  }

  private place(info: PodInfo, nodeName: string, assumed: boolean): void {
    const st = this.pods.get(info.key);
    if (st && st.nodeName !== nodeName) this.unplace(info.key, st);
    let ni = this.infos.get(nodeName);
    if (!ni) this.infos.set(nodeName, (ni = new NodeInfo(nodeName)));
    ni.addPod(info);
    this.pods.set(info.key, { info, nodeName, assumed });
  }

  private unplace(key: string, st: PodState): void {
    this.pods.delete(key);
    const ni = this.infos.get(st.nodeName);
    if (!ni) return;
    ni.removePod(st.info);
    if (!ni.node && ni.podCount === 0) this.infos.delete(st.nodeName);
  }
}

/**
 * The Scheduler: places pending pods on nodes, kube-scheduler's way (filter → score →
 * pick → bind), against an incremental cache of the cluster.
 *
 * It knows nothing of the store. It is fed the cluster's state as plain events — the
 * shared WatchEvent shape — and answers with decisions; the caller performs them:
 *
 *   const s = new Scheduler();
 *   s.sync({ nodes, pods });                 // the initial list
 *   store.watch(Node, e => s.onNodeEvent(e)); store.watch(Pod, e => s.onPodEvent(e));
 *   for (let d; (d = s.scheduleOne()); ) {
 *     if (d.status === 'Scheduled') {        // the pod is already assumed on d.nodeName
 *       ok = await store.bind(d.binding);    // set spec.nodeName
 *       if (!ok) s.bindingFailed(d.pod);     // release it and try again later
 *       recorder.event(d.pod, schedulingEvent(d));
 *     } else {                               // waits until a node or pod event
 *       store.patchStatus(d.pod, podScheduledCondition(d)); recorder.event(d.pod, schedulingEvent(d));
 *     }
 *   }
 *
 * Pods enter the queue from onPodEvent when they have no spec.nodeName, name this
 * scheduler (spec.schedulerName, default `default-scheduler`), are not finished and are
 * not being deleted. Node events and pod deletions move unschedulable pods back to the
 * active queue (queue.ts). Everything is synchronous and deterministic: the same events
 * in the same order give the same placements.
 *
 * A cycle (`schedule`):
 * - Filter: nodes are visited round-robin from where the previous cycle stopped, and the
 *   search stops once `numFeasibleNodesToFind` nodes passed — kube's
 *   percentageOfNodesToScore: all nodes below 100; else 50% − (nodes / 125)%, at least 5%
 *   and at least 100 nodes (10% = 500 nodes of 5,000). Set `percentageOfNodesToScore:
 *   100` to always search every node.
 * - Score: each score plugin rates the feasible nodes; NormalizeScore; weighted sum.
 * - Pick: the highest total; ties are broken by reservoir sampling (kube's selectHost)
 *   with a seeded PRNG (`seed`, default 1) — or an injected `random` — so placements
 *   spread over equal nodes yet repeat exactly from run to run.
 * - No feasible node: an Unschedulable result whose message counts the reasons over all
 *   nodes as kube does: `0/5 nodes are available: 2 node(s) had untolerated taint
 *   {dedicated: gpu}, 3 Insufficient cpu.` (no preemption is attempted).
 */
import type { WatchEvent } from '../api/types.js';
import type { Binding, Node, Pod, PodCondition } from '../objects/core.js';
import { SchedulerCache } from './cache.js';
import type { FilterPlugin, ScorePlugin, Status, WeightedScorePlugin } from './framework.js';
import type { NodeInfo } from './node-info.js';
import { podInfo, type PodInfo } from './pod-info.js';
import { nodeAffinity } from './plugins/node-affinity.js';
import { nodeName } from './plugins/node-name.js';
import { nodeReady } from './plugins/node-ready.js';
import { nodeResourcesFit } from './plugins/node-resources-fit.js';
import { nodeUnschedulable } from './plugins/node-unschedulable.js';
import { selectorSpread } from './plugins/selector-spread.js';
import { taintToleration } from './plugins/taint-toleration.js';
import { SchedulingQueue } from './queue.js';

/** kube-scheduler's default filter order (the ones skiff has) plus NodeReady. */
export const DEFAULT_FILTERS: readonly FilterPlugin[] = [nodeUnschedulable, nodeName, nodeReady, taintToleration, nodeAffinity, nodeResourcesFit];

/** kube-scheduler's default score weights: TaintToleration 3, NodeAffinity 2, NodeResourcesFit 1; SelectorSpread had 1. */
export const DEFAULT_SCORES: readonly WeightedScorePlugin[] = [
  { plugin: nodeResourcesFit, weight: 1 },
  { plugin: taintToleration, weight: 3 },
  { plugin: nodeAffinity, weight: 2 },
  { plugin: selectorSpread, weight: 1 },
];

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

/** kube-scheduler's minFeasibleNodesToFind and minFeasibleNodesPercentageToFind. */
const MIN_FEASIBLE_NODES_TO_FIND = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;

export interface SchedulerOptions {
  readonly filters?: readonly FilterPlugin[];
  readonly scores?: readonly WeightedScorePlugin[];
  /** 0 (default): kube's adaptive percentage; 1–100: that percentage of the nodes. */
  readonly percentageOfNodesToScore?: number;
  /** Seed of the tie-breaking PRNG (default 1). */
  readonly seed?: number;
  /** A source of randomness in [0, 1) for tie-breaking, instead of the seeded PRNG. */
  readonly random?: () => number;
  /** Pods naming another scheduler are left alone. Default `default-scheduler`. */
  readonly schedulerName?: string;
}

export interface Scheduled {
  readonly status: 'Scheduled';
  readonly pod: Pod;
  readonly nodeName: string;
  /** The Binding to post (pods/binding). */
  readonly binding: Binding;
  readonly feasibleNodes: number;
  readonly evaluatedNodes: number;
}

export interface Unschedulable {
  readonly status: 'Unschedulable';
  readonly pod: Pod;
  /** kube's FitError message: `0/5 nodes are available: 3 Insufficient cpu, …`. */
  readonly message: string;
  /** Reason → number of nodes that gave it. */
  readonly reasons: ReadonlyMap<string, number>;
  /** The plugins that rejected at least one node. */
  readonly plugins: ReadonlySet<string>;
  readonly numAllNodes: number;
}

export type ScheduleResult = Scheduled | Unschedulable;

/** The message for a cluster without nodes (kube's ErrNoNodesAvailable). */
export const NO_NODES_AVAILABLE = 'no nodes available to schedule pods';

export class Scheduler {
  readonly cache = new SchedulerCache();
  readonly queue = new SchedulingQueue();
  private readonly filters: readonly FilterPlugin[];
  private readonly scores: readonly WeightedScorePlugin[];
  private readonly percentage: number;
  private readonly random: () => number;
  private readonly schedulerName: string;
  private nextStartNodeIndex = 0;
  // Reused across cycles: the hot path allocates nothing per node.
  private feasible: NodeInfo[] = [];
  private totals = new Float64Array(0);
  private scratch = new Float64Array(0);

  constructor(options: SchedulerOptions = {}) {
    this.filters = options.filters ?? DEFAULT_FILTERS;
    this.scores = options.scores ?? DEFAULT_SCORES;
    this.percentage = options.percentageOfNodesToScore ?? 0;
    this.random = options.random ?? mulberry32(options.seed ?? 1);
    this.schedulerName = options.schedulerName ?? DEFAULT_SCHEDULER_NAME;
  }

  // ------------------------------------------------------------ events in

  /** Loads a listed snapshot of the cluster (nodes first, then pods). */
  sync(snapshot: { readonly nodes: readonly Node[]; readonly pods: readonly Pod[] }): void {
    for (const n of snapshot.nodes) this.cache.addOrUpdateNode(n);
    for (const p of snapshot.pods) this.onPodEvent({ type: 'ADDED', object: p });
  }

  onNodeEvent(e: WatchEvent<Node>): void {
    if (e.type === 'BOOKMARK') return;
    if (e.type === 'DELETED') this.cache.removeNode(e.object.metadata.name ?? '');
    else {
      this.cache.addOrUpdateNode(e.object);
      this.queue.moveAllToActive();
    }
  }

  onPodEvent(e: WatchEvent<Pod>): void {
    if (e.type === 'BOOKMARK') return;
    const pod = e.object;
    const info = podInfo(pod);
    if (e.type === 'DELETED') {
      this.queue.delete(info.key);
      if (this.cache.has(info.key)) {
        this.cache.removePod(info.key);
        this.queue.moveAllToActive();
      }
      return;
    }
    if (pod.spec.nodeName) {
      this.queue.delete(info.key);
      const wasCounted = this.cache.has(info.key);
      this.cache.addOrUpdatePod(pod, info);
      if (wasCounted && !this.cache.has(info.key)) this.queue.moveAllToActive(); // it finished: room freed
      return;
    }
    const finished = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
    if (this.cache.isAssumed(info.key)) {
      if (finished || pod.metadata.deletionTimestamp) this.cache.forget(info.key);
      return; // placed by us; the binding has not come back yet
    }
    if (finished || pod.metadata.deletionTimestamp || (pod.spec.schedulerName ?? DEFAULT_SCHEDULER_NAME) !== this.schedulerName) {
      this.queue.delete(info.key);
      return;
    }
    this.queue.addOrUpdate(info);
  }

  // ------------------------------------------------------------ decisions out

  /**
   * Schedules the next pending pod: on success the pod is assumed on the chosen node
   * (later cycles count it) and the caller binds it; otherwise it waits, unschedulable,
   * for a cluster event. Undefined when no pod is pending.
   */
  scheduleOne(): ScheduleResult | undefined {
    const info = this.queue.pop();
    if (!info) return undefined;
    const result = this.scheduleInfo(info);
    if (result.status === 'Scheduled') this.cache.assume(info, result.nodeName);
    else this.queue.addUnschedulable(info);
    return result;
  }

  /** The binding of `pod` failed: forget the assumption and queue the pod again. */
  bindingFailed(pod: Pod): void {
    const info = podInfo(pod);
    this.cache.forget(info.key);
    this.queue.addOrUpdate(info);
  }

  /** One scheduling cycle for `pod` against the cache, without assuming or queueing. */
  schedule(pod: Pod): ScheduleResult {
    return this.scheduleInfo(podInfo(pod));
  }

  /** Pods waiting: in the active queue, and parked as unschedulable. */
  pending(): { readonly active: number; readonly unschedulable: number } {
    return { active: this.queue.activeCount, unschedulable: this.queue.unschedulableCount };
  }

  // ------------------------------------------------------------ the cycle

  private scheduleInfo(info: PodInfo): ScheduleResult {
    const nodes = this.cache.nodes;
    const n = nodes.length;
    if (n === 0) return unschedulableResult(info.pod, NO_NODES_AVAILABLE, new Map(), new Set(), 0);
    if (this.feasible.length < n) {
      this.feasible = new Array<NodeInfo>(n);
      this.totals = new Float64Array(n);
      this.scratch = new Float64Array(n);
    }
    const start = this.nextStartNodeIndex % n;
    const found = this.findFeasible(info, nodes, start, this.numFeasibleNodesToFind(n), this.filtersFor(info));
    const processed = this.processed;
    this.nextStartNodeIndex = (start + processed) % n;
    if (found === 0) {
      const reasons = this.reasons ?? new Map<string, number>();
      const plugins = this.plugins ?? new Set<string>();
      return unschedulableResult(info.pod, fitErrorMessage(n, reasons), reasons, plugins, n);
    }
    const chosen = found === 1 ? (this.feasible[0] as NodeInfo) : this.pick(info, found);
    this.feasible.fill(undefined as unknown as NodeInfo, 0, found); // drop references
    return {
      status: 'Scheduled',
      pod: info.pod,
      nodeName: chosen.name,
      binding: bindingFor(info.pod, chosen.name),
      feasibleNodes: found,
      evaluatedNodes: processed,
    };
  }

  // Outputs of findFeasible besides its return value.
  private processed = 0;
  private reasons: Map<string, number> | undefined;
  private plugins: Set<string> | undefined;

  /**
   * Runs the filters on nodes from `start`, round-robin, until `toFind` pass or all were
   * tried; fills `this.feasible` and returns how many passed. Kept apart from the rest of
   * the cycle, with nothing but `return` after its loop, on purpose: V8 optimizes a long
   * loop on stack (OSR), and code after the loop that first runs in that optimized code
   * has no type feedback — it deoptimizes there, call after call, until the function is
   * optimized as a whole (measured: every cycle deoptimized, 30% of the time).
   */
  private findFeasible(info: PodInfo, nodes: readonly NodeInfo[], start: number, toFind: number, filters: readonly FilterPlugin[]): number {
    const n = nodes.length;
    const feasible = this.feasible;
    const nf = filters.length;
    this.reasons = undefined;
    this.plugins = undefined;
    let found = 0;
    this.processed = 0;
    for (let i = 0; i < n && found < toFind; i++) {
      this.processed = i + 1; // here, not after the loop: see above
      let idx = start + i;
      if (idx >= n) idx -= n;
      const node = nodes[idx] as NodeInfo;
      let status: Status | null = null;
      let j = 0;
      for (; j < nf; j++) {
        status = (filters[j] as FilterPlugin).filter(info, node);
        if (status !== null) break;
      }
      if (status === null) feasible[found++] = node;
      else this.recordFailure((filters[j] as FilterPlugin).name, status);
    }
    return found;
  }

  /** The filters to run for `info`: those whose PreFilter does not skip it (the list itself when none does). */
  private filtersFor(info: PodInfo): readonly FilterPlugin[] {
    let out: FilterPlugin[] | undefined;
    for (let i = 0; i < this.filters.length; i++) {
      const f = this.filters[i] as FilterPlugin;
      if (f.preFilterSkip?.(info, this.cache) === true) out ??= this.filters.slice(0, i);
      else out?.push(f);
    }
    return out ?? this.filters;
  }

  private recordFailure(plugin: string, status: Status): void {
    const reasons = (this.reasons ??= new Map());
    (this.plugins ??= new Set()).add(plugin);
    for (const r of status.reasons) reasons.set(r, (reasons.get(r) ?? 0) + 1);
  }

  /** Score the `count` feasible nodes, then selectHost. (One loop per function: see findFeasible.) */
  private pick(info: PodInfo, count: number): NodeInfo {
    this.totals.fill(0, 0, count);
    for (const { plugin, weight } of this.scores) {
      if (plugin.skip?.(info, this.cache)) continue;
      this.runScore(plugin, info, count);
      plugin.normalizeScore?.(info, this.scratch, count);
      this.accumulate(weight, count);
    }
    return this.feasible[this.selectHost(count)] as NodeInfo;
  }

  private runScore(plugin: ScorePlugin, info: PodInfo, count: number): void {
    const feasible = this.feasible;
    const scratch = this.scratch;
    for (let i = 0; i < count; i++) scratch[i] = plugin.score(info, feasible[i] as NodeInfo);
  }

  private accumulate(weight: number, count: number): void {
    const totals = this.totals;
    const scratch = this.scratch;
    for (let i = 0; i < count; i++) totals[i] = (totals[i] as number) + (scratch[i] as number) * weight;
  }

  /** kube's selectHost: the best total; among equals, each is kept with probability 1/ties (reservoir sampling). */
  private selectHost(count: number): number {
    const totals = this.totals;
    let best = 0;
    let bestScore = totals[0] as number;
    let ties = 1;
    for (let i = 1; i < count; i++) {
      const s = totals[i] as number;
      if (s > bestScore) {
        bestScore = s;
        best = i;
        ties = 1;
      } else if (s === bestScore) {
        ties++;
        if (Math.floor(this.random() * ties) === 0) best = i;
      }
    }
    return best;
  }

  /** kube-scheduler's numFeasibleNodesToFind. */
  private numFeasibleNodesToFind(numAllNodes: number): number {
    if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND || this.percentage >= 100) return numAllNodes;
    let percentage = this.percentage;
    if (percentage <= 0) percentage = Math.max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND, 50 - Math.trunc(numAllNodes / 125));
    const numNodes = Math.trunc((numAllNodes * percentage) / 100);
    return Math.max(numNodes, MIN_FEASIBLE_NODES_TO_FIND);
  }
}

/** kube's FitError.Error(): `0/N nodes are available: <count> <reason>, … .`, reasons sorted as strings. */
export function fitErrorMessage(numAllNodes: number, reasons: ReadonlyMap<string, number>): string {
  const parts = [...reasons].map(([r, c]) => `${c} ${r}`).sort();
  return `0/${numAllNodes} nodes are available${parts.length ? `: ${parts.join(', ')}` : ''}.`;
}

function unschedulableResult(pod: Pod, message: string, reasons: ReadonlyMap<string, number>, plugins: ReadonlySet<string>, numAllNodes: number): Unschedulable {
  return { status: 'Unschedulable', pod, message, reasons, plugins, numAllNodes };
}

export function bindingFor(pod: Pod, nodeName: string): Binding {
  const { name, namespace, uid } = pod.metadata;
  return {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name, namespace: namespace ?? 'default', ...(uid ? { uid } : {}) },
    target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
  };
}

/** The event kube-scheduler records for a result (reason Scheduled or FailedScheduling). */
export function schedulingEvent(r: ScheduleResult): { readonly type: 'Normal' | 'Warning'; readonly reason: string; readonly message: string } {
  const { namespace, name } = r.pod.metadata;
  return r.status === 'Scheduled'
    ? { type: 'Normal', reason: 'Scheduled', message: `Successfully assigned ${namespace ?? 'default'}/${name ?? ''} to ${r.nodeName}` }
    : { type: 'Warning', reason: 'FailedScheduling', message: r.message };
}

/** The PodScheduled condition kube-scheduler writes on a pod it could not place. */
export function podScheduledCondition(r: Unschedulable, now: string): PodCondition {
  return { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: r.message, lastTransitionTime: now, lastProbeTime: null };
}

/** mulberry32: a small, fast, seeded PRNG in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

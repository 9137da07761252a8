/**
 * The node lifecycle controller (kube-controller-manager's `node-lifecycle` controller
 * with its NoExecute taint manager), in cluster time (the Clock).
 *
 * Health. A kubelet heartbeats by writing its Node's Ready condition with a fresh
 * `lastHeartbeatTime` (RFC 3339, whole seconds). When `now >= lastHeartbeatTime +
 * nodeMonitorGracePeriod` (default 40 s, kube's `--node-monitor-grace-period`) the
 * controller sets every condition of the node to Unknown (Ready: reason
 * `NodeStatusUnknown`, "Kubelet stopped posting node status."). A node that never posted a
 * Ready condition gets the same after `nodeStartupGracePeriod` (default 60 s, kube's
 * `--node-startup-grace-period`) from its creation, reason `NodeStatusNeverUpdated`.
 * The grace period never starts before the controller did (a master restarted after a long
 * stop does not condemn every node at once). Kubernetes checks every `--node-monitor-period` (5 s); here each node is looked at again
 * exactly when its grace period runs out, so under a FakeClock the transition happens at
 * that instant. Pods on an Unknown node are marked Ready=False (kube's MarkPodsNotReady),
 * so endpoints stop sending them traffic at once; a Ready=False node still has a kubelet,
 * which owns its pods' status.
 *
 * Taints (TaintBasedEvictions). Ready=False → `node.kubernetes.io/not-ready:NoExecute`;
 * Ready=Unknown → `node.kubernetes.io/unreachable:NoExecute`; Ready=True (or no Ready
 * condition yet) → neither. The taint carries `timeAdded`. Other taints are left alone.
 *
 * Eviction (the NoExecute taint manager). A pod bound to a node with NoExecute taints is
 * deleted (no grace period: its kubelet is gone or will stop it when it sees the delete)
 * - at once if some taint is not tolerated;
 * - otherwise at the earliest `taint.timeAdded + tolerationSeconds` over the tolerations
 *   it relies on (<= 0: at once; no tolerationSeconds: never).
 * Kubernetes' DefaultTolerationSeconds admission plugin gives every pod that does not
 * already tolerate them `not-ready` and `unreachable` NoExecute tolerations of 300 s; here
 * the pods are not rewritten, the controller applies the same rule (the same test for
 * "already tolerates") with `podEvictionTimeout` (default 300 s, kube's
 * `--default-not-ready-toleration-seconds` / `--default-unreachable-toleration-seconds`).
 * The pods' owners (ReplicaSets) then create replacements, which the scheduler keeps off the
 * node. When the node is Ready again its taints are removed and nothing more is evicted.
 *
 * Pods bound to a Node that does not exist are deleted after `nodeMonitorGracePeriod`
 * (kube's pod garbage collector, gcOrphaned with its quarantine).
 *
 * Level-triggered: `reconcile(nodeName)` re-reads the node and its pods, takes at most one
 * step for each of the three concerns, and asks to be woken when the next deadline comes.
 */
import type { Clock } from '../clock.js';
import { timestamp } from '../clock.js';
import type { Node, NodeCondition, Pod, Taint, Toleration } from '../objects/core.js';
import { toleratesTaint } from '../scheduler/plugins/tolerations.js';
import type { Store } from '../store/store.js';
import { whenQueueIdle } from './idle.js';
import { Informer, WorkQueue, type ReconcileResult } from './informer.js';

export const NOT_READY_TAINT_KEY = 'node.kubernetes.io/not-ready';
export const UNREACHABLE_TAINT_KEY = 'node.kubernetes.io/unreachable';

/** Kubernetes' `--node-monitor-grace-period` default. */
export const DEFAULT_NODE_MONITOR_GRACE_PERIOD = 40_000;
/** Kubernetes' `--node-startup-grace-period` default. */
export const DEFAULT_NODE_STARTUP_GRACE_PERIOD = 60_000;
/** Kubernetes' DefaultTolerationSeconds (300 s) for not-ready and unreachable. */
export const DEFAULT_POD_EVICTION_TIMEOUT = 300_000;

export interface NodeLifecycleControllerOptions {
  readonly store: Store;
  readonly clock: Clock;
  /** ms without a heartbeat after which a node's conditions become Unknown (default 40,000). */
  readonly nodeMonitorGracePeriod?: number;
  /** ms a new node has to post its first Ready condition (default 60,000). */
  readonly nodeStartupGracePeriod?: number;
  /** ms a pod without its own not-ready/unreachable toleration stays on a tainted node (default 300,000). */
  readonly podEvictionTimeout?: number;
  /** Reports a failed reconcile (it is retried); default console.error. */
  readonly onError?: (key: string, error: unknown) => void;
}

export class NodeLifecycleController {
  /** For logs and errors (the `Controller` shape of controller.ts). */
  readonly name = 'node-lifecycle';
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly grace: number;
  private readonly startupGrace: number;
  private readonly evictionTimeout: number;
  private readonly nodes: Informer<Node>;
  private readonly pods: Informer<Pod>;
  private readonly queue: WorkQueue;
  /** When a taint without `timeAdded` was first seen, by `node/key/effect`. */
  private readonly firstSeen = new Map<string, number>();
  /** When each pod on a tainted node is due for eviction, by pod uid (kept across taint swaps). */
  private readonly scheduled = new Map<string, number>();
  /** When pods were first seen bound to a node that does not exist, by node name. */
  private readonly missingSince = new Map<string, number>();
  private started = false;
  private startedAt = -Infinity;

  constructor(options: NodeLifecycleControllerOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.grace = options.nodeMonitorGracePeriod ?? DEFAULT_NODE_MONITOR_GRACE_PERIOD;
    this.startupGrace = options.nodeStartupGracePeriod ?? DEFAULT_NODE_STARTUP_GRACE_PERIOD;
    this.evictionTimeout = options.podEvictionTimeout ?? DEFAULT_POD_EVICTION_TIMEOUT;
    this.nodes = new Informer<Node>(options.store, 'Node');
    this.pods = new Informer<Pod>(options.store, 'Pod');
    this.queue = new WorkQueue((key) => this.reconcile(key), { clock: options.clock, ...(options.onError ? { onError: options.onError } : {}) });
  }

  /** Watches Nodes and Pods and looks at every node. Idempotent. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.startedAt = this.clock.now();
    this.nodes.on((_type, node) => this.queue.add(node.metadata.name ?? ''));
    this.pods.on((_type, pod, old) => {
      const node = pod.spec.nodeName ?? old?.spec.nodeName;
      if (node) this.queue.add(node);
    });
    await this.nodes.start();
    await this.pods.start();
  }

  async stop(): Promise<void> {
    this.queue.stop();
    await Promise.all([this.nodes.stop(), this.pods.stop()]);
  }

  /** Resolves when every change seen so far has been handled (timers still pending do not count). */
  whenIdle(): Promise<void> {
    return whenQueueIdle(this.queue);
  }

  /** One step for node `name`: health, taints, evictions (see the file comment). */
  async reconcile(name: string): Promise<ReconcileResult> {
    const got = this.store.get<Node>({ kind: 'Node', namespace: '', name });
    if (!got.ok) {
      if (got.error.reason !== 'NotFound') throw got.error;
      for (const k of [...this.firstSeen.keys()]) if (k.startsWith(`${name}/`)) this.firstSeen.delete(k);
      return this.collectOrphans(name);
    }
    this.missingSince.delete(name);
    let node = got.value;
    const now = this.clock.now();
    let wake = Infinity;

    // 1. Health: no heartbeat within the grace period → Unknown.
    const ready = readyCondition(node);
    if (ready?.status !== 'Unknown') {
      const since = ready === undefined ? Date.parse(node.metadata.creationTimestamp ?? '') : Date.parse(ready.lastHeartbeatTime ?? ready.lastTransitionTime ?? node.metadata.creationTimestamp ?? '');
      // Like kube's probeTimestamp, never earlier than this controller's start: a master restarted after a
      // long stop gives the kubelets a full grace period to report before their nodes turn Unknown.
      const due = Math.max(Number.isNaN(since) ? now : since, this.startedAt) + (ready === undefined ? this.startupGrace : this.grace);
      if (now >= due) {
        const r = await this.store.updateStatus<Node>({ ...node, status: { ...node.status, conditions: unknownConditions(node, now) } });
        if (!r.ok) throw r.error;
        node = r.value;
      } else wake = Math.min(wake, due);
    }

    // 2. Taints follow the Ready condition.
    const status = readyCondition(node)?.status;
    const wanted = status === 'False' ? NOT_READY_TAINT_KEY : status === 'Unknown' ? UNREACHABLE_TAINT_KEY : undefined;
    const taints = node.spec?.taints ?? [];
    const kept = taints.filter((t) => !(t.effect === 'NoExecute' && (t.key === NOT_READY_TAINT_KEY || t.key === UNREACHABLE_TAINT_KEY) && t.key !== wanted));
    const missing = wanted !== undefined && !kept.some((t) => t.key === wanted && t.effect === 'NoExecute');
    if (missing || kept.length !== taints.length) {
      const next: Taint[] = [...kept, ...(missing ? [{ key: wanted, effect: 'NoExecute' as const, timeAdded: timestamp(now) }] : [])];
      const spec = { ...node.spec };
      if (next.length > 0) spec.taints = next;
      else delete (spec as { taints?: readonly Taint[] }).taints;
      const r = await this.store.update<Node>({ ...node, spec });
      if (!r.ok) throw r.error;
      node = r.value;
    }

    // 3. Pods: mark them not ready on an unreachable node; evict those whose tolerations ran out.
    const pods = this.pods.list((p) => p.spec.nodeName === name && p.metadata.deletionTimestamp === undefined);
    if (status === 'Unknown') {
      for (const pod of pods) {
        const conds = pod.status?.conditions ?? [];
        if (!conds.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
        const conditions = conds.map((c) => (c.type === 'Ready' ? { ...c, status: 'False' as const, lastTransitionTime: timestamp(now) } : c));
        const r = await this.store.updateStatus<Pod>({ ...pod, status: { ...pod.status, conditions } });
        if (!r.ok && r.error.reason !== 'NotFound') throw r.error;
      }
    }
    const noExecute = (node.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute');
    if (noExecute.length === 0) for (const pod of pods) this.scheduled.delete(pod.metadata.uid ?? '');
    for (const k of [...this.firstSeen.keys()]) {
      if (k.startsWith(`${name}/`) && !noExecute.some((t) => k === `${name}/${t.key}/${t.effect}`)) this.firstSeen.delete(k);
    }
    if (noExecute.length > 0) {
      const added = (t: Taint): number => {
        const at = t.timeAdded === undefined ? NaN : Date.parse(t.timeAdded);
        if (!Number.isNaN(at)) return at;
        const k = `${name}/${t.key}/${t.effect}`;
        if (!this.firstSeen.has(k)) this.firstSeen.set(k, now);
        return this.firstSeen.get(k) as number;
      };
      for (const pod of pods) {
        const uid = pod.metadata.uid ?? '';
        let at = evictionTime(effectiveTolerations(pod.spec.tolerations ?? [], this.evictionTimeout), noExecute, added);
        if (at === undefined) {
          this.scheduled.delete(uid);
          continue;
        }
        // kube's taint manager keeps an eviction already scheduled when the taints change
        // (not-ready swapped for unreachable when a dead node's heartbeat goes stale):
        // the pod goes at the earlier time, not at a fresh toleration from the new taint.
        const before = this.scheduled.get(uid);
        if (before !== undefined && before < at) at = before;
        this.scheduled.set(uid, at);
        if (now >= at) {
          const r = await this.store.delete({ kind: 'Pod', namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name ?? '' }, { preconditions: { ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}) } });
          if (!r.ok && r.error.reason !== 'NotFound' && r.error.reason !== 'Conflict') throw r.error;
          this.scheduled.delete(uid);
        } else wake = Math.min(wake, at);
      }
    }
    return wake === Infinity ? undefined : { requeueAfter: wake - now };
  }

  /**
   * Pods bound to a node that does not exist (deleted, or never registered) are deleted
   * once it has been missing for `nodeMonitorGracePeriod` (kube's pod GC, with its 40 s
   * quarantine), so their owners replace them.
   */
  private async collectOrphans(name: string): Promise<ReconcileResult> {
    const pods = this.pods.list((p) => p.spec.nodeName === name && p.metadata.deletionTimestamp === undefined);
    if (pods.length === 0) {
      this.missingSince.delete(name);
      return;
    }
    const now = this.clock.now();
    const since = this.missingSince.get(name) ?? now;
    this.missingSince.set(name, since);
    if (now < since + this.grace) return { requeueAfter: since + this.grace - now };
    for (const pod of pods) {
      const r = await this.store.delete({ kind: 'Pod', namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name ?? '' }, { preconditions: { ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}) } });
      if (!r.ok && r.error.reason !== 'NotFound' && r.error.reason !== 'Conflict') throw r.error;
    }
    this.missingSince.delete(name);
  }
}

function readyCondition(node: Node): NodeCondition | undefined {
  return node.status?.conditions?.find((c) => c.type === 'Ready');
}

/** Every condition of `node` set to Unknown, as kube's node lifecycle controller does when the kubelet goes quiet. */
function unknownConditions(node: Node, now: number): NodeCondition[] {
  const at = timestamp(now);
  const conditions = node.status?.conditions ?? [];
  const neverUpdated = !conditions.some((c) => c.type === 'Ready');
  const out = conditions.map((c) =>
    c.status === 'Unknown'
      ? c
      : { ...c, status: 'Unknown' as const, reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: at },
  );
  if (neverUpdated) out.push({ type: 'Ready', status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastHeartbeatTime: node.metadata.creationTimestamp ?? at, lastTransitionTime: at });
  return out;
}

/**
 * The pod's tolerations plus the ones DefaultTolerationSeconds would have added: a
 * not-ready (and an unreachable) NoExecute toleration of `timeout` ms unless one of the
 * pod's tolerations has that key (or none) and that effect (or none).
 */
export function effectiveTolerations(tolerations: readonly Toleration[], timeout: number): Toleration[] {
  const covers = (key: string): boolean => tolerations.some((t) => (!t.key || t.key === key) && (!t.effect || t.effect === 'NoExecute'));
  const out = [...tolerations];
  const seconds = Math.ceil(timeout / 1000);
  for (const key of [NOT_READY_TAINT_KEY, UNREACHABLE_TAINT_KEY]) {
    if (!covers(key)) out.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds });
  }
  return out;
}

/**
 * When a pod with `tolerations` must leave a node with NoExecute `taints`: now-ish (the
 * earliest taint's time) if one is not tolerated; else the earliest `added(taint) +
 * tolerationSeconds` over the tolerations used; undefined if every one tolerates forever.
 */
export function evictionTime(tolerations: readonly Toleration[], taints: readonly Taint[], added: (t: Taint) => number): number | undefined {
  let at: number | undefined;
  for (const taint of taints) {
    const used = tolerations.filter((t) => toleratesTaint(t, taint));
    const start = added(taint);
    if (used.length === 0) {
      at = Math.min(at ?? start, start);
      continue;
    }
    for (const t of used) {
      if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
      const end = start + Math.max(0, t.tolerationSeconds) * 1000;
      at = Math.min(at ?? end, end);
    }
  }
  return at;
}

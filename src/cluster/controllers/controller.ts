/**
 * What the workload controllers (ReplicaSet, Deployment, Job, HPA) share: the
 * `Controller` lifecycle, a base class wiring informers to a work queue, and the pod
 * predicates Kubernetes' controller utilities define (ready, available, active, the
 * order in which a controller deletes pods).
 *
 * Lifecycle: `start()` lists and watches (the caches are full when it resolves) and
 * queues every object once; from then on each change queues the key of the object it
 * concerns, and `reconcile(key)` runs — at most once at a time per key, retried with
 * back-off when it throws. `whenIdle()` resolves once nothing is queued or running (keys
 * waiting on a timer, such as a sync period, do not count). `stop()` stops watching and
 * drops queued keys; it resolves once a reconcile already running has finished.
 *
 * Reconciles read the store, not the informers' caches: reads are synchronous and see
 * every committed write, so a controller never acts on its own stale view (Kubernetes
 * needs "expectations" for that; a store in the same process does not). The informers
 * only say which key to look at (STYLE §4).
 */
import type { KubeObject, OwnerReference } from '../api/types.js';
import type { Clock } from '../clock.js';
import type { Pod, PodTemplateSpec } from '../objects/index.js';
import { withDefaults } from '../objects/index.js';
import type { Store } from '../store/store.js';
import { EventRecorder } from './events.js';
import { whenQueueIdle } from './idle.js';
import { Informer, type InformerHandler, type ReconcileResult, WorkQueue } from './informer.js';

export interface Controller {
  /** For logs and errors: `replicaset`, `deployment`, `job`, `horizontalpodautoscaler`. */
  readonly name: string;
  /** Lists, watches and queues every existing object. Idempotent. */
  start(): Promise<void>;
  /** Stops watching and processing. Idempotent. */
  stop(): Promise<void>;
  /** Resolves when no key is queued or being reconciled (timers do not count). */
  whenIdle(): Promise<void>;
}

export interface ControllerOptions {
  readonly store: Store;
  readonly clock: Clock;
  /** A reconcile that threw (it is retried with back-off). Default: console.error. */
  readonly onError?: (key: string, error: unknown) => void;
}

/** The informer + work queue plumbing of a controller; subclasses say what to watch and how to reconcile. */
export abstract class QueueController implements Controller {
  abstract readonly name: string;
  protected readonly store: Store;
  protected readonly clock: Clock;
  protected readonly queue: WorkQueue;
  /** Events about the objects it manages (`kubectl describe`), from `<component>`. */
  protected readonly events: EventRecorder;
  private readonly informers: { informer: Informer<KubeObject>; handler: InformerHandler<KubeObject> }[] = [];
  private started = false;

  /** `component`: the Events' source, e.g. `replicaset-controller`. */
  constructor(options: ControllerOptions, component: string) {
    this.store = options.store;
    this.clock = options.clock;
    this.events = new EventRecorder(options.store, options.clock, component);
    this.queue = new WorkQueue((key) => this.reconcile(key), {
      clock: options.clock,
      ...(options.onError !== undefined ? { onError: options.onError } : {}),
    });
  }

  /** One reconcile of `namespace/name`: read the state, make one step toward the desired state. */
  protected abstract reconcile(key: string): Promise<ReconcileResult>;

  /** Registers an informer of `kind` whose events go to `handler` (call before start). */
  protected watch<T extends KubeObject>(kind: string, handler: InformerHandler<T>): Informer<T> {
    const informer = new Informer<T>(this.store, kind);
    this.informers.push({ informer: informer as unknown as Informer<KubeObject>, handler: handler as unknown as InformerHandler<KubeObject> });
    return informer;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const { informer, handler } of this.informers) {
      informer.on(handler);
      await informer.start();
    }
  }

  async stop(): Promise<void> {
    this.queue.stop();
    await Promise.all(this.informers.map(({ informer }) => informer.stop()));
    await this.queue.whenIdle(); // a reconcile already running finishes before the store may close
  }

  whenIdle(): Promise<void> {
    return whenQueueIdle(this.queue);
  }
}

// ---------------------------------------------------------------- owner references

/** The ownerReference with `controller: true`, if any (metav1.GetControllerOf). */
export function controllerRef(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** A controller reference to `owner` (metav1.NewControllerRef). */
export function newControllerRef(owner: KubeObject): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name ?? '', uid: owner.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

/** `namespace/name` of the object `ref` names, in `obj`'s namespace. */
export function ownerKey(obj: KubeObject, ref: OwnerReference): string {
  const ns = obj.metadata.namespace ?? '';
  return ns === '' ? ref.name : `${ns}/${ref.name}`;
}

// ---------------------------------------------------------------- pods

/** The pod's Ready condition is True (podutil.IsPodReady). */
export function isPodReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** When the pod last became Ready (ms), if it is ready and says when. */
function readySince(pod: Pod): number | undefined {
  const c = pod.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True');
  return c?.lastTransitionTime !== undefined ? Date.parse(c.lastTransitionTime) : undefined;
}

/**
 * Ready for at least `minReadySeconds` at `now` (podutil.IsPodAvailable). A ready pod
 * whose condition has no lastTransitionTime counts as ready long enough.
 */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const since = readySince(pod);
  return since === undefined || since + minReadySeconds * 1000 <= now;
}

/** Ms until a ready pod becomes available, or undefined if it is not ready or already available. */
export function untilAvailable(pod: Pod, minReadySeconds: number, now: number): number | undefined {
  if (!isPodReady(pod) || minReadySeconds <= 0) return undefined;
  const since = readySince(pod);
  if (since === undefined) return undefined;
  const left = since + minReadySeconds * 1000 - now;
  return left > 0 ? left : undefined;
}

/** Not finished and not being deleted (controller.IsPodActive). */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && pod.metadata.deletionTimestamp === undefined;
}

const PHASE_RANK: Readonly<Record<string, number>> = { Pending: 0, Unknown: 1, Running: 2 };

/**
 * The order in which a controller deletes pods, first to go first (controller.ActivePods'
 * Less): unscheduled before scheduled; Pending before Unknown before Running; not ready
 * before ready; ready for less time before more; more container restarts before fewer;
 * newer before older. Ties: by name, so the order is deterministic.
 */
export function compareForDeletion(a: Pod, b: Pod): number {
  const an = a.spec?.nodeName ? 1 : 0;
  const bn = b.spec?.nodeName ? 1 : 0;
  if (an !== bn) return an - bn;
  const ap = PHASE_RANK[a.status?.phase ?? 'Pending'] ?? 0;
  const bp = PHASE_RANK[b.status?.phase ?? 'Pending'] ?? 0;
  if (ap !== bp) return ap - bp;
  const ar = isPodReady(a) ? 1 : 0;
  const br = isPodReady(b) ? 1 : 0;
  if (ar !== br) return ar - br;
  if (ar === 1) {
    const as = readySince(a) ?? 0;
    const bs = readySince(b) ?? 0;
    if (as !== bs) return bs - as; // became ready later = ready for less time: first
  }
  const restarts = (p: Pod) => Math.max(0, ...(p.status?.containerStatuses ?? []).map((s) => s.restartCount));
  if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
  const at = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const bt = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  if (at !== bt) return bt - at;
  return (b.metadata.name ?? '').localeCompare(a.metadata.name ?? '');
}

// ---------------------------------------------------------------- conditions and equality

/** A status condition as the workload kinds share it. */
export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string;
  readonly lastUpdateTime?: string;
}

/**
 * `conditions` with `cond` set: a condition of the same type, status and reason is kept
 * as it is; the same status keeps its lastTransitionTime (Kubernetes' SetCondition).
 */
export function setCondition<C extends Condition>(conditions: readonly C[] | undefined, cond: C): C[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === cond.type);
  if (i < 0) return [...list, cond];
  const old = list[i]!;
  if (old.status === cond.status && old.reason === cond.reason) return list;
  list[i] = old.status === cond.status && old.lastTransitionTime !== undefined ? { ...cond, lastTransitionTime: old.lastTransitionTime } : cond;
  return list;
}

export function getCondition<C extends Condition>(conditions: readonly C[] | undefined, type: string): C | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Deep equality of plain JSON data, ignoring key order and undefined members. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** JSON with object keys sorted (undefined members dropped): equal data, equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x === undefined ? null : x)).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** A Conflict or NotFound from a write: someone else changed the object; look again. */
export function isRetryable(error: { readonly reason: string }): boolean {
  return error.reason === 'Conflict' || error.reason === 'NotFound' || error.reason === 'AlreadyExists';
}

/**
 * A pod from `template`, controlled by `owner` (controller.GetPodFromTemplate): the
 * template's labels (plus `extraLabels`) and annotations, `generateName` `<owner>-`,
 * and the API server's defaults, since the store does not apply them.
 */
export function podFromTemplate(template: PodTemplateSpec, owner: KubeObject, extraLabels: Readonly<Record<string, string>> = {}): Pod {
  const labels = { ...(template.metadata?.labels ?? {}), ...extraLabels };
  const annotations = template.metadata?.annotations;
  const finalizers = template.metadata?.finalizers;
  return withDefaults<Pod>({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${owner.metadata.name ?? ''}-`,
      namespace: owner.metadata.namespace ?? 'default',
      labels,
      ...(annotations !== undefined ? { annotations } : {}),
      ...(finalizers !== undefined ? { finalizers } : {}),
      ownerReferences: [newControllerRef(owner)],
    },
    spec: template.spec,
  });
}

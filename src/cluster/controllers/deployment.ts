/**
 * The Deployment controller (kube-controller-manager's pkg/controller/deployment) and
 * `rollback` (`kubectl rollout undo`).
 *
 * Words (Kubernetes'): a Deployment owns ReplicaSets named `<deployment>-<hash>`, where
 * the hash (label `pod-template-hash`, also added to the ReplicaSet's selector and
 * template) is a deterministic hash of the pod template. The *new* ReplicaSet is the one
 * whose template equals the Deployment's (ignoring that label); every other is *old*.
 * Each ReplicaSet carries a *revision* (annotation `deployment.kubernetes.io/revision`):
 * the new one gets one more than the highest old one, and the Deployment is annotated
 * with its new ReplicaSet's revision.
 *
 * One reconcile (syncDeployment):
 *   - claim ReplicaSets (adopt matching orphans, release non-matching ones);
 *   - paused, or a *scaling event* (an active ReplicaSet was sized for another
 *     `spec.replicas`, annotation `deployment.kubernetes.io/desired-replicas`): resize
 *     the ReplicaSets (proportionally when a rollout is in progress), no rollout;
 *   - Recreate: scale every old ReplicaSet to 0, wait until none of their pods runs,
 *     then create / scale the new one to `spec.replicas`;
 *   - RollingUpdate: scale the new ReplicaSet up while the total of all ReplicaSets'
 *     `spec.replicas` stays ≤ replicas + maxSurge, and old ones down while the available
 *     pods stay ≥ replicas − maxUnavailable (maxSurge rounds a percentage up,
 *     maxUnavailable down; both 0 makes maxUnavailable 1);
 *   - once complete, delete old ReplicaSets with no replicas beyond revisionHistoryLimit;
 *   - status: replicas, updatedReplicas, readyReplicas, availableReplicas,
 *     unavailableReplicas, observedGeneration, and the conditions Available
 *     (MinimumReplicasAvailable / MinimumReplicasUnavailable) and Progressing
 *     (NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable,
 *     ProgressDeadlineExceeded once `lastUpdateTime` + progressDeadlineSeconds has passed
 *     with no progress — checked at that moment of cluster time; DeploymentPaused /
 *     DeploymentResumed), and ReplicaFailure copied from a ReplicaSet whose pods cannot be
 *     created.
 * A write that conflicts ends the reconcile, which runs again at once on fresh state.
 *
 * Events: ScalingReplicaSet (`Scaled up replica set web-5d8b9c7f6 from 0 to 3`).
 *
 * Not done: copying the Deployment's annotations to its
 * ReplicaSets, the `revision-history` annotation.
 */
import { ApiError } from '../api/types.js';
import { timestamp } from '../clock.js';
import type { Deployment, DeploymentCondition, DeploymentStatus, Pod, PodTemplateSpec, ReplicaSet } from '../objects/index.js';
import { labelSelectorMatches, scaledValueFromIntOrPercent, withDefaults } from '../objects/index.js';
import type { ObjectReader, ObjectWriter, Result } from '../store/store.js';
import {
  type ControllerOptions,
  QueueController,
  canonicalJson,
  controllerRef,
  getCondition,
  isPodActive,
  isRetryable,
  jsonEqual,
  newControllerRef,
  ownerKey,
  setCondition,
} from './controller.js';
import type { EventRecorder } from './events.js';
import { type ReconcileResult, objectKey, splitKey } from './informer.js';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

/** Thrown inside a reconcile when a write conflicted: the reconcile is retried at once. */
class Retry extends Error {}

// ---------------------------------------------------------------- pure helpers

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * The `pod-template-hash` of a template (controller.ComputeHash): FNV-1a (32 bit) of the
 * template's canonical JSON and the collision count, its decimal digits mapped onto
 * Kubernetes' vowel-free alphabet (rand.SafeEncodeString). Deterministic.
 */
export function podTemplateHash(template: PodTemplateSpec, collisionCount?: number): string {
  const text = canonicalJson(template) + (collisionCount !== undefined ? `#${collisionCount}` : '');
  let h = 0x811c9dc5;
  const bytes = new TextEncoder().encode(text);
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((c) => SAFE_ALPHABET[c.charCodeAt(0) % SAFE_ALPHABET.length]).join('');
}

/** The template without the `pod-template-hash` label. */
function withoutHash(t: PodTemplateSpec | undefined): PodTemplateSpec | undefined {
  if (t === undefined) return undefined;
  const labels = { ...(t.metadata?.labels ?? {}) };
  delete labels[POD_TEMPLATE_HASH_LABEL];
  return { ...t, metadata: { ...(t.metadata ?? {}), labels } };
}

/** Templates equal but for the hash label (deploymentutil.EqualIgnoreHash). */
function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  return jsonEqual(withoutHash(a), withoutHash(b));
}

/**
 * maxSurge and maxUnavailable as pod counts (deploymentutil.ResolveFenceposts): a
 * percentage of `spec.replicas`, surge rounded up and unavailable down; both 0 makes
 * unavailable 1. Recreate: both 0.
 */
export function resolveFenceposts(d: Deployment): { maxSurge: number; maxUnavailable: number } {
  // The defaults inline (an absent type is RollingUpdate, absent fenceposts 25%, absent
  // replicas 1): this runs several times per reconcile, and withDefaults copies the object.
  const spec = d.spec;
  if (spec.strategy?.type === 'Recreate') return { maxSurge: 0, maxUnavailable: 0 };
  const replicas = spec.replicas ?? 1;
  const surge = scaledValueFromIntOrPercent(spec.strategy?.rollingUpdate?.maxSurge ?? '25%', replicas, true) ?? 0;
  const unavailable = scaledValueFromIntOrPercent(spec.strategy?.rollingUpdate?.maxUnavailable ?? '25%', replicas, false) ?? 0;
  if (surge === 0 && unavailable === 0) return { maxSurge: 0, maxUnavailable: 1 };
  return { maxSurge: surge, maxUnavailable: unavailable };
}

/** deploymentutil.MaxUnavailable: never more than replicas (0 for Recreate or no replicas). */
function maxUnavailable(d: Deployment): number {
  const replicas = d.spec.replicas ?? 1;
  if (d.spec.strategy?.type === 'Recreate' || replicas === 0) return 0;
  return Math.min(resolveFenceposts(d).maxUnavailable, replicas);
}

function maxSurge(d: Deployment): number {
  return d.spec.strategy?.type === 'Recreate' ? 0 : resolveFenceposts(d).maxSurge;
}

/** The revision annotation as a number (0 when absent or malformed). */
export function revisionOf(obj: { readonly metadata: { readonly annotations?: Readonly<Record<string, string>> } }): number {
  const v = Number(obj.metadata.annotations?.[REVISION_ANNOTATION] ?? '0');
  return Number.isInteger(v) && v > 0 ? v : 0;
}

const replicasOf = (rs: ReplicaSet) => rs.spec.replicas ?? 1;
const sum = (rss: readonly ReplicaSet[], f: (rs: ReplicaSet) => number) => rss.reduce((n, rs) => n + f(rs), 0);
const created = (rs: ReplicaSet) => Date.parse(rs.metadata.creationTimestamp ?? '') || 0;
/** Oldest first; ties by name (controller.ReplicaSetsByCreationTimestamp). */
const byCreation = (a: ReplicaSet, b: ReplicaSet) => created(a) - created(b) || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
const isActive = (rs: ReplicaSet) => replicasOf(rs) > 0;
const annotationInt = (rs: ReplicaSet, key: string): number | undefined => {
  const v = rs.metadata.annotations?.[key];
  return v === undefined || !/^\d+$/.test(v) ? undefined : Number(v);
};

/** The new ReplicaSet (the oldest whose template matches) and the old ones. */
function splitReplicaSets(d: Deployment, rsList: readonly ReplicaSet[]): { newRS: ReplicaSet | undefined; oldRSs: ReplicaSet[] } {
  const newRS = [...rsList].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
  return { newRS, oldRSs: rsList.filter((rs) => rs !== newRS) };
}

function deploymentComplete(d: Deployment, status: DeploymentStatus): boolean {
  const replicas = d.spec.replicas ?? 1;
  return (
    status.updatedReplicas === replicas &&
    status.replicas === replicas &&
    status.availableReplicas === replicas &&
    (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  );
}

function hasProgressDeadline(d: Deployment): boolean {
  const s = d.spec.progressDeadlineSeconds;
  return s !== undefined && s !== 2147483647;
}

// ---------------------------------------------------------------- the controller

export class DeploymentController extends QueueController {
  readonly name = 'deployment';
  private readonly deployments;

  constructor(options: ControllerOptions) {
    super(options, 'deployment-controller');
    this.deployments = this.watch<Deployment>('Deployment', (_type, d) => this.queue.add(objectKey(d)));
    this.watch<ReplicaSet>('ReplicaSet', (_type, rs, old) => {
      for (const r of old !== undefined && old !== rs ? [rs, old] : [rs]) this.enqueueOwner(r);
    });
    // Recreate waits for the old pods to be gone: a pod that finishes or goes wakes its Deployment.
    this.watch<Pod>('Pod', (type, pod) => {
      if (type !== 'DELETED' && isPodActive(pod)) return;
      const ref = controllerRef(pod);
      if (ref?.kind !== 'ReplicaSet') return;
      const rs = this.store.get<ReplicaSet>({ kind: 'ReplicaSet', namespace: pod.metadata.namespace ?? '', name: ref.name });
      if (rs.ok) this.enqueueOwner(rs.value);
    });
  }

  private enqueueOwner(rs: ReplicaSet): void {
    const ref = controllerRef(rs);
    if (ref !== undefined) {
      if (ref.kind === 'Deployment') this.queue.add(ownerKey(rs, ref));
      return;
    }
    const ns = rs.metadata.namespace ?? '';
    for (const d of this.deployments.list((d) => (d.metadata.namespace ?? '') === ns)) {
      if (labelSelectorMatches(d.spec.selector, rs.metadata.labels)) this.queue.add(objectKey(d));
    }
  }

  protected async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const got = this.store.get<Deployment>({ kind: 'Deployment', namespace, name });
    if (!got.ok) {
      if (got.error.reason === 'NotFound') return;
      throw got.error;
    }
    try {
      return await new DeploymentSync(this.store, this.events, this.clock.now(), withDefaults(got.value)).run();
    } catch (e) {
      if (e instanceof Retry) return { requeueAfter: 0 };
      throw e;
    }
  }
}

/** One reconcile of one Deployment; `d` is always the latest version this reconcile wrote or read (defaulted). */
class DeploymentSync {
  constructor(
    private readonly store: ObjectReader & ObjectWriter,
    private readonly events: EventRecorder,
    private readonly now: number,
    private d: Deployment,
  ) {}

  async run(): Promise<ReconcileResult> {
    if (this.d.metadata.deletionTimestamp !== undefined) {
      const { newRS, oldRSs } = splitReplicaSets(this.d, this.owned());
      await this.syncStatus([...oldRSs, ...(newRS ? [newRS] : [])], newRS);
      return;
    }
    const selector = this.d.spec.selector;
    if (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0) {
      // An empty selector would select every pod in the namespace: Kubernetes refuses to act on it.
      await this.writeStatus({ ...(this.d.status ?? {}), observedGeneration: this.d.metadata.generation ?? 0 });
      return;
    }
    await this.claimReplicaSets();
    await this.checkPausedConditions();
    if (this.d.spec.paused === true || this.isScalingEvent()) return this.sync();
    return this.d.spec.strategy?.type === 'Recreate' ? this.rolloutRecreate() : this.rolloutRolling();
  }

  // ------------------------------------------------------------ reading and writing

  private get namespace(): string {
    return this.d.metadata.namespace ?? 'default';
  }

  /** The ReplicaSets this Deployment controls, fresh from the store. */
  private owned(): ReplicaSet[] {
    const r = this.store.list<ReplicaSet>('ReplicaSet', { namespace: this.namespace });
    if (!r.ok) throw r.error;
    return r.value.items.filter((rs) => controllerRef(rs)?.uid === this.d.metadata.uid);
  }

  private check<T>(r: Result<T>): T {
    if (r.ok) return r.value;
    if (isRetryable(r.error)) throw new Retry(r.error.message);
    throw r.error;
  }

  private async writeStatus(status: DeploymentStatus): Promise<void> {
    if (jsonEqual(status, this.d.status)) return;
    this.d = withDefaults(this.check(await this.store.updateStatus<Deployment>({ ...this.d, status })));
  }

  private async setRevision(revision: number): Promise<void> {
    if (revisionOf(this.d) === revision) return;
    const key = { kind: 'Deployment', namespace: this.namespace, name: this.d.metadata.name ?? '' };
    const patch = { metadata: { resourceVersion: this.d.metadata.resourceVersion, annotations: { [REVISION_ANNOTATION]: String(revision) } } };
    this.d = withDefaults(this.check(await this.store.patch<Deployment>(key, patch)));
  }

  private condition(type: string, status: DeploymentCondition['status'], reason: string, message: string): DeploymentCondition {
    const now = timestamp(this.now);
    return { type, status, reason, message, lastUpdateTime: now, lastTransitionTime: now };
  }

  /** Adopts orphans matching the selector and releases owned ReplicaSets that stopped matching (ClaimReplicaSets). */
  private async claimReplicaSets(): Promise<void> {
    const r = this.store.list<ReplicaSet>('ReplicaSet', { namespace: this.namespace });
    if (!r.ok) throw r.error;
    for (const rs of r.value.items) {
      const ref = controllerRef(rs);
      const matches = labelSelectorMatches(this.d.spec.selector, rs.metadata.labels);
      let owners;
      if (ref === undefined && matches && rs.metadata.deletionTimestamp === undefined) owners = [...(rs.metadata.ownerReferences ?? []), newControllerRef(this.d)];
      else if (ref?.uid === this.d.metadata.uid && !matches) owners = (rs.metadata.ownerReferences ?? []).filter((o) => o.uid !== this.d.metadata.uid);
      else continue;
      const key = { kind: 'ReplicaSet', namespace: this.namespace, name: rs.metadata.name ?? '' };
      this.check(await this.store.patch(key, { metadata: { resourceVersion: rs.metadata.resourceVersion, ownerReferences: owners } }));
    }
  }

  /** Sets the replicas and the desired/max annotations of `rs` (scaleReplicaSet); returns it as stored. */
  private async scaleReplicaSet(rs: ReplicaSet, replicas: number): Promise<ReplicaSet> {
    const annotations = {
      ...(rs.metadata.annotations ?? {}),
      [DESIRED_REPLICAS_ANNOTATION]: String(this.d.spec.replicas ?? 1),
      [MAX_REPLICAS_ANNOTATION]: String((this.d.spec.replicas ?? 1) + maxSurge(this.d)),
    };
    if (replicasOf(rs) === replicas && jsonEqual(annotations, rs.metadata.annotations)) return rs;
    const scaled = this.check(await this.store.update<ReplicaSet>({ ...rs, metadata: { ...rs.metadata, annotations }, spec: { ...rs.spec, replicas } }));
    if (replicasOf(rs) !== replicas) await this.scalingEvent(scaled, replicasOf(rs), replicas);
    return scaled;
  }

  private async scalingEvent(rs: ReplicaSet, from: number, to: number): Promise<void> {
    const direction = to > from ? 'up' : 'down';
    await this.events.record(this.d, 'Normal', 'ScalingReplicaSet', `Scaled ${direction} replica set ${rs.metadata.name} from ${from} to ${to}`);
  }

  // ------------------------------------------------------------ new and old ReplicaSets

  /**
   * The new ReplicaSet (created if `create` and missing) and the old ones
   * (getAllReplicaSetsAndSyncRevision): the new one's revision is brought to one above
   * the old ones', and the Deployment's revision annotation follows it.
   */
  private async replicaSets(create: boolean): Promise<{ newRS: ReplicaSet | undefined; oldRSs: ReplicaSet[] }> {
    const { newRS, oldRSs } = splitReplicaSets(this.d, this.owned());
    const newRevision = Math.max(0, ...oldRSs.map(revisionOf)) + 1;
    if (newRS !== undefined) {
      let rs = newRS;
      const minReady = this.d.spec.minReadySeconds ?? 0;
      if (revisionOf(rs) < newRevision || (rs.spec.minReadySeconds ?? 0) !== minReady) {
        const annotations = { ...(rs.metadata.annotations ?? {}), [REVISION_ANNOTATION]: String(Math.max(revisionOf(rs), newRevision)) };
        rs = this.check(await this.store.update<ReplicaSet>({ ...rs, metadata: { ...rs.metadata, annotations }, spec: { ...rs.spec, minReadySeconds: minReady } }));
      }
      await this.setRevision(revisionOf(rs));
      if (hasProgressDeadline(this.d) && getCondition(this.d.status?.conditions, 'Progressing') === undefined) {
        const cond = this.condition('Progressing', 'True', 'FoundNewReplicaSet', `Found new replica set "${rs.metadata.name}"`);
        await this.writeStatus({ ...(this.d.status ?? {}), conditions: setCondition(this.d.status?.conditions, cond) });
      }
      return { newRS: rs, oldRSs };
    }
    if (!create) return { newRS: undefined, oldRSs };

    const collisionCount = this.d.status?.collisionCount;
    const hash = podTemplateHash(this.d.spec.template, collisionCount);
    const template: PodTemplateSpec = {
      ...this.d.spec.template,
      metadata: { ...(this.d.spec.template.metadata ?? {}), labels: { ...(this.d.spec.template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash } },
    };
    const name = `${this.d.metadata.name}-${hash}`;
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace: this.namespace,
        labels: template.metadata?.labels ?? {},
        annotations: {
          [REVISION_ANNOTATION]: String(newRevision),
          [DESIRED_REPLICAS_ANNOTATION]: String(this.d.spec.replicas ?? 1),
          [MAX_REPLICAS_ANNOTATION]: String((this.d.spec.replicas ?? 1) + maxSurge(this.d)),
        },
        ownerReferences: [newControllerRef(this.d)],
      },
      spec: {
        replicas: this.newRSNewReplicas(oldRSs, undefined),
        minReadySeconds: this.d.spec.minReadySeconds ?? 0,
        selector: { ...this.d.spec.selector, matchLabels: { ...(this.d.spec.selector.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash } },
        template,
      },
    };
    const made = await this.store.create(rs);
    if (!made.ok) {
      if (made.error.reason !== 'AlreadyExists') this.check(made);
      const existing = this.store.get<ReplicaSet>({ kind: 'ReplicaSet', namespace: this.namespace, name });
      const ours = existing.ok && controllerRef(existing.value)?.uid === this.d.metadata.uid && equalIgnoreHash(existing.value.spec.template, this.d.spec.template);
      // A ReplicaSet of another template has the name: hash again with the collision count bumped.
      if (!ours) await this.writeStatus({ ...(this.d.status ?? {}), collisionCount: (collisionCount ?? 0) + 1 });
      throw new Retry(`replica set ${name} exists`);
    }
    if (replicasOf(made.value) > 0) await this.scalingEvent(made.value, 0, replicasOf(made.value));
    await this.setRevision(newRevision);
    if (hasProgressDeadline(this.d)) {
      const cond = this.condition('Progressing', 'True', 'NewReplicaSetCreated', `Created new replica set "${name}"`);
      await this.writeStatus({ ...(this.d.status ?? {}), conditions: setCondition(this.d.status?.conditions, cond) });
    }
    return { newRS: made.value, oldRSs };
  }

  /** How big the new ReplicaSet may be now (deploymentutil.NewRSNewReplicas). */
  private newRSNewReplicas(allRSs: readonly ReplicaSet[], newRS: ReplicaSet | undefined): number {
    const replicas = this.d.spec.replicas ?? 1;
    if (this.d.spec.strategy?.type === 'Recreate') return replicas;
    const current = newRS !== undefined ? replicasOf(newRS) : 0;
    const podCount = sum(allRSs, replicasOf);
    const maxTotal = replicas + maxSurge(this.d);
    if (podCount >= maxTotal) return current;
    return current + Math.min(maxTotal - podCount, replicas - current);
  }

  // ------------------------------------------------------------ paused and scaling

  private async checkPausedConditions(): Promise<void> {
    if (!hasProgressDeadline(this.d)) return;
    const cond = getCondition(this.d.status?.conditions, 'Progressing');
    if (cond?.reason === 'ProgressDeadlineExceeded') return;
    const pausedCond = cond?.reason === 'DeploymentPaused';
    let next: DeploymentCondition | undefined;
    if (this.d.spec.paused === true && !pausedCond) next = this.condition('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused');
    else if (this.d.spec.paused !== true && pausedCond) next = this.condition('Progressing', 'Unknown', 'DeploymentResumed', 'Deployment is resumed');
    if (next !== undefined) await this.writeStatus({ ...(this.d.status ?? {}), conditions: setCondition(this.d.status?.conditions, next) });
  }

  /** An active ReplicaSet was sized for another spec.replicas (isScalingEvent). */
  private isScalingEvent(): boolean {
    const replicas = this.d.spec.replicas ?? 1;
    return this.owned()
      .filter(isActive)
      .some((rs) => {
        const desired = annotationInt(rs, DESIRED_REPLICAS_ANNOTATION);
        return desired !== undefined && desired !== replicas;
      });
  }

  /** Resizes without rolling out (sync): for a paused Deployment or a scaling event. */
  private async sync(): Promise<ReconcileResult> {
    const { newRS, oldRSs } = await this.replicaSets(false);
    await this.scale(newRS, oldRSs);
    const fresh = splitReplicaSets(this.d, this.owned());
    if (this.d.spec.paused === true) await this.cleanup(fresh.oldRSs);
    await this.syncStatus(this.owned(), fresh.newRS);
  }

  /** deployment controller's scale(): one active ReplicaSet takes it all; otherwise proportional. */
  private async scale(newRS: ReplicaSet | undefined, oldRSs: readonly ReplicaSet[]): Promise<void> {
    const replicas = this.d.spec.replicas ?? 1;
    const all = [...(newRS ? [newRS] : []), ...oldRSs];
    const active = all.filter(isActive);
    if (active.length <= 1) {
      // FindActiveOrLatest: the one active ReplicaSet, else the new one, else the newest old one.
      const target = active[0] ?? newRS ?? [...oldRSs].sort(byCreation).at(-1);
      if (target !== undefined && replicasOf(target) !== replicas) await this.scaleReplicaSet(target, replicas);
      return;
    }
    if (newRS !== undefined && annotationInt(newRS, DESIRED_REPLICAS_ANNOTATION) === replicas && replicasOf(newRS) === replicas && (newRS.status?.availableReplicas ?? 0) === replicas) {
      for (const old of oldRSs.filter(isActive)) await this.scaleReplicaSet(old, 0);
      return;
    }
    if (this.d.spec.strategy?.type === 'Recreate') return;
    const allowed = replicas > 0 ? replicas + maxSurge(this.d) : 0;
    const toAdd = allowed - sum(active, replicasOf);
    // Larger first; ties: newer first when adding, older first when removing.
    const sorted = [...active].sort((a, b) => replicasOf(b) - replicasOf(a) || (toAdd > 0 ? byCreation(b, a) : byCreation(a, b)));
    const sizes = new Map<ReplicaSet, number>();
    let added = 0;
    for (const rs of sorted) {
      const proportion = toAdd === 0 ? 0 : this.proportion(rs, toAdd, added);
      sizes.set(rs, replicasOf(rs) + proportion);
      added += proportion;
    }
    for (const [i, rs] of sorted.entries()) {
      let size = sizes.get(rs) ?? replicasOf(rs);
      if (i === 0 && toAdd !== 0) size = Math.max(0, size + toAdd - added); // leftovers to the largest
      await this.scaleReplicaSet(rs, size);
    }
  }

  /** deploymentutil.GetProportion. */
  private proportion(rs: ReplicaSet, toAdd: number, added: number): number {
    if (replicasOf(rs) === 0 || toAdd === added) return 0;
    const replicas = this.d.spec.replicas ?? 1;
    let fraction: number;
    if (replicas === 0) fraction = -replicasOf(rs);
    else {
      const annotated = annotationInt(rs, MAX_REPLICAS_ANNOTATION) ?? this.d.status?.replicas ?? 0;
      fraction = annotated === 0 ? 0 : Math.round((replicasOf(rs) * (replicas + maxSurge(this.d))) / annotated) - replicasOf(rs);
    }
    const allowed = toAdd - added;
    return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
  }

  // ------------------------------------------------------------ strategies

  private async rolloutRecreate(): Promise<ReconcileResult> {
    let { newRS, oldRSs } = await this.replicaSets(false);
    let scaledDown = false;
    for (const old of oldRSs.filter(isActive)) {
      await this.scaleReplicaSet(old, 0);
      scaledDown = true;
    }
    if (scaledDown || this.oldPodsRunning(newRS, oldRSs)) return this.syncRolloutStatus(newRS);
    if (newRS === undefined) ({ newRS, oldRSs } = await this.replicaSets(true));
    if (newRS !== undefined) newRS = await this.scaleReplicaSet(newRS, this.d.spec.replicas ?? 1);
    if (deploymentComplete(this.d, this.calculateStatus(this.owned(), newRS))) await this.cleanup(oldRSs);
    return this.syncRolloutStatus(newRS);
  }

  /** Pods of old ReplicaSets still exist and have not finished (oldPodsRunning). */
  private oldPodsRunning(newRS: ReplicaSet | undefined, oldRSs: readonly ReplicaSet[]): boolean {
    if (sum(oldRSs, (rs) => rs.status?.replicas ?? 0) > 0) return true;
    const oldUids = new Set(oldRSs.map((rs) => rs.metadata.uid));
    const pods = this.store.list<Pod>('Pod', { namespace: this.namespace });
    if (!pods.ok) throw pods.error;
    return pods.value.items.some((p) => {
      const uid = controllerRef(p)?.uid;
      if (uid === undefined || uid === newRS?.metadata.uid || !oldUids.has(uid)) return false;
      return p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
    });
  }

  private async rolloutRolling(): Promise<ReconcileResult> {
    const { newRS, oldRSs } = await this.replicaSets(true);
    if (newRS === undefined) return;
    if (await this.reconcileNewReplicaSet(newRS, oldRSs)) return this.syncRolloutStatus(this.freshNew(newRS));
    if (await this.reconcileOldReplicaSets(this.freshNew(newRS), this.freshOld(oldRSs))) return this.syncRolloutStatus(this.freshNew(newRS));
    const fresh = this.freshNew(newRS);
    if (deploymentComplete(this.d, this.calculateStatus(this.owned(), fresh))) await this.cleanup(this.freshOld(oldRSs));
    return this.syncRolloutStatus(fresh);
  }

  private freshNew(rs: ReplicaSet): ReplicaSet {
    return this.owned().find((r) => r.metadata.uid === rs.metadata.uid) ?? rs;
  }

  private freshOld(oldRSs: readonly ReplicaSet[]): ReplicaSet[] {
    const uids = new Set(oldRSs.map((r) => r.metadata.uid));
    return this.owned().filter((r) => uids.has(r.metadata.uid));
  }

  /** Scales the new ReplicaSet toward spec.replicas within maxSurge; true if it changed it. */
  private async reconcileNewReplicaSet(newRS: ReplicaSet, oldRSs: readonly ReplicaSet[]): Promise<boolean> {
    const replicas = this.d.spec.replicas ?? 1;
    if (replicasOf(newRS) === replicas) return false;
    const target = replicasOf(newRS) > replicas ? replicas : this.newRSNewReplicas([...oldRSs, newRS], newRS);
    if (target === replicasOf(newRS)) return false;
    await this.scaleReplicaSet(newRS, target);
    return true;
  }

  /** Scales old ReplicaSets down as far as availability allows, unhealthy ones first; true if it changed any. */
  private async reconcileOldReplicaSets(newRS: ReplicaSet, oldRSs: ReplicaSet[]): Promise<boolean> {
    if (sum(oldRSs, replicasOf) === 0) return false;
    const replicas = this.d.spec.replicas ?? 1;
    const minAvailable = replicas - maxUnavailable(this.d);
    const allPods = sum(oldRSs, replicasOf) + replicasOf(newRS);
    const newUnavailable = replicasOf(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = allPods - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;

    // cleanupUnhealthyReplicas: old pods that are not available go first.
    let cleaned = 0;
    const olds = [...oldRSs].sort(byCreation);
    for (const [i, rs] of olds.entries()) {
      if (cleaned >= maxScaledDown) break;
      const available = rs.status?.availableReplicas ?? 0;
      if (replicasOf(rs) === 0 || replicasOf(rs) === available) continue;
      const n = Math.min(maxScaledDown - cleaned, replicasOf(rs) - available);
      olds[i] = await this.scaleReplicaSet(rs, replicasOf(rs) - n);
      cleaned += n;
    }

    // scaleDownOldReplicaSetsForRollingUpdate: then as many available ones as minAvailable allows.
    const available = sum([...olds, newRS], (rs) => rs.status?.availableReplicas ?? 0);
    let scaled = 0;
    if (available > minAvailable) {
      const total = available - minAvailable;
      for (const rs of olds) {
        if (scaled >= total) break;
        if (replicasOf(rs) === 0) continue;
        const n = Math.min(replicasOf(rs), total - scaled);
        await this.scaleReplicaSet(rs, replicasOf(rs) - n);
        scaled += n;
      }
    }
    return cleaned + scaled > 0;
  }

  /** Deletes old ReplicaSets beyond revisionHistoryLimit, oldest revision first, if they have no pods (cleanupDeployment). */
  private async cleanup(oldRSs: readonly ReplicaSet[]): Promise<void> {
    const limit = this.d.spec.revisionHistoryLimit;
    if (limit === undefined) return;
    const cleanable = oldRSs.filter((rs) => rs.metadata.deletionTimestamp === undefined);
    const diff = cleanable.length - limit;
    if (diff <= 0) return;
    const sorted = [...cleanable].sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
    for (const rs of sorted.slice(0, diff)) {
      if ((rs.status?.replicas ?? 0) !== 0 || replicasOf(rs) !== 0 || (rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
      const r = await this.store.delete({ kind: 'ReplicaSet', namespace: this.namespace, name: rs.metadata.name ?? '' }, { preconditions: { uid: rs.metadata.uid ?? '' } });
      if (!r.ok && !isRetryable(r.error)) throw r.error;
    }
  }

  // ------------------------------------------------------------ status

  private calculateStatus(allRSs: readonly ReplicaSet[], newRS: ReplicaSet | undefined): DeploymentStatus {
    const available = sum(allRSs, (rs) => rs.status?.availableReplicas ?? 0);
    const replicas = this.d.spec.replicas ?? 1;
    const cond =
      available >= replicas - maxUnavailable(this.d)
        ? this.condition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.')
        : this.condition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.');
    // ReplicaFailure: the first ReplicaSet (new one first) whose pods cannot be created.
    const failed = [...(newRS ? [newRS] : []), ...allRSs].map((rs) => getCondition(rs.status?.conditions, 'ReplicaFailure')).find((c) => c?.status === 'True');
    let conditions = setCondition(this.d.status?.conditions, cond);
    if (failed !== undefined) conditions = setCondition(conditions, this.condition('ReplicaFailure', 'True', failed.reason ?? 'FailedCreate', failed.message ?? ''));
    else conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
    const status: DeploymentStatus = {
      observedGeneration: this.d.metadata.generation ?? 0,
      replicas: sum(allRSs, (rs) => rs.status?.replicas ?? 0),
      updatedReplicas: newRS?.status?.replicas ?? 0,
      readyReplicas: sum(allRSs, (rs) => rs.status?.readyReplicas ?? 0),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, sum(allRSs, replicasOf) - available),
      conditions,
    };
    const collisionCount = this.d.status?.collisionCount;
    return collisionCount !== undefined ? { ...status, collisionCount } : status;
  }

  /** syncDeploymentStatus: the status, without progress conditions. */
  private async syncStatus(allRSs: readonly ReplicaSet[], newRS: ReplicaSet | undefined): Promise<void> {
    await this.writeStatus(this.calculateStatus(allRSs, newRS));
  }

  /**
   * syncRolloutStatus: the status with the Progressing condition, then, if the rollout
   * is neither complete nor timed out, a requeue for the moment its deadline passes.
   */
  private async syncRolloutStatus(newRS: ReplicaSet | undefined): Promise<ReconcileResult> {
    const all = this.owned();
    const fresh = newRS !== undefined ? all.find((r) => r.metadata.uid === newRS.metadata.uid) : undefined;
    let status = this.calculateStatus(all, fresh);
    const current = getCondition(this.d.status?.conditions, 'Progressing');
    const deadline = (this.d.spec.progressDeadlineSeconds ?? 600) * 1000;
    const rsName = fresh?.metadata.name ?? '';
    const complete = status.replicas === status.updatedReplicas && current?.reason === 'NewReplicaSetAvailable';
    if (!hasProgressDeadline(this.d)) status = { ...status, conditions: (status.conditions ?? []).filter((c) => c.type !== 'Progressing') };
    else if (!complete) {
      let next: DeploymentCondition | undefined;
      if (deploymentComplete(this.d, status)) {
        next = this.condition('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${rsName}" has successfully progressed.`);
      } else if (this.progressing(status)) {
        const cond = this.condition('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${rsName}" is progressing.`);
        // Progress refreshes lastUpdateTime even with the same reason: drop the old condition first.
        const keep = current?.status === 'True' && current.lastTransitionTime !== undefined ? { ...cond, lastTransitionTime: current.lastTransitionTime } : cond;
        status = { ...status, conditions: [...(status.conditions ?? []).filter((c) => c.type !== 'Progressing'), keep] };
      } else if (this.timedOut(current, deadline)) {
        next = this.condition('Progressing', 'False', 'ProgressDeadlineExceeded', `ReplicaSet "${rsName}" has timed out progressing.`);
      }
      if (next !== undefined) status = { ...status, conditions: setCondition(status.conditions, next) };
    }
    await this.writeStatus(status);
    // requeueStuckDeployment: look again when the deadline passes with no progress.
    const cond = getCondition(this.d.status?.conditions, 'Progressing');
    if (!hasProgressDeadline(this.d) || cond === undefined || deploymentComplete(this.d, status) || cond.reason === 'ProgressDeadlineExceeded') return;
    if (cond.reason === 'DeploymentPaused' || cond.lastUpdateTime === undefined) return;
    // kube requeues (rate-limited) when the deadline is less than a second away; here: a
    // second after the deadline, so that the next look sees it passed (a requeue "now"
    // would spin until cluster time moves, which under a FakeClock it never does by itself).
    const after = Date.parse(cond.lastUpdateTime) + deadline - this.now;
    return { requeueAfter: Math.max(0, after) + 1000 };
  }

  /** deploymentutil.DeploymentProgressing: more updated, fewer old, more ready or more available pods. */
  private progressing(next: DeploymentStatus): boolean {
    const old = this.d.status ?? {};
    const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
    const newOld = (next.replicas ?? 0) - (next.updatedReplicas ?? 0);
    return (
      (next.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
      newOld < oldOld ||
      (next.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
      (next.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
    );
  }

  /** deploymentutil.DeploymentTimedOut: the Progressing condition's lastUpdateTime + deadline is in the past. */
  private timedOut(cond: DeploymentCondition | undefined, deadline: number): boolean {
    if (cond === undefined || cond.reason === 'NewReplicaSetAvailable') return false;
    if (cond.reason === 'ProgressDeadlineExceeded') return true;
    if (cond.lastUpdateTime === undefined) return false;
    return Date.parse(cond.lastUpdateTime) + deadline < this.now;
  }
}

// ---------------------------------------------------------------- rollback

export interface RollbackResult {
  readonly deployment: Deployment;
  /** The revision whose template the Deployment now has. */
  readonly revision: number;
  /** True when the Deployment already had that template (nothing was written). */
  readonly skipped: boolean;
}

/**
 * `kubectl rollout undo [--to-revision=N]`: copies the pod template of the ReplicaSet
 * with revision `toRevision` (default: the revision before the current one) into the
 * Deployment; the controller then rolls it out like any template change (the old
 * ReplicaSet becomes the new one and gets the next revision). Results as values:
 * NotFound for the Deployment or the revision (naming it), BadRequest for a paused
 * Deployment or one with no earlier revision, Conflict if the Deployment changed meanwhile.
 */
export async function rollback(store: ObjectReader & ObjectWriter, namespace: string, name: string, toRevision?: number): Promise<Result<RollbackResult>> {
  const got = store.get<Deployment>({ kind: 'Deployment', namespace, name });
  if (!got.ok) return got;
  const d = got.value;
  const fail = (reason: 'NotFound' | 'BadRequest', message: string): Result<RollbackResult> => ({ ok: false, error: new ApiError(reason, message) });
  if (d.spec.paused === true) return fail('BadRequest', `deployment "${name}" is paused: resume it (kubectl rollout resume deployment/${name}) before rolling back`);
  const listed = store.list<ReplicaSet>('ReplicaSet', { namespace });
  if (!listed.ok) return listed;
  const rsList = listed.value.items.filter((rs) => controllerRef(rs)?.uid === d.metadata.uid && revisionOf(rs) > 0);
  let target: ReplicaSet | undefined;
  if (toRevision === undefined || toRevision === 0) {
    const current = Math.max(0, ...rsList.map(revisionOf));
    target = rsList.filter((rs) => revisionOf(rs) < current).sort((a, b) => revisionOf(b) - revisionOf(a))[0];
    if (target === undefined) return fail('BadRequest', `deployment "${name}" has no revision before ${current} to roll back to`);
  } else {
    target = rsList.find((rs) => revisionOf(rs) === toRevision);
    if (target === undefined) {
      const known = rsList.map(revisionOf).sort((a, b) => a - b);
      return fail('NotFound', `unable to find revision ${toRevision} of deployment "${name}" (revisions in history: ${known.join(', ') || 'none'})`);
    }
  }
  const template = withoutHash(target.spec.template);
  const revision = revisionOf(target);
  if (template === undefined) return fail('BadRequest', `revision ${revision} of deployment "${name}" has no pod template`);
  if (equalIgnoreHash(withDefaults(d).spec.template, template)) return { ok: true, value: { deployment: d, revision, skipped: true } };
  const updated = await store.update<Deployment>({ ...d, spec: { ...d.spec, template } });
  if (!updated.ok) return updated;
  return { ok: true, value: { deployment: updated.value, revision, skipped: false } };
}

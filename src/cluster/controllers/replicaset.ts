/**
 * The ReplicaSet controller (kube-controller-manager's pkg/controller/replicaset): keeps
 * `spec.replicas` active pods made from `spec.template`, and reports them in `status`.
 *
 * One reconcile of a ReplicaSet:
 *   1. Claim pods (ClaimPods): its pods are those in its namespace whose controller
 *      reference names its uid; an orphan (no controller reference, not being deleted)
 *      whose labels match the selector is adopted (controller reference added); an owned
 *      pod whose labels no longer match is released (reference removed).
 *   2. Manage replicas: with fewer active pods (not finished, not being deleted) than
 *      `spec.replicas`, create the difference (generateName `<rs>-`, controller reference
 *      to the ReplicaSet); with more, delete the surplus, first the pods
 *      `compareForDeletion` puts first (unscheduled, pending, not ready, …, newest).
 *   3. Status: replicas (active pods), fullyLabeledReplicas (whose labels match the
 *      template's too), readyReplicas, availableReplicas (ready for minReadySeconds),
 *      observedGeneration, and the condition ReplicaFailure (FailedCreate) while the
 *      store refuses its pods. A pod that will become available later requeues the
 *      ReplicaSet for that moment (cluster time).
 * A ReplicaSet being deleted is not managed (its pods go with the garbage collector).
 * Pods are deleted without a grace period: the kubelet sees DELETED and stops them.
 * Events: SuccessfulCreate, FailedCreate, SuccessfulDelete (as Kubernetes words them).
 */
import { timestamp } from '../clock.js';
import type { Pod, ReplicaSet, ReplicaSetCondition } from '../objects/index.js';
import { labelSelectorMatches } from '../objects/index.js';
import type { Result } from '../store/store.js';
import {
  type ControllerOptions,
  QueueController,
  compareForDeletion,
  controllerRef,
  isPodActive,
  isPodAvailable,
  isPodReady,
  isRetryable,
  jsonEqual,
  newControllerRef,
  ownerKey,
  podFromTemplate,
  setCondition,
  untilAvailable,
} from './controller.js';
import { type ReconcileResult, objectKey, splitKey } from './informer.js';

/** The most pods one reconcile creates or deletes (kube's burstReplicas). */
const BURST_REPLICAS = 500;

export class ReplicaSetController extends QueueController {
  readonly name = 'replicaset';
  private readonly replicaSets;

  constructor(options: ControllerOptions) {
    super(options, 'replicaset-controller');
    this.replicaSets = this.watch<ReplicaSet>('ReplicaSet', (_type, rs) => this.queue.add(objectKey(rs)));
    this.watch<Pod>('Pod', (_type, pod, old) => {
      for (const p of old !== undefined && old !== pod ? [pod, old] : [pod]) this.enqueueFor(p);
    });
  }

  /** Queues the pod's controlling ReplicaSet or, for an orphan, every ReplicaSet that could adopt it. */
  private enqueueFor(pod: Pod): void {
    const ref = controllerRef(pod);
    if (ref !== undefined) {
      if (ref.kind === 'ReplicaSet') this.queue.add(ownerKey(pod, ref));
      return;
    }
    const ns = pod.metadata.namespace ?? '';
    for (const rs of this.replicaSets.list((rs) => (rs.metadata.namespace ?? '') === ns)) {
      if (labelSelectorMatches(rs.spec.selector, pod.metadata.labels)) this.queue.add(objectKey(rs));
    }
  }

  protected async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const got = this.store.get<ReplicaSet>({ kind: 'ReplicaSet', namespace, name });
    if (!got.ok) {
      if (got.error.reason === 'NotFound') return;
      throw got.error;
    }
    const rs = got.value;
    let failure: Error | undefined;
    if (rs.metadata.deletionTimestamp === undefined) {
      const claimed = await this.claimPods(rs);
      if (claimed === 'retry') return { requeueAfter: 0 };
      const managed = await this.manageReplicas(rs, claimed);
      if (managed === 'retry') return { requeueAfter: 0 };
      if (managed !== 'done') failure = managed;
    }
    const result = await this.updateStatus(rs, failure);
    // A failed create is retried with the queue's back-off, after the status says why.
    if (failure !== undefined) throw failure;
    return result;
  }

  /** The ReplicaSet's pods after adopting matching orphans and releasing non-matching pods. */
  private async claimPods(rs: ReplicaSet): Promise<Pod[] | 'retry'> {
    const uid = rs.metadata.uid;
    const pods = this.podsIn(rs.metadata.namespace ?? '');
    const owned: Pod[] = [];
    for (const pod of pods) {
      const ref = controllerRef(pod);
      const matches = labelSelectorMatches(rs.spec.selector, pod.metadata.labels);
      if (ref !== undefined && ref.uid !== uid) continue;
      if (ref !== undefined) {
        if (matches || pod.metadata.deletionTimestamp !== undefined) owned.push(pod);
        else if (!(await this.setOwners(pod, (pod.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid)))) return 'retry';
        continue;
      }
      if (!matches || pod.metadata.deletionTimestamp !== undefined) continue;
      const adopted = await this.setOwners(pod, [...(pod.metadata.ownerReferences ?? []), newControllerRef(rs)]);
      if (adopted === undefined) return 'retry';
      owned.push(adopted);
    }
    return owned;
  }

  /** Rewrites the pod's ownerReferences if it is still the version read; undefined on a conflict. */
  private async setOwners(pod: Pod, ownerReferences: Pod['metadata']['ownerReferences']): Promise<Pod | undefined> {
    const key = { kind: 'Pod', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '' };
    const r: Result<Pod> = await this.store.patch<Pod>(key, { metadata: { resourceVersion: pod.metadata.resourceVersion, ownerReferences } });
    if (r.ok) return r.value;
    if (isRetryable(r.error)) return undefined;
    throw r.error;
  }

  /** Creates or deletes pods; a create the store refuses (not a conflict) is returned as the error. */
  private async manageReplicas(rs: ReplicaSet, pods: readonly Pod[]): Promise<'done' | 'retry' | Error> {
    const active = pods.filter(isPodActive);
    const diff = active.length - (rs.spec.replicas ?? 1);
    if (diff < 0) {
      if (rs.spec.template === undefined) return 'done';
      const pod = podFromTemplate(rs.spec.template, rs);
      for (let i = 0; i < Math.min(-diff, BURST_REPLICAS); i++) {
        const r = await this.store.create(pod);
        if (!r.ok) {
          if (isRetryable(r.error)) return 'retry';
          await this.events.record(rs, 'Warning', 'FailedCreate', `Error creating: ${r.error.message}`);
          return r.error;
        }
        await this.events.record(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${r.value.metadata.name}`);
      }
    } else if (diff > 0) {
      const doomed = [...active].sort(compareForDeletion).slice(0, Math.min(diff, BURST_REPLICAS));
      for (const pod of doomed) {
        const r = await this.store.delete({ kind: 'Pod', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '' }, { preconditions: { uid: pod.metadata.uid ?? '' } });
        if (!r.ok && !isRetryable(r.error)) throw r.error;
        if (r.ok) await this.events.record(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
      }
    }
    return 'done';
  }

  /** Writes the status computed from the pods now in the store; requeues for the next pod to become available. */
  private async updateStatus(rs: ReplicaSet, failure: Error | undefined): Promise<ReconcileResult> {
    const now = this.clock.now();
    const minReady = rs.spec.minReadySeconds ?? 0;
    const templateLabels = rs.spec.template?.metadata?.labels ?? {};
    const active = this.podsIn(rs.metadata.namespace ?? '').filter((p) => controllerRef(p)?.uid === rs.metadata.uid && isPodActive(p));
    const { conditions: oldConditions, ...rest } = rs.status ?? { replicas: 0 };
    // ReplicaFailure while pods cannot be created (kube's FailedCreate), removed once they can.
    const conditions =
      failure !== undefined
        ? setCondition<ReplicaSetCondition>(oldConditions, { type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: failure.message, lastTransitionTime: timestamp(now) })
        : (oldConditions ?? []).filter((c) => c.type !== 'ReplicaFailure');
    const status = {
      ...rest,
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) => labelSelectorMatches({ matchLabels: templateLabels }, p.metadata.labels)).length,
      readyReplicas: active.filter(isPodReady).length,
      availableReplicas: active.filter((p) => isPodAvailable(p, minReady, now)).length,
      observedGeneration: rs.metadata.generation ?? 0,
      ...(conditions.length > 0 ? { conditions } : {}),
    };
    if (!jsonEqual(status, rs.status)) {
      const r = await this.store.updateStatus<ReplicaSet>({ ...rs, status });
      if (!r.ok) {
        if (isRetryable(r.error)) return r.error.reason === 'NotFound' ? undefined : { requeueAfter: 0 };
        throw r.error;
      }
    }
    const waits = active.map((p) => untilAvailable(p, minReady, now)).filter((ms): ms is number => ms !== undefined);
    return waits.length > 0 ? { requeueAfter: Math.min(...waits) } : undefined;
  }

  private podsIn(namespace: string): readonly Pod[] {
    const listed = this.store.list<Pod>('Pod', { namespace });
    if (!listed.ok) throw listed.error;
    return listed.value.items;
  }
}

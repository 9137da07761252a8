/**
 * The Job controller (kube-controller-manager's pkg/controller/job), for NonIndexed Jobs.
 *
 * A Job's pods are those whose controller reference names it; they are made from
 * `spec.template` with the labels `job-name`, `batch.kubernetes.io/job-name`,
 * `controller-uid` and `batch.kubernetes.io/controller-uid` added (the API server adds
 * them to the template in Kubernetes; here the controller does, the Job is not changed).
 *
 * One reconcile of a Job that has not finished:
 *   - count: succeeded and failed pods (phase Succeeded / Failed) — never less than the
 *     counts already in status, so pods deleted after finishing are not forgotten;
 *     with restartPolicy OnFailure, also the container restarts of active pods;
 *   - fail it (condition Failed, active pods deleted) when failed > backoffLimit or,
 *     with OnFailure, restarts ≥ backoffLimit (reason BackoffLimitExceeded), or when it
 *     has been active activeDeadlineSeconds (reason DeadlineExceeded, checked at that
 *     moment of cluster time);
 *   - complete it (condition Complete, completionTime, leftover active pods deleted) when
 *     succeeded ≥ completions, or — completions unset, a work queue — when a pod has
 *     succeeded and none is active;
 *   - otherwise keep min(parallelism, completions − succeeded) pods active (none while
 *     `suspend`): restartPolicy Never means a new pod per failure; with OnFailure the
 *     kubelet restarts containers in place. After failures, new pods wait the pod-failure
 *     back-off: 10 s after the last failure, doubled per failure since the last success,
 *     at most 6 min (in cluster time);
 *   - status: active, ready, succeeded, failed, startTime (first reconcile not
 *     suspended), completionTime, conditions.
 * A finished Job is left alone.
 * Events: SuccessfulCreate, FailedCreate, SuccessfulDelete, Completed,
 * BackoffLimitExceeded, DeadlineExceeded.
 *
 * Not done: Indexed completion mode, podFailurePolicy, successPolicy, backoffLimitPerIndex,
 * ttlSecondsAfterFinished, the Suspended condition (a suspended Job just has no pods),
 * the pod-tracking finalizer (counting is from pods plus status, above, so a running pod
 * deleted by someone else is replaced without counting as a failure), adopting orphan pods.
 */
import { timestamp } from '../clock.js';
import type { Job, JobCondition, JobStatus, Pod } from '../objects/index.js';
import { withDefaults } from '../objects/index.js';
import {
  type ControllerOptions,
  QueueController,
  compareForDeletion,
  controllerRef,
  isPodActive,
  isPodReady,
  isRetryable,
  jsonEqual,
  ownerKey,
  podFromTemplate,
  setCondition,
} from './controller.js';
import { type ReconcileResult, objectKey, splitKey } from './informer.js';

export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';

/** The Job has a Complete or Failed condition that is True. */
export function isJobFinished(job: Job): boolean {
  return (job.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

export class JobController extends QueueController {
  readonly name = 'job';

  constructor(options: ControllerOptions) {
    super(options, 'job-controller');
    this.watch<Job>('Job', (_type, job) => this.queue.add(objectKey(job)));
    this.watch<Pod>('Pod', (_type, pod) => {
      const ref = controllerRef(pod);
      if (ref?.kind === 'Job') this.queue.add(ownerKey(pod, ref));
    });
  }

  protected async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const got = this.store.get<Job>({ kind: 'Job', namespace, name });
    if (!got.ok) {
      if (got.error.reason === 'NotFound') return;
      throw got.error;
    }
    const stored = got.value;
    if (isJobFinished(stored) || stored.metadata.deletionTimestamp !== undefined) return;
    const job = withDefaults(stored);
    const now = this.clock.now();
    const spec = job.spec;
    const pods = this.podsOf(job);
    const active = pods.filter(isPodActive);
    const succeeded = Math.max(job.status?.succeeded ?? 0, pods.filter((p) => p.status?.phase === 'Succeeded').length);
    let failed = Math.max(job.status?.failed ?? 0, pods.filter((p) => p.status?.phase === 'Failed').length);
    const suspended = spec.suspend === true;
    const startTime = job.status?.startTime ?? (suspended ? undefined : timestamp(now));
    const backoffLimit = spec.backoffLimit ?? 6;
    const restarts = spec.template.spec.restartPolicy === 'OnFailure' ? active.reduce((n, p) => n + restartsOf(p), 0) : 0;
    const deadlineAt = spec.activeDeadlineSeconds !== undefined && startTime !== undefined && !suspended ? Date.parse(startTime) + spec.activeDeadlineSeconds * 1000 : undefined;

    let conditions = job.status?.conditions;
    let completionTime = job.status?.completionTime;
    let requeueAfter: number | undefined;
    const failure =
      failed > backoffLimit || (spec.template.spec.restartPolicy === 'OnFailure' && (backoffLimit === 0 ? restarts > 0 : restarts >= backoffLimit))
        ? { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }
        : deadlineAt !== undefined && now >= deadlineAt
          ? { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' }
          : undefined;
    const completions = spec.completions;
    const complete = completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0;

    if (failure !== undefined) {
      // The active pods are stopped; like Kubernetes, they count as failed.
      await this.deletePods(job, active);
      failed += active.length;
      conditions = setCondition(conditions, this.condition('Failed', failure.reason, failure.message, now));
      await this.events.record(job, 'Warning', failure.reason, failure.message);
    } else if (complete) {
      await this.deletePods(job, active);
      completionTime = timestamp(now);
      conditions = setCondition(conditions, this.condition('Complete', undefined, undefined, now));
      await this.events.record(job, 'Normal', 'Completed', 'Job completed');
    } else {
      const parallelism = spec.parallelism ?? 1;
      let want: number;
      if (suspended) want = 0;
      else if (completions === undefined) want = succeeded > 0 ? active.length : parallelism;
      else want = Math.max(0, Math.min(parallelism, completions - succeeded));
      // After failures, a new pod waits 10 s × 2^(failures since the last success − 1), at most 6 min.
      const backoff = active.length < want ? backoffUntil(pods) : undefined;
      if (backoff !== undefined && now < backoff) {
        requeueAfter = backoff - now;
      } else if (active.length < want) {
        const pod = podFromTemplate(spec.template, job, {
          'controller-uid': job.metadata.uid ?? '',
          [CONTROLLER_UID_LABEL]: job.metadata.uid ?? '',
          'job-name': job.metadata.name ?? '',
          [JOB_NAME_LABEL]: job.metadata.name ?? '',
        });
        for (let i = active.length; i < want; i++) {
          const r = await this.store.create(pod);
          if (!r.ok) {
            if (isRetryable(r.error)) return { requeueAfter: 0 };
            await this.events.record(job, 'Warning', 'FailedCreate', `Error creating: ${r.error.message}`);
            throw r.error;
          }
          await this.events.record(job, 'Normal', 'SuccessfulCreate', `Created pod: ${r.value.metadata.name}`);
        }
      } else if (active.length > want) {
        await this.deletePods(job, [...active].sort(compareForDeletion).slice(0, active.length - want));
      }
      if (deadlineAt !== undefined) requeueAfter = Math.min(requeueAfter ?? Infinity, deadlineAt - now);
    }

    const nowActive = this.podsOf(job).filter(isPodActive);
    const status: JobStatus = {
      ...(job.status ?? {}),
      active: nowActive.length,
      ready: nowActive.filter(isPodReady).length,
      succeeded,
      failed,
      ...(startTime !== undefined ? { startTime } : {}),
      ...(completionTime !== undefined ? { completionTime } : {}),
      ...(conditions !== undefined ? { conditions } : {}),
    };
    if (!jsonEqual(status, stored.status)) {
      const r = await this.store.updateStatus<Job>({ ...stored, status });
      if (!r.ok) {
        if (isRetryable(r.error)) return r.error.reason === 'NotFound' ? undefined : { requeueAfter: 0 };
        throw r.error;
      }
    }
    return requeueAfter !== undefined ? { requeueAfter } : undefined;
  }

  private condition(type: 'Complete' | 'Failed', reason: string | undefined, message: string | undefined, now: number): JobCondition {
    const t = timestamp(now);
    return { type, status: 'True', lastProbeTime: t, lastTransitionTime: t, ...(reason !== undefined ? { reason } : {}), ...(message !== undefined ? { message } : {}) };
  }

  private podsOf(job: Job): Pod[] {
    const listed = this.store.list<Pod>('Pod', { namespace: job.metadata.namespace ?? 'default' });
    if (!listed.ok) throw listed.error;
    return listed.value.items.filter((p) => controllerRef(p)?.uid === job.metadata.uid);
  }

  private async deletePods(job: Job, pods: readonly Pod[]): Promise<void> {
    for (const pod of pods) {
      const r = await this.store.delete({ kind: 'Pod', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '' }, { preconditions: { uid: pod.metadata.uid ?? '' } });
      if (!r.ok && !isRetryable(r.error)) throw r.error;
      if (r.ok) await this.events.record(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
    }
  }
}

/** The pod-failure back-off (kube's 10 s base, 6 min cap). */
const BACKOFF_BASE_MS = 10_000;
const BACKOFF_MAX_MS = 360_000;

/**
 * When the Job may create pods again after failed ones (kube's backoffRecord): the last
 * failure after the last success, plus 10 s doubled per further such failure. Undefined:
 * no failure since the last success, or no finish times to go by.
 */
function backoffUntil(pods: readonly Pod[]): number | undefined {
  const lastSuccess = Math.max(-Infinity, ...pods.filter((p) => p.status?.phase === 'Succeeded').map((p) => finishedAt(p) ?? -Infinity));
  const failures = pods.filter((p) => p.status?.phase === 'Failed').map(finishedAt).filter((t): t is number => t !== undefined && t > lastSuccess);
  if (failures.length === 0) return undefined;
  return Math.max(...failures) + Math.min(BACKOFF_BASE_MS * 2 ** (failures.length - 1), BACKOFF_MAX_MS);
}

/** When a finished pod finished: its containers' last finishedAt, else its Ready=False transition (getFinishedTime). */
function finishedAt(pod: Pod): number | undefined {
  const times = (pod.status?.containerStatuses ?? []).map((c) => c.state?.terminated?.finishedAt).filter((t): t is string => t !== undefined);
  if (times.length > 0) return Math.max(...times.map((t) => Date.parse(t)));
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'False');
  return ready?.lastTransitionTime !== undefined ? Date.parse(ready.lastTransitionTime) : undefined;
}

/** Container restarts of a pod (init containers included), as the kubelet reports them. */
function restartsOf(pod: Pod): number {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].reduce((n, s) => n + (s.restartCount ?? 0), 0);
}

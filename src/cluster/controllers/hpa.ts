/**
 * The HorizontalPodAutoscaler controller (kube-controller-manager's
 * pkg/controller/podautoscaler), autoscaling/v2, for Resource metrics (cpu or whatever
 * `PodMetrics` measures) with target type Utilization or AverageValue.
 *
 * Every sync period (15 s of cluster time by default, and at once when an HPA is added
 * or its spec changes) one reconcile of an HPA:
 *   1. reads the target's scale: `spec.replicas` and `spec.selector` of the Deployment or
 *      ReplicaSet `scaleTargetRef` names;
 *   2. a target at 0 replicas (minReplicas > 0) is not autoscaled (ScalingActive False,
 *      ScalingDisabled); one outside [minReplicas, maxReplicas] is brought inside;
 *   3. otherwise, per metric, kube's replica calculator: over the target's pods, usage
 *      ratio = utilization / target, utilization = Σ usage / Σ requests of the pods with a
 *      sample, in whole percent; within the tolerance (0.1, or the behavior's) of 1 the
 *      count stays, else desired = ⌈ratio × pods with a sample⌉. Pods being deleted or
 *      finished are ignored; *unready* pods (Pending, or Ready not True) are ignored, and
 *      on a scale-up counted as using 0; pods with no sample count as using 0 on a
 *      scale-up and 100 % of their request (or the target if higher) on a scale-down;
 *      if that re-count is within tolerance or reverses the direction, the count stays.
 *      The largest proposal of all metrics wins;
 *   4. stabilization (kube's behavior semantics): the result is held between the lowest
 *      recommendation of the scale-up window (0 s by default) and the highest of the
 *      scale-down window (`behavior.scaleDown.stabilizationWindowSeconds`, default 300 s),
 *      so a scale-down happens only once every recommendation in the window agrees;
 *   5. rate: the behavior's policies over their periods (default: up by max(4 pods,
 *      100 %) per 15 s, down by 100 % per 15 s), then min/maxReplicas;
 *   6. writes the target's `spec.replicas` if it changed (lastScaleTime), and status:
 *      currentReplicas, desiredReplicas, currentMetrics, conditions AbleToScale,
 *      ScalingActive, ScalingLimited.
 *
 * Events: SuccessfulRescale (`New size: 4; reason: cpu resource utilization (percentage
 * of request) above target`).
 *
 * Recommendations and scale events live in this controller's memory, as in Kubernetes:
 * a restarted controller starts with empty windows.
 *
 * Simplified (documented differences): a pod is unready simply when its Ready condition
 * is not True (Kubernetes also looks at the cpu initialization period and sample
 * windows); any metric that cannot be computed stops scaling for that sync (Kubernetes
 * still scales up on the valid ones); Pods, Object, External and ContainerResource
 * metrics are reported as unsupported. Without `spec.behavior` the behavior defaults
 * above are used (Kubernetes' legacy path differs only in edge cases).
 */
import { timestamp } from '../clock.js';
import type {
  HorizontalPodAutoscaler,
  HorizontalPodAutoscalerCondition,
  HorizontalPodAutoscalerStatus,
  HPAScalingRules,
  LabelSelector,
  MetricSpec,
  MetricStatus,
  Pod,
} from '../objects/index.js';
import { labelSelectorMatches, quantityMilliValue, withDefaults } from '../objects/index.js';
import { type ControllerOptions, QueueController, isPodReady, isRetryable, jsonEqual, setCondition } from './controller.js';
import { type ReconcileResult, objectKey, splitKey } from './informer.js';

/** Pod resource usage, as the kubelet measures it (the metrics API, in-process). */
export interface PodMetrics {
  /** CPU usage of the pod in millicores (all containers), or undefined if there is no sample yet. */
  cpuMilli(namespace: string, pod: string): number | undefined;
  /** Memory usage in bytes, if measured. */
  memoryBytes?(namespace: string, pod: string): number | undefined;
}

export interface HorizontalPodAutoscalerControllerOptions extends ControllerOptions {
  readonly metrics: PodMetrics;
  /** How often each HPA is reconciled, ms of cluster time (default 15,000: --horizontal-pod-autoscaler-sync-period). */
  readonly syncPeriodMs?: number;
  /** Usage ratio change ignored (default 0.1: --horizontal-pod-autoscaler-tolerance). */
  readonly tolerance?: number;
  /** Scale-down window when the HPA sets none, ms (default 300,000: --horizontal-pod-autoscaler-downscale-stabilization). */
  readonly downscaleStabilizationMs?: number;
}

const SCALE_TARGETS = new Set(['Deployment', 'ReplicaSet']);

interface Recommendation {
  readonly at: number;
  readonly replicas: number;
}
interface ScaleEvent {
  readonly at: number;
  readonly change: number;
}
interface Proposal {
  readonly replicas: number;
  readonly status: MetricStatus;
}
type MetricOutcome = { readonly ok: true; readonly value: Proposal } | { readonly ok: false; readonly reason: string; readonly message: string };

/** The scale a target exposes (the /scale subresource, read from the object). */
interface ScaleTarget {
  readonly kind: string;
  readonly apiVersion: string;
  readonly metadata: { readonly name?: string; readonly namespace?: string; readonly resourceVersion?: string };
  readonly spec: { readonly replicas?: number; readonly selector?: LabelSelector };
}

export class HorizontalPodAutoscalerController extends QueueController {
  readonly name = 'horizontalpodautoscaler';
  private readonly metrics: PodMetrics;
  private readonly syncPeriod: number;
  private readonly tolerance: number;
  private readonly downscaleWindow: number;
  private readonly recommendations = new Map<string, Recommendation[]>();
  private readonly scaleUpEvents = new Map<string, ScaleEvent[]>();
  private readonly scaleDownEvents = new Map<string, ScaleEvent[]>();

  constructor(options: HorizontalPodAutoscalerControllerOptions) {
    super(options, 'horizontal-pod-autoscaler');
    this.metrics = options.metrics;
    this.syncPeriod = options.syncPeriodMs ?? 15_000;
    this.tolerance = options.tolerance ?? 0.1;
    this.downscaleWindow = options.downscaleStabilizationMs ?? 300_000;
    this.watch<HorizontalPodAutoscaler>('HorizontalPodAutoscaler', (type, hpa, old) => {
      const key = objectKey(hpa);
      if (type === 'DELETED') this.forget(key);
      // Status writes (our own) do not queue: the sync period does.
      else if (type === 'ADDED' || old?.metadata.generation !== hpa.metadata.generation) this.queue.add(key);
    });
  }

  private forget(key: string): void {
    this.recommendations.delete(key);
    this.scaleUpEvents.delete(key);
    this.scaleDownEvents.delete(key);
  }

  protected async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const got = this.store.get<HorizontalPodAutoscaler>({ kind: 'HorizontalPodAutoscaler', namespace, name });
    if (!got.ok) {
      if (got.error.reason === 'NotFound') return this.forget(key);
      throw got.error;
    }
    const stored = got.value;
    const hpa = withDefaults(stored);
    const now = this.clock.now();
    const spec = hpa.spec;
    let conditions = stored.status?.conditions;
    const cond = (type: string, status: 'True' | 'False', reason: string, message: string) => {
      conditions = setCondition<HorizontalPodAutoscalerCondition>(conditions, { type, status, reason, message, lastTransitionTime: timestamp(now) });
    };
    const writeStatus = async (status: HorizontalPodAutoscalerStatus): Promise<ReconcileResult> => {
      const full = { ...status, observedGeneration: stored.metadata.generation ?? 0, conditions: conditions ?? [] };
      if (!jsonEqual(full, stored.status)) {
        const r = await this.store.updateStatus<HorizontalPodAutoscaler>({ ...stored, status: full });
        if (!r.ok && !isRetryable(r.error)) throw r.error;
      }
      return { requeueAfter: this.syncPeriod };
    };
    const keep = { ...(stored.status?.lastScaleTime !== undefined ? { lastScaleTime: stored.status.lastScaleTime } : {}) };

    // 1. The target's scale.
    const ref = spec.scaleTargetRef;
    const target = SCALE_TARGETS.has(ref.kind) ? this.store.get<ScaleTarget>({ kind: ref.kind, namespace, name: ref.name }) : undefined;
    if (target === undefined || !target.ok) {
      const message = target === undefined ? `the HPA controller cannot scale a ${ref.kind}: only Deployment and ReplicaSet` : `the HPA controller was unable to get the target's current scale: ${target.error.message}`;
      cond('AbleToScale', 'False', 'FailedGetScale', message);
      return writeStatus({ ...keep, currentReplicas: stored.status?.currentReplicas ?? 0, desiredReplicas: stored.status?.desiredReplicas ?? 0 });
    }
    const current = target.value.spec.replicas ?? 1;
    const min = spec.minReplicas ?? 1;
    const max = spec.maxReplicas;
    cond('AbleToScale', 'True', 'SucceededGetScale', "the HPA controller was able to get the target's current scale");

    // 2–5. The desired count.
    let desired: number;
    let rescaleReason = '';
    let metricStatuses: MetricStatus[] = [...(stored.status?.currentMetrics ?? [])];
    if (current === 0 && min !== 0) {
      desired = 0;
      cond('ScalingActive', 'False', 'ScalingDisabled', 'scaling is disabled since the replica count of the target is zero');
    } else if (current > max) {
      desired = max;
      rescaleReason = 'Current number of replicas above Spec.MaxReplicas';
      cond('ScalingLimited', 'True', 'TooManyReplicas', 'the desired replica count is more than the maximum replica count');
    } else if (current < min) {
      desired = min;
      rescaleReason = 'Current number of replicas below Spec.MinReplicas';
      cond('ScalingLimited', 'True', 'TooFewReplicas', 'the desired replica count is less than the minimum replica count');
    } else {
      const pods = this.podsFor(namespace, target.value.spec.selector);
      const up = this.rules(hpa, 'up');
      const down = this.rules(hpa, 'down');
      const tolerance = { up: toleranceOf(up) ?? this.tolerance, down: toleranceOf(down) ?? this.tolerance };
      let proposal = -1;
      metricStatuses = [];
      for (const metric of spec.metrics ?? []) {
        const outcome = this.replicasFor(metric, pods, current, tolerance);
        if (!outcome.ok) {
          cond('ScalingActive', 'False', outcome.reason, outcome.message);
          return writeStatus({ ...keep, currentReplicas: current, desiredReplicas: current, currentMetrics: metricStatuses });
        }
        metricStatuses.push(outcome.value.status);
        proposal = Math.max(proposal, outcome.value.replicas);
      }
      const names = (spec.metrics ?? []).map((m) => `${m.resource?.name ?? m.type} resource ${m.resource?.target.type === 'Utilization' ? 'utilization (percentage of request)' : 'usage'}`);
      cond('ScalingActive', 'True', 'ValidMetricFound', `the HPA was able to successfully calculate a replica count from ${names.join(', ')}`);

      // 4. Stabilization.
      const stabilized = this.stabilize(key, proposal, current, up, down, now);
      if (stabilized > proposal) cond('AbleToScale', 'True', 'ScaleDownStabilized', 'recent recommendations were higher than current one, applying the highest recent recommendation');
      else if (stabilized < proposal) cond('AbleToScale', 'True', 'ScaleUpStabilized', 'recent recommendations were lower than current one, applying the lowest recent recommendation');
      else cond('AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size');

      // 5. Rate and bounds.
      const limited = this.limit(key, stabilized, current, min, max, up, down, now);
      desired = limited.replicas;
      rescaleReason = desired > current ? `${names.join(', ')} above target` : 'All metrics below target';
      cond('ScalingLimited', limited.reason === 'DesiredWithinRange' ? 'False' : 'True', limited.reason, limited.message);
    }

    // 6. Rescale.
    let lastScaleTime = stored.status?.lastScaleTime;
    if (desired !== current) {
      const t = target.value;
      const r = await this.store.update<ScaleTarget>({ ...t, spec: { ...t.spec, replicas: desired } });
      if (!r.ok) {
        if (isRetryable(r.error)) return { requeueAfter: 0 };
        throw r.error;
      }
      lastScaleTime = timestamp(now);
      this.recordScaleEvent(key, current, desired, now);
      await this.events.record(stored, 'Normal', 'SuccessfulRescale', `New size: ${desired}; reason: ${rescaleReason}`);
      cond('AbleToScale', 'True', 'SucceededRescale', `the HPA controller was able to update the target scale to ${desired}`);
    }
    return writeStatus({
      ...(lastScaleTime !== undefined ? { lastScaleTime } : {}),
      currentReplicas: current,
      desiredReplicas: desired,
      currentMetrics: metricStatuses,
    });
  }

  private podsFor(namespace: string, selector: LabelSelector | undefined): Pod[] {
    if (selector === undefined) return [];
    const listed = this.store.list<Pod>('Pod', { namespace });
    if (!listed.ok) throw listed.error;
    return listed.value.items.filter((p) => labelSelectorMatches(selector, p.metadata.labels));
  }

  /** The behavior's rules for one direction, over the defaults. */
  private rules(hpa: HorizontalPodAutoscaler, direction: 'up' | 'down'): HPAScalingRules {
    const given = direction === 'up' ? hpa.spec.behavior?.scaleUp : hpa.spec.behavior?.scaleDown;
    const defaults: HPAScalingRules =
      direction === 'up'
        ? { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] }
        : { stabilizationWindowSeconds: this.downscaleWindow / 1000, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] };
    return {
      ...defaults,
      ...Object.fromEntries(Object.entries(given ?? {}).filter(([, v]) => v !== undefined)),
    };
  }

  // ------------------------------------------------------------ the replica calculator

  private replicasFor(metric: MetricSpec, pods: readonly Pod[], current: number, tolerance: { up: number; down: number }): MetricOutcome {
    if (metric.type !== 'Resource' || metric.resource === undefined) {
      return { ok: false, reason: 'InvalidMetricSourceType', message: `the HPA controller cannot compute ${metric.type} metrics: only Resource metrics are supported` };
    }
    const { name: resource, target } = metric.resource;
    const sample = resource === 'cpu' ? (p: Pod) => this.metrics.cpuMilli(p.metadata.namespace ?? '', p.metadata.name ?? '') : resource === 'memory' && this.metrics.memoryBytes ? (p: Pod) => this.metrics.memoryBytes!(p.metadata.namespace ?? '', p.metadata.name ?? '') : undefined;
    if (sample === undefined) return { ok: false, reason: 'FailedGetResourceMetric', message: `the HPA was unable to compute the replica count: no metrics for resource ${resource}` };
    if (pods.length === 0) return { ok: false, reason: 'FailedGetResourceMetric', message: 'the HPA was unable to compute the replica count: no pods returned by selector while calculating replica count' };

    // Requests (Utilization only), in the unit the samples use (millicores; bytes × 1000 for memory).
    const requests = new Map<string, number>();
    if (target.type === 'Utilization') {
      for (const pod of pods) {
        let total = 0;
        for (const c of pod.spec.containers ?? []) {
          const q = c.resources?.requests?.[resource];
          const v = q === undefined ? undefined : quantityMilliValue(q);
          if (v === undefined) return { ok: false, reason: 'FailedGetResourceMetric', message: `the HPA was unable to compute the replica count: missing request for ${resource} in container ${c.name} of Pod ${pod.metadata.name}` };
          total += resource === 'cpu' ? v : v / 1000;
        }
        requests.set(pod.metadata.name ?? '', total);
      }
    }
    const targetValue =
      target.type === 'Utilization' ? target.averageUtilization : target.type === 'AverageValue' && target.averageValue !== undefined ? (resource === 'cpu' ? quantityMilliValue(target.averageValue) : (quantityMilliValue(target.averageValue) ?? 0) / 1000) : undefined;
    if (targetValue === undefined || targetValue <= 0) return { ok: false, reason: 'FailedGetResourceMetric', message: `the HPA was unable to compute the replica count: unsupported target for resource ${resource}` };

    // groupPods.
    const samples = new Map<string, number>();
    const unready: string[] = [];
    const missing: string[] = [];
    for (const pod of pods) {
      const name = pod.metadata.name ?? '';
      const phase = pod.status?.phase ?? 'Pending';
      if (pod.metadata.deletionTimestamp !== undefined || phase === 'Failed' || phase === 'Succeeded') continue;
      if (phase === 'Pending') {
        unready.push(name);
        continue;
      }
      const value = sample(pod);
      if (value === undefined) {
        missing.push(name);
        continue;
      }
      if (resource === 'cpu' && !isPodReady(pod)) {
        unready.push(name);
        continue;
      }
      samples.set(name, value);
    }
    if (samples.size === 0) return { ok: false, reason: 'FailedGetResourceMetric', message: 'the HPA was unable to compute the replica count: did not receive metrics for targeted pods (pods might be unready)' };

    const ratioOf = (m: ReadonlyMap<string, number>) => {
      let used = 0;
      let requested = 0;
      for (const [pod, v] of m) {
        used += v;
        requested += requests.get(pod) ?? 0;
      }
      if (target.type === 'Utilization') {
        const utilization = requested > 0 ? Math.trunc((used * 100) / requested) : 0;
        return { ratio: utilization / targetValue, utilization, average: Math.trunc(used / m.size) };
      }
      const average = used / m.size;
      return { ratio: average / targetValue, utilization: undefined, average: Math.trunc(average) };
    };
    const within = (r: number) => r >= 1 - tolerance.down && r <= 1 + tolerance.up;
    const first = ratioOf(samples);
    const status: MetricStatus = {
      type: 'Resource',
      resource: {
        name: resource,
        current: {
          ...(first.utilization !== undefined ? { averageUtilization: first.utilization } : {}),
          averageValue: resource === 'cpu' ? `${first.average}m` : String(first.average),
        },
      },
    };
    const done = (replicas: number): MetricOutcome => ({ ok: true, value: { replicas, status } });

    const scaleUpWithUnready = unready.length > 0 && first.ratio > 1;
    if (!scaleUpWithUnready && missing.length === 0) return done(within(first.ratio) ? current : Math.ceil(first.ratio * samples.size));

    const adjusted = new Map(samples);
    if (first.ratio < 1) {
      // Scale-down: pods with no sample count as using their request (or the target, if above 100 %).
      for (const pod of missing) adjusted.set(pod, target.type === 'Utilization' ? ((requests.get(pod) ?? 0) * Math.max(100, targetValue)) / 100 : targetValue);
    } else if (first.ratio > 1) {
      for (const pod of missing) adjusted.set(pod, 0);
    }
    if (scaleUpWithUnready) for (const pod of unready) adjusted.set(pod, 0);
    const second = ratioOf(adjusted);
    if (within(second.ratio) || (first.ratio < 1 && second.ratio > 1) || (first.ratio > 1 && second.ratio < 1)) return done(current);
    const replicas = Math.ceil(second.ratio * adjusted.size);
    if ((second.ratio < 1 && replicas > current) || (second.ratio > 1 && replicas < current)) return done(current);
    return done(replicas);
  }

  // ------------------------------------------------------------ stabilization and rate

  /** stabilizeRecommendationWithBehaviors: records `desired` and returns it held within the windows. */
  private stabilize(key: string, desired: number, current: number, up: HPAScalingRules, down: HPAScalingRules, now: number): number {
    const upCutoff = now - (up.stabilizationWindowSeconds ?? 0) * 1000;
    const downCutoff = now - (down.stabilizationWindowSeconds ?? 0) * 1000;
    const recs = this.recommendations.get(key) ?? [];
    let upRec = desired;
    let downRec = desired;
    for (const r of recs) {
      if (r.at > upCutoff) upRec = Math.min(upRec, r.replicas);
      if (r.at > downCutoff) downRec = Math.max(downRec, r.replicas);
    }
    let result = current;
    if (result < upRec) result = upRec;
    if (result > downRec) result = downRec;
    const oldest = Math.min(upCutoff, downCutoff);
    this.recommendations.set(key, [...recs.filter((r) => r.at > oldest), { at: now, replicas: desired }]);
    return result;
  }

  /** convertDesiredReplicasWithBehaviorRate: the policies' limits over their periods, then min/maxReplicas. */
  private limit(key: string, desired: number, current: number, min: number, max: number, up: HPAScalingRules, down: HPAScalingRules, now: number): { replicas: number; reason: string; message: string } {
    const changed = (events: readonly ScaleEvent[] | undefined, periodSeconds: number) =>
      (events ?? []).filter((e) => e.at > now - periodSeconds * 1000).reduce((n, e) => n + e.change, 0);
    const upEvents = this.scaleUpEvents.get(key);
    const downEvents = this.scaleDownEvents.get(key);
    if (desired > current) {
      let limit: number;
      if (up.selectPolicy === 'Disabled') limit = current;
      else {
        const pick = up.selectPolicy === 'Min' ? Math.min : Math.max;
        limit = up.selectPolicy === 'Min' ? Infinity : -Infinity;
        for (const p of up.policies ?? []) {
          const start = current - changed(upEvents, p.periodSeconds) + changed(downEvents, p.periodSeconds);
          limit = pick(limit, p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100)));
        }
        if (!Number.isFinite(limit)) limit = current;
      }
      limit = Math.max(limit, current);
      if (max > limit) {
        if (desired > limit) return { replicas: limit, reason: 'ScaleUpLimit', message: 'the desired replica count is increasing faster than the maximum scale rate' };
      } else if (desired > max) return { replicas: max, reason: 'TooManyReplicas', message: 'the desired replica count is more than the maximum replica count' };
    } else if (desired < current) {
      let limit: number;
      if (down.selectPolicy === 'Disabled') limit = current;
      else {
        const pick = down.selectPolicy === 'Min' ? Math.max : Math.min;
        limit = down.selectPolicy === 'Min' ? -Infinity : Infinity;
        for (const p of down.policies ?? []) {
          const start = current - changed(upEvents, p.periodSeconds) + changed(downEvents, p.periodSeconds);
          limit = pick(limit, p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100)));
        }
        if (!Number.isFinite(limit)) limit = current;
      }
      limit = Math.min(limit, current);
      if (min < limit) {
        if (desired < limit) return { replicas: limit, reason: 'ScaleDownLimit', message: 'the desired replica count is decreasing faster than the maximum scale rate' };
      } else if (desired < min) return { replicas: min, reason: 'TooFewReplicas', message: 'the desired replica count is less than the minimum replica count' };
    }
    return { replicas: desired, reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range' };
  }

  /** storeScaleEvent: remembers a rescale for the policies' periods (kept 30 min at most). */
  private recordScaleEvent(key: string, from: number, to: number, now: number): void {
    const map = to > from ? this.scaleUpEvents : this.scaleDownEvents;
    const kept = (map.get(key) ?? []).filter((e) => e.at > now - 1_800_000);
    map.set(key, [...kept, { at: now, change: Math.abs(to - from) }]);
  }
}

/** The behavior's tolerance as a fraction, if it sets one. */
function toleranceOf(rules: HPAScalingRules): number | undefined {
  if (rules.tolerance === undefined) return undefined;
  const milli = quantityMilliValue(rules.tolerance);
  return milli === undefined ? undefined : milli / 1000;
}

import { afterEach, describe, expect, it } from 'vitest';
import type { Deployment, HorizontalPodAutoscaler, Pod, ReplicaSet } from '../objects/index.js';
import { unwrap } from '../store/store.js';
import { getCondition, isPodActive, isPodReady } from './controller.js';
import { DeploymentController } from './deployment.js';
import { HorizontalPodAutoscalerController, type PodMetrics } from './hpa.js';
import { ReplicaSetController } from './replicaset.js';
import { type Fixture, fixture, template } from './testing.js';

let f: Fixture;
afterEach(async () => {
  const open = f as Fixture | undefined;
  f = undefined as unknown as Fixture;
  await open?.close();
});

/** Load shared evenly by the ready pods (what a Service in front of them would do); `override` per pod. */
class FakeMetrics implements PodMetrics {
  totalMilli = 0;
  readonly override = new Map<string, number | undefined>();
  constructor(private readonly pods: () => Pod[]) {}
  cpuMilli(_namespace: string, pod: string): number | undefined {
    if (this.override.has(pod)) return this.override.get(pod);
    const ready = this.pods().filter((p) => isPodActive(p) && isPodReady(p));
    return ready.some((p) => p.metadata.name === pod) ? Math.floor(this.totalMilli / ready.length) : undefined;
  }
}

const withCpu = (cpu: string | undefined) =>
  template({ app: 'web' }, 'web:1', { containers: [{ name: 'main', image: 'web:1', ...(cpu !== undefined ? { resources: { requests: { cpu } } } : {}) }] });

const replicaSet = (replicas: number, cpu: string | null = '100m'): ReplicaSet => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name: 'web', namespace: 'default' },
  spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: withCpu(cpu ?? undefined) },
});

const hpa = (spec: Partial<HorizontalPodAutoscaler['spec']> = {}, kind = 'ReplicaSet'): HorizontalPodAutoscaler => ({
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind, name: 'web' },
    minReplicas: 1,
    maxReplicas: 10,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }],
    ...spec,
  },
});

const getHpa = () => unwrap(f.store.get<HorizontalPodAutoscaler>({ kind: 'HorizontalPodAutoscaler', namespace: 'default', name: 'web' }));
const getRs = () => unwrap(f.store.get<ReplicaSet>({ kind: 'ReplicaSet', namespace: 'default', name: 'web' }));
const readyAll = async () => {
  const pending = f.pods((p) => isPodActive(p) && !isPodReady(p));
  for (const p of pending) await f.ready(p);
  if (pending.length > 0) await f.settle();
};

async function start(options: { syncPeriodMs?: number } = {}) {
  let metrics: FakeMetrics | undefined;
  f = await fixture(
    (o) => new ReplicaSetController(o),
    (o) => new DeploymentController(o),
    (o) => new HorizontalPodAutoscalerController({ ...o, ...options, metrics: (metrics = new FakeMetrics(() => f.pods())) }),
  );
  return metrics!;
}

/**
 * 2 pods requesting 100m, target 50 %: load 100m (50 %) for 10 s, 180m (90 % → 4 pods)
 * until 50 s, then 60m. The scale-down waits for the 300 s window after the last
 * recommendation of 4 (at 45 s): it happens at the first sync after 345 s.
 */
async function scenario(): Promise<{ timeline: [number, number][]; at300: HorizontalPodAutoscaler; end: HorizontalPodAutoscaler }> {
  const metrics = await start();
  unwrap(await f.store.create(replicaSet(2)));
  await f.settle();
  await readyAll();
  metrics.totalMilli = 100;
  const t0 = f.clock.now();
  unwrap(await f.store.create(hpa()));
  await f.settle();
  const timeline: [number, number][] = [[0, getRs().spec.replicas ?? 1]];
  let at300: HorizontalPodAutoscaler | undefined;
  for (let s = 5; s <= 400; s += 5) {
    if (s === 10) metrics.totalMilli = 180;
    if (s === 50) metrics.totalMilli = 60;
    await f.clock.advance(5000);
    await readyAll(); // the kubelet starts new pods within 5 s
    const replicas = getRs().spec.replicas ?? 1;
    if (replicas !== timeline.at(-1)![1]) timeline.push([(f.clock.now() - t0) / 1000, replicas]);
    if (s === 300) at300 = getHpa();
  }
  return { timeline, at300: at300!, end: getHpa() };
}

describe('HorizontalPodAutoscalerController', () => {
  it('scales up on high cpu at once and down only after the stabilization window, on the same timeline every run', async () => {
    const first = await scenario();
    expect(first.timeline).toEqual([
      [0, 2],
      [15, 4], // 90 % of request against 50 %: ⌈2 × 1.8⌉
      [345, 2], // 15 %: ⌈4 × 0.3⌉, held by the recommendations of 4 until 45 s + 300 s
    ]);
    // At 4 pods the load is 45 % (ratio 0.9): within the tolerance, no change at 30 s and 45 s.
    expect(first.at300.status).toMatchObject({ currentReplicas: 4, desiredReplicas: 4, lastScaleTime: '2026-01-01T00:00:15Z' });
    expect(getCondition(first.at300.status?.conditions, 'AbleToScale')).toMatchObject({ status: 'True', reason: 'ScaleDownStabilized' });
    expect(first.end.status).toMatchObject({
      currentReplicas: 2,
      desiredReplicas: 2,
      lastScaleTime: '2026-01-01T00:05:45Z',
      currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 30, averageValue: '30m' } } }],
    });
    expect(getCondition(first.end.status?.conditions, 'ScalingActive')).toMatchObject({ status: 'True', reason: 'ValidMetricFound' });
    expect(getCondition(first.end.status?.conditions, 'ScalingLimited')).toMatchObject({ status: 'False', reason: 'DesiredWithinRange' });
    await f.close();
    f = undefined as unknown as Fixture;
    const second = await scenario();
    expect(second.timeline).toEqual(first.timeline);
    expect(second.end.status).toEqual(first.end.status);
  });

  it('honours behavior.scaleDown.stabilizationWindowSeconds and the sync period', async () => {
    const metrics = await start({ syncPeriodMs: 10_000 });
    unwrap(await f.store.create(replicaSet(4)));
    await f.settle();
    await readyAll();
    metrics.totalMilli = 40; // 10 % each: ⌈4 × 0.2⌉ = 1
    const t0 = f.clock.now();
    unwrap(await f.store.create(hpa({ behavior: { scaleDown: { stabilizationWindowSeconds: 60 } } })));
    await f.settle();
    const changed = await f.clock.advanceUntil(() => getRs().spec.replicas === 1, { step: 1000, limit: 300_000 });
    // Recommendations of 1 from the start: no higher one in the window, so the first sync scales down.
    expect(changed).toBe(0);
    expect(f.clock.now() - t0).toBe(0);

    await f.clock.advance(15_000); // the scale-down event leaves the 15 s policy period
    metrics.totalMilli = 400; // 1 pod at 400 %: ⌈1 × 8⌉ capped by rate: max(1 + 4, 1 × 2) = 5
    await f.clock.advance(5_000);
    await readyAll();
    expect(f.clock.now() - t0).toBe(20_000);
    expect(getRs().spec.replicas).toBe(5);
    expect(getCondition(getHpa().status?.conditions, 'ScalingLimited')).toMatchObject({ status: 'True', reason: 'ScaleUpLimit' });
    metrics.totalMilli = 50; // 5 pods at 10 %: wants 1, held while the recommendation of 8 (at 20 s) is in the 60 s window
    const t1 = f.clock.now();
    await f.clock.advanceUntil(() => getRs().spec.replicas !== 5, { step: 1000, limit: 300_000 });
    expect(f.clock.now() - t1).toBe(60_000); // syncs every 10 s: 30 … 70 s hold, 80 s scales down
    expect(getRs().spec.replicas).toBe(1);
  });

  it('scale-up is limited by the rate policies, then by maxReplicas', async () => {
    const metrics = await start();
    unwrap(await f.store.create(replicaSet(2)));
    await f.settle();
    await readyAll();
    metrics.totalMilli = 500; // 250 %: wants 10
    unwrap(await f.store.create(hpa({ maxReplicas: 8 })));
    await f.settle();
    expect(getRs().spec.replicas).toBe(6); // max(2 + 4 pods, 2 × 200 %) per 15 s
    expect(getCondition(getHpa().status?.conditions, 'ScalingLimited')).toMatchObject({ status: 'True', reason: 'ScaleUpLimit' });
    await f.clock.advance(1000);
    await readyAll();
    await f.clock.advance(14_000);
    expect(getRs().spec.replicas).toBe(8);
    expect(getCondition(getHpa().status?.conditions, 'ScalingLimited')).toMatchObject({ status: 'True', reason: 'TooManyReplicas' });
  });

  it('applies the tolerance: 10 % off target is no change, 12 % is', async () => {
    const metrics = await start();
    unwrap(await f.store.create(replicaSet(2)));
    await f.settle();
    await readyAll();
    metrics.totalMilli = 110; // 55 % of request, ratio 1.1
    unwrap(await f.store.create(hpa()));
    await f.settle();
    expect(getRs().spec.replicas).toBe(2);
    expect(getHpa().status).toMatchObject({ desiredReplicas: 2, currentReplicas: 2 });
    metrics.totalMilli = 112; // 56 %, ratio 1.12: ⌈2 × 1.12⌉ = 3
    await f.clock.advance(15_000);
    expect(getRs().spec.replicas).toBe(3);
  });

  it('does not let unready pods or pods without samples turn the recommendation around', async () => {
    const metrics = await start();
    unwrap(await f.store.create(replicaSet(4)));
    await f.settle();
    const [a, b, c, d] = f.pods();
    await f.ready(a!);
    await f.ready(b!);
    await f.settle();
    // Two ready pods at 60 % (ratio 1.2 → a naive ⌈2 × 1.2⌉ = 3 would scale down); two still Pending.
    metrics.override.set(a!.metadata.name!, 60).set(b!.metadata.name!, 60);
    unwrap(await f.store.create(hpa()));
    await f.settle();
    expect(getRs().spec.replicas).toBe(4); // the unready pods count as 0: 30 %, a reversal, so no change
    // Now all four ready, two with no samples and two at 10 % (naive: ⌈2 × 0.2⌉ = 1):
    await f.ready(c!);
    await f.ready(d!);
    metrics.override.set(a!.metadata.name!, 10).set(b!.metadata.name!, 10).set(c!.metadata.name!, undefined).set(d!.metadata.name!, undefined);
    await f.clock.advance(15_000);
    expect(getRs().spec.replicas).toBe(4); // missing pods count as 100 % on a scale-down: 55 %, within tolerance
  });

  it('reports a pod without a cpu request as ScalingActive False and does not scale', async () => {
    const metrics = await start();
    unwrap(await f.store.create(replicaSet(2, null)));
    await f.settle();
    await readyAll();
    metrics.totalMilli = 1000;
    unwrap(await f.store.create(hpa()));
    await f.settle();
    expect(getRs().spec.replicas).toBe(2);
    const cond = getCondition(getHpa().status?.conditions, 'ScalingActive');
    expect(cond).toMatchObject({ status: 'False', reason: 'FailedGetResourceMetric' });
    expect(cond?.message).toContain('missing request for cpu in container main');
  });

  it('scales a Deployment through spec.replicas, and brings it within min/maxReplicas', async () => {
    const metrics = await start();
    const d: Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: { replicas: 12, selector: { matchLabels: { app: 'web' } }, template: withCpu('200m') },
    };
    unwrap(await f.store.create(d));
    await f.settle();
    await readyAll();
    metrics.totalMilli = 1200;
    unwrap(await f.store.create(hpa({}, 'Deployment')));
    await f.settle();
    const getD = () => unwrap(f.store.get<Deployment>({ kind: 'Deployment', namespace: 'default', name: 'web' }));
    expect(getD().spec.replicas).toBe(10); // above maxReplicas: brought to 10 at once
    await readyAll();
    metrics.totalMilli = 2000; // 10 pods at 100m of 200m: 50 %, on target
    await f.clock.advance(15_000);
    await readyAll();
    expect(getD().spec.replicas).toBe(10);
    expect(getHpa().status).toMatchObject({ currentReplicas: 10, desiredReplicas: 10 });
  });
});

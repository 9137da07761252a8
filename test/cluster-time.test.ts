/**
 * Deterministic time, for the whole cluster: a FakeClock drives the master (controllers,
 * node lifecycle, HPA) and the kubelets (which follow the master's clock), with real
 * kubelet threads and real guests. The test moves cluster time one second at a time and,
 * after each step, lets the cluster settle (controllers idle, store quiet) before looking.
 * Minutes of cluster time — CrashLoopBackOff, a rolling update, HPA scaling up and, after
 * its stabilization window, down, and a dead node's pods evicted and replaced — pass in a
 * few real seconds, and the timeline observed is exactly the one asserted, on every run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, FakeClock, createImage, type KubeObject } from '../src/index.js';
import { webImage } from '../examples/apps/web/image.js';
import { I32, assemble, op } from './helpers/wasm.js';

interface PodLike extends KubeObject {
  readonly spec: { readonly nodeName?: string; readonly containers: readonly { readonly image: string }[] };
  readonly status?: {
    readonly phase?: string;
    readonly conditions?: readonly { readonly type: string; readonly status: string }[];
    readonly containerStatuses?: readonly { readonly restartCount: number; readonly state?: { readonly waiting?: { readonly reason?: string } } }[];
  };
}

const clock = new FakeClock(Date.UTC(2026, 0, 1));
const t0 = clock.now();
let cluster: Cluster;

/** Exits with `code` at once. */
function exitModule(code: number): Uint8Array {
  return assemble({ types: [[[I32], []], [[], []]], imports: [['proc_exit', 0]], memory: { min: 1 }, funcs: [{ type: 1, body: [op.i32(code), op.call(0)] }] });
}
/** Computes forever without a WASI call: 100% busy. */
function spinModule(): Uint8Array {
  return assemble({ types: [[[], []]], imports: [], memory: { min: 1 }, funcs: [{ type: 0, body: [op.loop, op.br(0), op.end] }] });
}

const seconds = (): number => Math.round((clock.now() - t0) / 1000);

/** The cluster has nothing left to do at this instant: controllers idle and the store quiet for a while (real time). */
async function settle(): Promise<void> {
  for (let quiet = 0, rounds = 0; quiet < 3; rounds++) {
    if (rounds > 400) throw new Error(`the cluster did not settle at ${seconds()} s: the store kept changing (revision ${cluster.store.revision})`);
    const before = cluster.store.revision;
    await cluster.whenIdle();
    await new Promise((r) => setTimeout(r, 15));
    quiet = cluster.store.revision === before ? quiet + 1 : 0;
  }
}

/** Advances cluster time `step` s at a time until `until()` holds (or `limit` s pass), settling after each step. */
async function run(limit: number, until: () => boolean = () => false, each: () => void = () => {}, step = 1): Promise<void> {
  for (let i = 0; i < limit && !until(); i += step) {
    await clock.advance(step * 1000);
    await settle();
    each();
  }
}

const pods = (selector: string): PodLike[] => cluster.list<PodLike>('pods', { labelSelector: selector }).filter((p) => p.metadata.deletionTimestamp === undefined);
const isReady = (p: PodLike): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/**
 * The HPA's input here: a pod's CPU by what it runs — a running `burn:1` container (a
 * guest that spins) uses a whole core, anything else none. The kubelets' own measure
 * (busy wall time of the container threads, tested in test/kubelet.test.ts and
 * src/sandbox/runtime.test.ts) depends on how loaded this machine is and reaches the
 * master with the heartbeats, so which HPA sync first sees a new pod's sample would
 * depend on how fast a node started it; for an exact timeline the HPA reads this.
 */
const byImage = {
  cpuMilli(namespace: string, pod: string): number | undefined {
    const p = cluster.list<PodLike>('pods', { namespace }).find((x) => x.metadata.name === pod);
    if (p?.status?.phase !== 'Running') return undefined;
    return p.spec.containers.some((c) => c.image === 'burn:1') ? 1000 : 0;
  },
};

beforeAll(async () => {
  cluster = await Cluster.start({ nodes: 2, clock, podMetrics: byImage, onError: (what, e) => console.error(what, e) });
  await webImage(cluster.images.store, 'web:1', { version: '1' });
  await webImage(cluster.images.store, 'web:2', { version: '2' });
  await createImage(cluster.images.store, { ref: 'crash:1', layers: [{ 'crash.wasm': { content: exitModule(3), mode: 0o755 } }], config: { Entrypoint: ['/crash.wasm'] } });
  await createImage(cluster.images.store, { ref: 'burn:1', layers: [{ 'burn.wasm': { content: spinModule(), mode: 0o755 } }], config: { Entrypoint: ['/burn.wasm'] } });
  await settle();
});
afterAll(async () => {
  await cluster?.stop();
});

describe('the cluster on a FakeClock', () => {
  it('walks CrashLoopBackOff: restarts 10 s, 20 s, 40 s apart', async () => {
    const start = seconds();
    await cluster.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'crasher', labels: { app: 'crasher' } }, spec: { containers: [{ name: 'c', image: 'crash:1' }] } });
    await settle();
    const timeline: string[] = [];
    let last = '';
    const look = (): void => {
      const s = pods('app=crasher')[0]?.status?.containerStatuses?.[0];
      const now = `restarts=${s?.restartCount ?? 0} ${s?.state?.waiting?.reason ?? 'running'}`;
      if (now !== last) timeline.push(`${seconds() - start}s ${now}`);
      last = now;
    };
    look();
    await run(75, () => false, look);
    expect(timeline).toEqual([
      '0s restarts=0 CrashLoopBackOff',
      '10s restarts=1 CrashLoopBackOff',
      '30s restarts=2 CrashLoopBackOff',
      '70s restarts=3 CrashLoopBackOff',
    ]);
    await cluster.delete('pod', 'crasher');
    await settle();
  });

  it('rolls a Deployment out one surge pod at a time, as readiness probes pass in cluster time', async () => {
    const deployment = (image: string) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image, ports: [{ containerPort: 80 }], readinessProbe: { httpGet: { path: '/version', port: 80 }, initialDelaySeconds: 5, periodSeconds: 5 } }] },
        },
      },
    });
    await cluster.apply(deployment('web:1'));
    await run(60, () => pods('app=web').filter(isReady).length === 3);
    const start = seconds();
    const timeline: string[] = [];
    const look = (): void => {
      const p = pods('app=web');
      const line = `v1 ready=${p.filter((x) => x.spec.containers[0]?.image === 'web:1' && isReady(x)).length}/${p.filter((x) => x.spec.containers[0]?.image === 'web:1').length} v2 ready=${p.filter((x) => x.spec.containers[0]?.image === 'web:2' && isReady(x)).length}/${p.filter((x) => x.spec.containers[0]?.image === 'web:2').length}`;
      if (timeline.at(-1)?.endsWith(line) !== true) timeline.push(`${seconds() - start}s ${line}`);
      // maxSurge 1, maxUnavailable 0: never more than 4 pods, never fewer than 3 ready.
      expect(p.length).toBeLessThanOrEqual(4);
      expect(p.filter(isReady).length).toBeGreaterThanOrEqual(3);
    };
    await cluster.apply(deployment('web:2'));
    await settle();
    look();
    await run(60, () => pods('app=web').every((x) => x.spec.containers[0]?.image === 'web:2' && isReady(x)) && pods('app=web').length === 3, look);
    expect(timeline).toEqual([
      '0s v1 ready=3/3 v2 ready=0/1',
      '5s v1 ready=2/2 v2 ready=1/2',
      '10s v1 ready=1/1 v2 ready=2/3',
      '15s v1 ready=0/0 v2 ready=3/3',
    ]);
    await cluster.delete('deployment', 'web');
    await settle();
  });

  it('scales with the HPA: up at its first sync, down only after the 300 s stabilization window', { timeout: 90_000 }, async () => {
    await cluster.apply([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'burn' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'burn' } }, template: { metadata: { labels: { app: 'burn' } }, spec: { containers: [{ name: 'burn', image: 'burn:1', resources: { requests: { cpu: '500m' } } }] } } },
      },
      {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'burn' },
        spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'burn' }, minReplicas: 1, maxReplicas: 3, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }] },
      },
    ]);
    const start = seconds();
    const timeline: string[] = [];
    const look = (): void => {
      const d = cluster.get<KubeObject<{ replicas: number }>>('deployment', 'burn');
      const line = `replicas=${d.spec?.replicas}`;
      if (timeline.at(-1)?.endsWith(line) !== true) timeline.push(`${seconds() - start}s ${line}`);
    };
    look();
    // A spinning guest uses a core: 1000m of a 500m request is 200%, 4× the target.
    await run(40, () => false, look, 5);
    // The load stops (the template now runs an idle server): recommendations drop at
    // once, but the HPA keeps the highest of the last 300 s.
    await cluster.patch('deployment', 'burn', { spec: { template: { spec: { containers: [{ name: 'burn', image: 'web:1', resources: { requests: { cpu: '500m' } } }] } } } });
    const idleFrom = seconds() - start;
    // The rollout, in real time, before the clock moves on: how long a cold node takes to
    // start the new pods (image pull, compile, threads) must not decide which HPA sync
    // first sees them (run alone, this test would see them a sync later than after the
    // tests above, which warm web:1 on both nodes).
    await cluster.waitFor('the idle pods running, the spinning ones gone', () => {
      const p = cluster.list<PodLike>('pods', { labelSelector: 'app=burn' });
      return p.length === 3 && p.every((x) => x.spec.containers[0]?.image === 'web:1' && x.status?.phase === 'Running');
    }, { timeoutMs: 30_000 });
    await settle();
    await run(360, () => false, look, 5);
    expect(idleFrom).toBe(40);
    // The last high recommendation was at the 30 s sync (the 45 s sync sees idle pods): the
    // window keeps it until 330 s, when it is no longer within the last 300 s.
    expect(timeline).toEqual(['0s replicas=1', '15s replicas=3', '330s replicas=1']);
    await cluster.delete('hpa', 'burn');
    await cluster.delete('deployment', 'burn');
    await settle();
  });

  it('evicts a dead node\'s pods after the 300 s toleration and replaces them on the live node', { timeout: 90_000 }, async () => {
    await cluster.apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'keep' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'keep' } }, template: { metadata: { labels: { app: 'keep' } }, spec: { containers: [{ name: 'web', image: 'web:1', ports: [{ containerPort: 80 }] }] } } },
    });
    await run(30, () => pods('app=keep').filter(isReady).length === 2);
    const nodesUsed = new Set(pods('app=keep').map((p) => p.spec.nodeName));
    expect(nodesUsed.size).toBe(2);
    await cluster.nodes.kill('node-2');
    await settle();
    const start = seconds();
    const timeline: string[] = [];
    const look = (): void => {
      const p = pods('app=keep');
      const line = `on node-2: ${p.filter((x) => x.spec.nodeName === 'node-2').length}, ready on node-1: ${p.filter((x) => x.spec.nodeName === 'node-1' && isReady(x)).length}`;
      if (timeline.at(-1)?.endsWith(line) !== true) timeline.push(`${seconds() - start}s ${line}`);
    };
    look();
    const ready = cluster.get<KubeObject<unknown, { conditions: { type: string; status: string }[] }>>('node', 'node-2').status?.conditions.find((c) => c.type === 'Ready')?.status;
    expect(ready).toBe('False'); // at once, not after the 40 s grace period
    await run(320, () => false, look, 5);
    expect(timeline).toEqual(['0s on node-2: 1, ready on node-1: 1', '300s on node-2: 0, ready on node-1: 2']);
  });
});

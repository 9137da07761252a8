/**
 * The node lifecycle controller with the ReplicaSet controller and the scheduler: a node
 * goes silent, its pods are evicted when the default toleration runs out, and the
 * ReplicaSet's replacements land on the node that is still alive. The test plays both
 * kubelets (heartbeats, pod status).
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FakeClock, timestamp } from '../clock.js';
import type { ReplicaSet } from '../objects/apps.js';
import type { Endpoints, Node, Pod, Service } from '../objects/core.js';
import { withDefaults } from '../objects/index.js';
import { openStore, unwrap, type Store } from '../store/index.js';
import { EndpointsController } from './endpoints.js';
import { NodeLifecycleController } from './node-lifecycle.js';
import { ReplicaSetController } from './replicaset.js';
import { SchedulingController } from './scheduling.js';

let clock: FakeClock;
let store: Store;
let running: { start(): Promise<void>; stop(): Promise<void>; whenIdle(): Promise<void> }[];
const alive = new Set<string>();
let ip = 2;

beforeEach(async () => {
  clock = new FakeClock();
  store = await openStore({ now: () => clock.now() });
  alive.clear();
  running = [
    new NodeLifecycleController({ store, clock }),
    new ReplicaSetController({ store, clock }),
    new SchedulingController({ store, clock }),
    new EndpointsController({ store, clock }),
  ];
});

afterEach(async () => {
  for (const c of running) await c.stop();
  await store.close();
});

const pods = (): Pod[] => unwrap(store.list<Pod>('Pod', { namespace: 'default' })).items.filter((p) => p.metadata.deletionTimestamp === undefined);

function endpointIPs(): { ready: string[]; notReady: string[] } {
  const ep = unwrap(store.get<Endpoints>({ kind: 'Endpoints', namespace: 'default', name: 'web' }));
  const all = (which: 'addresses' | 'notReadyAddresses'): string[] => (ep.subsets ?? []).flatMap((s) => (s[which] ?? []).map((a) => a.ip)).sort();
  return { ready: all('addresses'), notReady: all('notReadyAddresses') };
}

async function addNode(name: string): Promise<void> {
  unwrap(await store.create<Node>({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec: {} }));
  alive.add(name);
  await kubelets();
}

/** Both kubelets: heartbeat the live nodes; start and ready the pods bound to them. */
async function kubelets(): Promise<void> {
  const now = timestamp(clock.now());
  for (const name of alive) {
    const node = unwrap(store.get<Node>({ kind: 'Node', namespace: '', name }));
    const prev = node.status?.conditions?.find((c) => c.type === 'Ready');
    unwrap(
      await store.updateStatus<Node>({
        ...node,
        status: {
          capacity: { cpu: '4', memory: '8Gi', pods: '110' },
          allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
          conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: now, lastTransitionTime: prev?.status === 'True' ? (prev.lastTransitionTime ?? now) : now }],
        },
      }),
    );
  }
  for (const p of pods()) {
    if (!p.spec.nodeName || !alive.has(p.spec.nodeName) || p.status?.podIP) continue;
    unwrap(await store.updateStatus<Pod>({ ...p, status: { phase: 'Running', podIP: `10.244.0.${ip++}`, conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }] } }));
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await clock.settle();
    for (const c of running) await c.whenIdle();
  }
}

/** Cluster time to `ms` after the start, in 10 s steps, the kubelets running at each. */
async function at(t0: number, ms: number): Promise<void> {
  while (clock.now() < t0 + ms) {
    await clock.advance(Math.min(10_000, t0 + ms - clock.now()));
    await settle();
    await kubelets();
    await settle();
  }
}

it('replaces the pods of a node that stopped heartbeating on a live node, after the default 300 s toleration', async () => {
  const t0 = clock.now();
  await addNode('node-1');
  for (const c of running) await c.start();
  const rs = withDefaults<ReplicaSet>({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web', namespace: 'default' },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image: 'web:1' }] } } },
  });
  unwrap(await store.create(rs));
  unwrap(await store.create<Service>({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } }));
  await settle();
  await kubelets();
  await settle();
  expect(pods().map((p) => p.spec.nodeName)).toEqual(['node-1', 'node-1']);
  const first = pods().map((p) => p.metadata.name);

  await addNode('node-2');
  alive.delete('node-1'); // its kubelet dies (last heartbeat at t0)
  await settle();

  await at(t0, 40_000);
  // The unreachable node's pods are marked not ready: the Service stops sending them traffic.
  expect(endpointIPs()).toEqual({ ready: [], notReady: pods().map((p) => p.status?.podIP) });
  await at(t0, 339_999);
  expect(pods().map((p) => p.metadata.name)).toEqual(first);
  await at(t0, 340_000);
  await at(t0, 360_000);
  const now = pods();
  expect(now).toHaveLength(2);
  expect(now.map((p) => p.metadata.name).some((n) => first.includes(n))).toBe(false);
  expect(now.map((p) => p.spec.nodeName)).toEqual(['node-2', 'node-2']);
  expect(endpointIPs()).toEqual({ ready: now.map((p) => p.status?.podIP).sort(), notReady: [] });
});

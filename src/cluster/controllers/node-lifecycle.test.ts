import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock, timestamp } from '../clock.js';
import type { Node, NodeCondition, Pod, Toleration } from '../objects/core.js';
import { openStore, unwrap, type Store } from '../store/index.js';
import { effectiveTolerations, evictionTime, NodeLifecycleController, type NodeLifecycleControllerOptions } from './node-lifecycle.js';

let clock: FakeClock;
let store: Store;
let ctrl: NodeLifecycleController;
let t0: number;
/** Nodes whose kubelet is alive: the test heartbeats them at every step. */
const alive = new Set<string>();

beforeEach(async () => {
  clock = new FakeClock();
  t0 = clock.now();
  store = await openStore({ now: () => clock.now() });
  alive.clear();
});

afterEach(async () => {
  await ctrl.stop();
  await store.close();
});

async function start(options: Partial<NodeLifecycleControllerOptions> = {}): Promise<void> {
  ctrl = new NodeLifecycleController({ store, clock, ...options });
  await ctrl.start();
  await sync();
}

async function sync(): Promise<void> {
  await clock.settle();
  await ctrl.whenIdle();
}

const getNode = (name: string): Node => unwrap(store.get<Node>({ kind: 'Node', namespace: '', name }));
const ready = (name: string): NodeCondition | undefined => getNode(name).status?.conditions?.find((c) => c.type === 'Ready');
const hasPod = (name: string): boolean => store.get({ kind: 'Pod', namespace: 'default', name }).ok;

/** The test plays kubelet: posts the Ready condition with a heartbeat at the current cluster time. */
async function heartbeat(name: string, status: 'True' | 'False' = 'True'): Promise<void> {
  const node = getNode(name);
  const now = timestamp(clock.now());
  const old = node.status?.conditions?.find((c) => c.type === 'Ready');
  const cond: NodeCondition = {
    type: 'Ready',
    status,
    reason: status === 'True' ? 'KubeletReady' : 'KubeletNotReady',
    lastHeartbeatTime: now,
    lastTransitionTime: old?.status === status ? (old.lastTransitionTime ?? now) : now,
  };
  unwrap(await store.updateStatus<Node>({ ...node, status: { ...node.status, conditions: [cond] } }));
}

async function addNode(name: string): Promise<void> {
  unwrap(await store.create<Node>({ apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {} }));
  await heartbeat(name);
  alive.add(name);
}

async function addPod(name: string, nodeName: string, tolerations?: Toleration[]): Promise<void> {
  unwrap(
    await store.create<Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: { nodeName, containers: [{ name: 'c', image: 'x' }], ...(tolerations ? { tolerations } : {}) },
    }),
  );
  const p = unwrap(store.get<Pod>({ kind: 'Pod', namespace: 'default', name }));
  unwrap(await store.updateStatus<Pod>({ ...p, status: { phase: 'Running', podIP: '10.244.0.2', conditions: [{ type: 'Ready', status: 'True' }] } }));
}

/** Moves cluster time to t0 + `ms`, in steps of at most 10 s, heartbeating the live nodes at each step. */
async function at(ms: number): Promise<void> {
  while (clock.now() < t0 + ms) {
    await clock.advance(Math.min(10_000, t0 + ms - clock.now()));
    for (const n of alive) await heartbeat(n);
    await sync();
  }
}

describe('NodeLifecycleController', () => {
  it('marks a silent node Unknown after the grace period, taints it, evicts its pods when their tolerations run out, and untaints it when it is back', async () => {
    await addNode('node-1');
    await addNode('node-2');
    await addPod('default-tol', 'node-1'); // DefaultTolerationSeconds: 300 s
    await addPod('short-tol', 'node-1', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }]);
    await addPod('forever', 'node-1', [{ operator: 'Exists' }]);
    await addPod('elsewhere', 'node-2');
    await start();
    alive.delete('node-1'); // its kubelet dies now (last heartbeat at t0)

    await at(39_999);
    expect(ready('node-1')?.status).toBe('True');
    expect(getNode('node-1').spec?.taints ?? []).toEqual([]);

    await at(40_000);
    expect(ready('node-1')).toMatchObject({ status: 'Unknown', reason: 'NodeStatusUnknown', lastTransitionTime: timestamp(t0 + 40_000) });
    expect(getNode('node-1').spec?.taints).toEqual([{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: timestamp(t0 + 40_000) }]);
    const podReady = unwrap(store.get<Pod>({ kind: 'Pod', namespace: 'default', name: 'default-tol' })).status?.conditions?.find((c) => c.type === 'Ready');
    expect(podReady?.status).toBe('False');
    expect(ready('node-2')?.status).toBe('True');
    expect(getNode('node-2').spec?.taints ?? []).toEqual([]);

    await at(99_999);
    expect(hasPod('short-tol')).toBe(true);
    await at(100_000); // 40 s + 60 s toleration
    expect(hasPod('short-tol')).toBe(false);
    expect(hasPod('default-tol')).toBe(true);

    await at(339_999);
    expect(hasPod('default-tol')).toBe(true);
    await at(340_000); // 40 s + 300 s default toleration
    expect(hasPod('default-tol')).toBe(false);

    await at(500_000);
    expect(hasPod('forever')).toBe(true);
    expect(hasPod('elsewhere')).toBe(true);

    // The kubelet comes back.
    await heartbeat('node-1');
    alive.add('node-1');
    await sync();
    expect(ready('node-1')?.status).toBe('True');
    expect(getNode('node-1').spec?.taints).toBeUndefined();
    await at(560_000);
    expect(hasPod('forever')).toBe(true);
  });

  it('taints a Ready=False node not-ready, evicts after podEvictionTimeout, and stops when it recovers', async () => {
    await addNode('node-1');
    await addPod('a', 'node-1');
    await addPod('b', 'node-1', [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 100 }]);
    await addPod('keep', 'node-1', [{ key: 'dedicated', operator: 'Equal', value: 'x', effect: 'NoSchedule' }]);
    await start({ podEvictionTimeout: 30_000 });
    const userTaint = { key: 'dedicated', value: 'x', effect: 'NoSchedule' as const };
    const n = getNode('node-1');
    unwrap(await store.update<Node>({ ...n, spec: { ...n.spec, taints: [userTaint] } }));

    await at(10_000);
    await heartbeat('node-1', 'False'); // the kubelet reports itself not ready (and keeps heartbeating)
    await sync();
    expect(getNode('node-1').spec?.taints).toEqual([userTaint, { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', timeAdded: timestamp(t0 + 10_000) }]);
    expect(ready('node-1')?.status).toBe('False');

    // The kubelet stays alive but not ready: heartbeats with Ready=False.
    while (clock.now() < t0 + 39_999) {
      await clock.advance(Math.min(5_000, t0 + 39_999 - clock.now()));
      await heartbeat('node-1', 'False');
      await sync();
    }
    expect(hasPod('a')).toBe(true);
    expect(hasPod('keep')).toBe(true);
    await clock.advance(1);
    await sync();
    expect(hasPod('a')).toBe(false); // 10 s + 30 s
    expect(hasPod('keep')).toBe(false); // its own toleration is for another taint: the default applies
    expect(hasPod('b')).toBe(true);
    expect(ready('node-1')?.status).toBe('False'); // heartbeats keep it from Unknown

    await heartbeat('node-1', 'True');
    alive.add('node-1');
    await sync();
    expect(getNode('node-1').spec?.taints).toEqual([userTaint]);
    await at(500_000);
    expect(hasPod('b')).toBe(true);
  });

  it('keeps the eviction time of a dead node\'s pods when its not-ready taint turns unreachable', async () => {
    await addNode('node-1');
    await addPod('a', 'node-1');
    await start();
    await at(10_000);
    alive.delete('node-1');
    await heartbeat('node-1', 'False'); // its thread died: NotReady at once, then silence
    await sync();
    expect(getNode('node-1').spec?.taints?.map((t) => t.key)).toEqual(['node.kubernetes.io/not-ready']);
    await at(50_000); // 40 s without a heartbeat: Unknown, the taint swapped for unreachable
    expect(ready('node-1')?.status).toBe('Unknown');
    expect(getNode('node-1').spec?.taints).toEqual([{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: timestamp(t0 + 50_000) }]);
    // Evicted 300 s after the first NoExecute taint (at 310 s), not 300 s after the swap (350 s).
    await at(309_000);
    expect(hasPod('a')).toBe(true);
    await at(310_000);
    expect(hasPod('a')).toBe(false);
  });

  it('gives a node that never posts status nodeStartupGracePeriod, with configurable grace periods', async () => {
    unwrap(await store.create<Node>({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'mute' }, spec: {} }));
    await addNode('quick');
    await start({ nodeMonitorGracePeriod: 5_000, nodeStartupGracePeriod: 20_000 });
    alive.delete('quick');
    await clock.advance(4_999);
    await sync();
    expect(ready('quick')?.status).toBe('True');
    await clock.advance(1);
    await sync();
    expect(ready('quick')?.status).toBe('Unknown');
    expect(ready('mute')).toBeUndefined();
    await clock.advance(15_000);
    await sync();
    expect(ready('mute')).toMatchObject({ status: 'Unknown', reason: 'NodeStatusNeverUpdated' });
    expect(getNode('mute').spec?.taints?.map((t) => t.key)).toEqual(['node.kubernetes.io/unreachable']);
  });
});

describe('pods of missing nodes', () => {
  it('deletes pods bound to a node that does not exist once it has been missing for the grace period', async () => {
    await addNode('node-1');
    await addPod('on-ghost', 'ghost');
    await addPod('on-node-1', 'node-1');
    await start();
    await at(39_999);
    expect(hasPod('on-ghost')).toBe(true);
    await at(40_000);
    expect(hasPod('on-ghost')).toBe(false);
    expect(hasPod('on-node-1')).toBe(true);

    unwrap(await store.delete({ kind: 'Node', namespace: '', name: 'node-1' }));
    alive.delete('node-1');
    await sync();
    await at(79_999);
    expect(hasPod('on-node-1')).toBe(true);
    await at(80_000);
    expect(hasPod('on-node-1')).toBe(false);
  });
});

describe('a restarted master', () => {
  it('gives nodes with old heartbeats a full grace period from its start', async () => {
    await addNode('node-1');
    alive.delete('node-1');
    await clock.advance(600_000); // the master was down for 10 minutes
    await start();
    expect(ready('node-1')?.status).toBe('True');
    await clock.advance(39_999);
    await sync();
    expect(ready('node-1')?.status).toBe('True');
    await clock.advance(1);
    await sync();
    expect(ready('node-1')?.status).toBe('Unknown');
  });
});

describe('eviction rules', () => {
  const unreachable = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' as const };
  const added = (): number => 1_000_000;

  it('adds DefaultTolerationSeconds tolerations unless the pod has its own', () => {
    expect(effectiveTolerations([], 300_000)).toEqual([
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);
    expect(effectiveTolerations([{ operator: 'Exists' }], 300_000)).toEqual([{ operator: 'Exists' }]);
    expect(effectiveTolerations([{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: 5 }], 300_000).map((t) => t.key)).toEqual([
      'node.kubernetes.io/unreachable',
      'node.kubernetes.io/not-ready',
    ]);
  });

  it('evicts at once for an untolerated taint, at the shortest tolerationSeconds, never without one', () => {
    expect(evictionTime([], [unreachable], added)).toBe(1_000_000);
    expect(evictionTime([{ key: unreachable.key, operator: 'Exists', tolerationSeconds: 30 }, { operator: 'Exists', tolerationSeconds: 10 }], [unreachable], added)).toBe(1_010_000);
    expect(evictionTime([{ operator: 'Exists', tolerationSeconds: -5 }], [unreachable], added)).toBe(1_000_000);
    expect(evictionTime([{ operator: 'Exists' }], [unreachable], added)).toBeUndefined();
  });
});

/**
 * Test fixtures for the controllers: an in-memory store on a FakeClock with
 * deterministic uids and generated names, and a stand-in kubelet/scheduler that
 * moves pods through their phases with `updateStatus`, as the real ones will.
 */
import { FakeClock, timestamp } from '../clock.js';
import type { Pod, PodTemplateSpec } from '../objects/index.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/store.js';
import type { Controller } from './controller.js';

export interface Fixture {
  readonly store: Store;
  readonly clock: FakeClock;
  /** Lets controllers and the store settle (no time passes). */
  settle(): Promise<void>;
  /** Pods in `namespace` (default `default`), optionally only those for which `filter` holds. */
  pods(filter?: (p: Pod) => boolean, namespace?: string): Pod[];
  /** The kubelet: binds, starts and readies the pod (Running, Ready=True since now). */
  ready(pod: Pod): Promise<void>;
  /** The kubelet: the pod ran to completion. */
  finish(pod: Pod, phase: 'Succeeded' | 'Failed'): Promise<void>;
  /** The kubelet restarted the pod's container (restartCount + 1). */
  restart(pod: Pod): Promise<void>;
  close(): Promise<void>;
}

export async function fixture(...controllers: ((f: { store: Store; clock: FakeClock }) => Controller)[]): Promise<Fixture> {
  const clock = new FakeClock();
  let uid = 0;
  let seed = 1;
  const store = await openStore({
    now: () => clock.now(),
    uid: () => `uid-${++uid}`,
    // A small LCG: the same names on every run.
    random: () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    },
  });
  const running = controllers.map((make) => make({ store, clock }));
  for (const c of running) await c.start();
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      await clock.settle();
      for (const c of running) await c.whenIdle();
      await store.whenIdle();
    }
  };
  const write = async (pod: Pod, status: NonNullable<Pod['status']>, spec?: Pod['spec']) => {
    const key = { kind: 'Pod', namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name ?? '' };
    if (spec !== undefined) {
      const cur = store.get<Pod>(key);
      if (cur.ok) await store.update<Pod>({ ...cur.value, spec });
    }
    const cur = store.get<Pod>(key);
    if (!cur.ok) return;
    const r = await store.updateStatus<Pod>({ ...cur.value, status: { ...(cur.value.status ?? {}), ...status } });
    if (!r.ok) throw r.error;
  };
  const container = (p: Pod, restartCount = 0) =>
    (p.spec.containers ?? []).map((c) => ({ name: c.name, image: c.image ?? '', imageID: '', ready: true, restartCount }));
  return {
    store,
    clock,
    settle,
    pods(filter, namespace = 'default') {
      const r = store.list<Pod>('Pod', { namespace });
      if (!r.ok) throw r.error;
      return r.value.items.filter((p) => filter === undefined || filter(p));
    },
    async ready(pod) {
      const now = timestamp(clock.now());
      await write(pod, {
        phase: 'Running',
        startTime: now,
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }],
        containerStatuses: container(pod),
      }, pod.spec.nodeName ? undefined : { ...pod.spec, nodeName: 'node-1' });
    },
    async finish(pod, phase) {
      await write(pod, { phase, conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: timestamp(clock.now()) }] });
    },
    async restart(pod) {
      const n = Math.max(0, ...(pod.status?.containerStatuses ?? []).map((s) => s.restartCount));
      await write(pod, { phase: 'Running', containerStatuses: container(pod, n + 1) });
    },
    async close() {
      for (const c of running) await c.stop();
      await store.close();
    },
  };
}

/** A pod template running `image` with `labels`. */
export function template(labels: Record<string, string>, image = 'web:1', extra: Partial<PodTemplateSpec['spec']> = {}): PodTemplateSpec {
  return { metadata: { labels }, spec: { containers: [{ name: 'main', image }], ...extra } };
}

import { afterEach, describe, expect, it } from 'vitest';
import type { Pod, ReplicaSet } from '../objects/index.js';
import { unwrap } from '../store/store.js';
import { controllerRef, isPodActive } from './controller.js';
import { ReplicaSetController } from './replicaset.js';
import { type Fixture, fixture, template } from './testing.js';

let f: Fixture;
afterEach(async () => {
  const open = f as Fixture | undefined;
  f = undefined as unknown as Fixture;
  await open?.close();
});

const rs = (replicas: number, extra: Partial<ReplicaSet['spec']> = {}): ReplicaSet => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name: 'web', namespace: 'default' },
  spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web' }), ...extra },
});

const getRs = () => unwrap(f.store.get<ReplicaSet>({ kind: 'ReplicaSet', namespace: 'default', name: 'web' }));
const scale = async (replicas: number) => {
  const cur = getRs();
  unwrap(await f.store.update<ReplicaSet>({ ...cur, spec: { ...cur.spec, replicas } }));
  await f.settle();
};

describe('ReplicaSetController', () => {
  it('creates pods from the template, owned by the ReplicaSet, and reports status', async () => {
    f = await fixture((o) => new ReplicaSetController(o));
    const created = unwrap(await f.store.create(rs(3)));
    await f.settle();
    const pods = f.pods();
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.metadata.name).toMatch(/^web-[a-z0-9]{5}$/);
      expect(p.metadata.labels).toEqual({ app: 'web' });
      expect(controllerRef(p)).toMatchObject({ kind: 'ReplicaSet', name: 'web', uid: created.metadata.uid, controller: true });
      expect(p.spec.restartPolicy).toBe('Always'); // defaulted like the API server would
    }
    expect(getRs().status).toMatchObject({ replicas: 3, readyReplicas: 0, availableReplicas: 0, fullyLabeledReplicas: 3, observedGeneration: 1 });
    for (const p of pods) await f.ready(p);
    await f.settle();
    expect(getRs().status).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3 });
  });

  it('scales up and down, deleting not-ready pods before ready ones and newer before older', async () => {
    f = await fixture((o) => new ReplicaSetController(o));
    await f.store.create(rs(2));
    await f.settle();
    for (const p of f.pods()) await f.ready(p);
    await f.clock.advance(5000);
    await scale(5);
    expect(f.pods()).toHaveLength(5);
    const readyNames = f.pods((p) => p.status?.phase === 'Running').map((p) => p.metadata.name);
    expect(readyNames).toHaveLength(2);
    // One of the new ones becomes ready: it is newer-ready, so it goes before the two old ready pods.
    const fresh = f.pods((p) => p.status?.phase !== 'Running');
    await f.ready(fresh[0]!);
    await f.clock.advance(1000);
    await scale(3);
    expect(f.pods().map((p) => p.metadata.name).sort()).toEqual([...readyNames, fresh[0]!.metadata.name].sort());
    await scale(2);
    expect(f.pods().map((p) => p.metadata.name).sort()).toEqual([...readyNames].sort());
    expect(getRs().status).toMatchObject({ replicas: 2, readyReplicas: 2, observedGeneration: 4 });
  });

  it('replaces a deleted pod and a failed one', async () => {
    f = await fixture((o) => new ReplicaSetController(o));
    await f.store.create(rs(2));
    await f.settle();
    const [a, b] = f.pods();
    unwrap(await f.store.delete({ kind: 'Pod', namespace: 'default', name: a!.metadata.name! }));
    await f.settle();
    expect(f.pods()).toHaveLength(2);
    expect(f.pods().map((p) => p.metadata.name)).not.toContain(a!.metadata.name);
    await f.finish(b!, 'Failed');
    await f.settle();
    expect(f.pods(isPodActive)).toHaveLength(2);
    expect(getRs().status?.replicas).toBe(2);
  });

  it('adopts a matching orphan instead of creating, and releases a pod whose labels stop matching', async () => {
    f = await fixture((o) => new ReplicaSetController(o));
    const orphan: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'stray', namespace: 'default', labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image: 'web:1' }] } };
    unwrap(await f.store.create(orphan));
    const created = unwrap(await f.store.create(rs(2)));
    await f.settle();
    expect(f.pods()).toHaveLength(2);
    const stray = unwrap(f.store.get<Pod>({ kind: 'Pod', namespace: 'default', name: 'stray' }));
    expect(controllerRef(stray)?.uid).toBe(created.metadata.uid);
    unwrap(await f.store.update<Pod>({ ...stray, metadata: { ...stray.metadata, labels: { app: 'other' } } }));
    await f.settle();
    const released = unwrap(f.store.get<Pod>({ kind: 'Pod', namespace: 'default', name: 'stray' }));
    expect(controllerRef(released)).toBeUndefined();
    expect(f.pods((p) => p.metadata.labels?.app === 'web')).toHaveLength(2);
  });

  it('counts a pod available only after minReadySeconds, in cluster time', async () => {
    f = await fixture((o) => new ReplicaSetController(o));
    await f.store.create(rs(1, { minReadySeconds: 10 }));
    await f.settle();
    await f.ready(f.pods()[0]!);
    await f.settle();
    expect(getRs().status).toMatchObject({ readyReplicas: 1, availableReplicas: 0 });
    await f.clock.advance(9000);
    expect(getRs().status?.availableReplicas).toBe(0);
    await f.clock.advance(1000);
    await f.settle();
    expect(getRs().status?.availableReplicas).toBe(1);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import type { Deployment, Pod, ReplicaSet } from '../objects/index.js';
import { withDefaults } from '../objects/index.js';
import type { IntOrString } from '../objects/index.js';
import { unwrap } from '../store/store.js';
import { controllerRef, getCondition, isPodActive, isPodReady } from './controller.js';
import type { CoreEvent } from './events.js';
import { DeploymentController, POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, podTemplateHash, resolveFenceposts, rollback } from './deployment.js';
import { ReplicaSetController } from './replicaset.js';
import { type Fixture, fixture, template } from './testing.js';

let f: Fixture;
afterEach(async () => {
  const open = f as Fixture | undefined;
  f = undefined as unknown as Fixture;
  await open?.close();
});

const start = () => fixture((o) => new DeploymentController(o), (o) => new ReplicaSetController(o));

const deployment = (replicas: number, spec: Partial<Deployment['spec']> = {}): Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default' },
  spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web' }, 'web:1'), ...spec },
});

const getD = () => unwrap(f.store.get<Deployment>({ kind: 'Deployment', namespace: 'default', name: 'web' }));
const replicaSets = () => unwrap(f.store.list<ReplicaSet>('ReplicaSet', { namespace: 'default' })).items;
const rsOf = (image: string) => replicaSets().find((rs) => rs.spec.template?.spec.containers[0]?.image === image);
const update = async (change: (d: Deployment) => Deployment) => {
  unwrap(await f.store.update(change(getD())));
  await f.settle();
};
const setImage = (image: string) => update((d) => ({ ...d, spec: { ...d.spec, template: template({ app: 'web' }, image) } }));
/** The kubelet readies every pod that is not ready yet. */
const readyAll = async () => {
  for (const p of f.pods((p) => isPodActive(p) && !isPodReady(p))) await f.ready(p);
  await f.settle();
};
const imageOf = (p: Pod) => p.spec.containers[0]?.image;

describe('deployment helpers', () => {
  it('resolves maxSurge up and maxUnavailable down, both 0 making unavailable 1', () => {
    const fp = (replicas: number, maxSurge: IntOrString, maxUnavailable: IntOrString) =>
      resolveFenceposts(deployment(replicas, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable } } }));
    expect(fp(10, '25%', '25%')).toEqual({ maxSurge: 3, maxUnavailable: 2 });
    expect(fp(4, '25%', '25%')).toEqual({ maxSurge: 1, maxUnavailable: 1 });
    expect(fp(3, '10%', '10%')).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    expect(fp(3, 0, 0)).toEqual({ maxSurge: 0, maxUnavailable: 1 });
    expect(fp(3, '0%', '20%')).toEqual({ maxSurge: 0, maxUnavailable: 1 });
    expect(fp(5, 2, '50%')).toEqual({ maxSurge: 2, maxUnavailable: 2 });
    expect(resolveFenceposts(deployment(10))).toEqual({ maxSurge: 3, maxUnavailable: 2 }); // defaults 25%/25%
  });

  it('hashes a template deterministically, and differently per template and collision count', () => {
    const a = podTemplateHash(template({ app: 'web' }, 'web:1'));
    expect(a).toBe(podTemplateHash(template({ app: 'web' }, 'web:1')));
    expect(a).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    expect(podTemplateHash(template({ app: 'web' }, 'web:2'))).not.toBe(a);
    expect(podTemplateHash(template({ app: 'web' }, 'web:1'), 1)).not.toBe(a);
  });
});

describe('DeploymentController', () => {
  it('creates <name>-<hash> with revision 1 and reports a complete, available rollout', async () => {
    f = await start();
    const reasons: string[] = [];
    const watch = unwrap(f.store.watch<Deployment>('Deployment', { resourceVersion: String(f.store.revision) }));
    void (async () => {
      for await (const ev of watch) {
        const r = getCondition(ev.object.status?.conditions, 'Progressing')?.reason;
        if (r !== undefined && r !== reasons.at(-1)) reasons.push(r);
      }
    })();
    unwrap(await f.store.create(deployment(3)));
    await f.settle();
    const [rs, ...rest] = replicaSets();
    expect(rest).toHaveLength(0);
    const hash = rs!.metadata.labels?.[POD_TEMPLATE_HASH_LABEL];
    expect(rs!.metadata.name).toBe(`web-${hash}`);
    expect(rs!.spec.selector.matchLabels).toEqual({ app: 'web', [POD_TEMPLATE_HASH_LABEL]: hash });
    expect(rs!.metadata.annotations?.[REVISION_ANNOTATION]).toBe('1');
    expect(controllerRef(rs!)).toMatchObject({ kind: 'Deployment', name: 'web' });
    expect(f.pods().every((p) => p.metadata.labels?.[POD_TEMPLATE_HASH_LABEL] === hash)).toBe(true);
    expect(getCondition(getD().status?.conditions, 'Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' });
    await readyAll();
    const d = getD();
    expect(d.metadata.annotations?.[REVISION_ANNOTATION]).toBe('1');
    expect(d.status).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, unavailableReplicas: 0, observedGeneration: 1 });
    expect(getCondition(d.status?.conditions, 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
    expect(getCondition(d.status?.conditions, 'Available')).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable' });
    watch.close();
    expect(reasons).toEqual(['NewReplicaSetCreated', 'ReplicaSetUpdated', 'NewReplicaSetAvailable']);
    const events = unwrap(f.store.list<CoreEvent>('Event', { namespace: 'default' })).items;
    expect(events.filter((e) => e.involvedObject.kind === 'Deployment').map((e) => `${e.reason}: ${e.message}`)).toEqual([`ScalingReplicaSet: Scaled up replica set web-${hash} from 0 to 3`]);
    expect(events.filter((e) => e.involvedObject.kind === 'ReplicaSet' && e.reason === 'SuccessfulCreate')).toHaveLength(3);
  });

  // Every step of a rolling update: the ReplicaSets' replicas never exceed replicas +
  // maxSurge and the available pods never drop below replicas − maxUnavailable. The
  // expected bounds are written out here, not computed by the code under test.
  for (const c of [
    { replicas: 4, maxSurge: 1, maxUnavailable: 1, surge: 1, unavailable: 1 },
    { replicas: 10, maxSurge: '25%', maxUnavailable: '25%', surge: 3, unavailable: 2 },
    { replicas: 3, maxSurge: 0, maxUnavailable: 0, surge: 0, unavailable: 1 },
    { replicas: 5, maxSurge: '50%', maxUnavailable: 0, surge: 3, unavailable: 0 },
    { replicas: 5, maxSurge: 0, maxUnavailable: '40%', surge: 0, unavailable: 2 },
  ] as const) {
    it(`rolls ${c.replicas} replicas with maxSurge ${c.maxSurge}, maxUnavailable ${c.maxUnavailable} within bounds at every step`, async () => {
      f = await start();
      unwrap(await f.store.create(deployment(c.replicas, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: c.maxSurge, maxUnavailable: c.maxUnavailable } } })));
      await f.settle();
      await readyAll();
      await setImage('web:2');
      const seen = new Set<string>();
      let steps = 0;
      for (;;) {
        const rss = replicaSets();
        const specTotal = rss.reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0);
        const active = f.pods(isPodActive);
        const available = active.filter(isPodReady).length;
        expect(specTotal, `step ${steps}: ReplicaSets' replicas`).toBeLessThanOrEqual(c.replicas + c.surge);
        expect(active.length, `step ${steps}: pods`).toBeLessThanOrEqual(c.replicas + c.surge);
        expect(available, `step ${steps}: available pods`).toBeGreaterThanOrEqual(c.replicas - c.unavailable);
        seen.add(`${rsOf('web:2')?.spec.replicas}/${rsOf('web:1')?.spec.replicas}`);
        const d = getD();
        if (d.status?.updatedReplicas === c.replicas && d.status.availableReplicas === c.replicas && d.status.replicas === c.replicas) break;
        // The kubelet readies one new pod per step.
        const next = active.find((p) => !isPodReady(p));
        expect(next, `step ${steps}: a pod to ready (rollout stuck)`).toBeDefined();
        await f.ready(next!);
        await f.settle();
        expect(++steps).toBeLessThan(50);
      }
      expect(f.pods(isPodActive).every((p) => imageOf(p) === 'web:2')).toBe(true);
      expect(rsOf('web:1')?.spec.replicas).toBe(0);
      expect(getD().metadata.annotations?.[REVISION_ANNOTATION]).toBe('2');
      expect(rsOf('web:2')?.metadata.annotations?.[REVISION_ANNOTATION]).toBe('2');
      expect(getCondition(getD().status?.conditions, 'Progressing')?.reason).toBe('NewReplicaSetAvailable');
      // Both bounds were actually used at some step: more than one intermediate state.
      expect(seen.size).toBeGreaterThan(2);
    });
  }

  it('takes the first step a rolling update takes in Kubernetes (4 replicas, 1/1)', async () => {
    f = await start();
    unwrap(await f.store.create(deployment(4, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } })));
    await f.settle();
    await readyAll();
    await setImage('web:2');
    // Surge one new, drop one old (unavailable 1), then surge a second new: 2 new + 3 old.
    expect(rsOf('web:2')?.spec.replicas).toBe(2);
    expect(rsOf('web:1')?.spec.replicas).toBe(3);
    expect(getD().status).toMatchObject({ replicas: 5, updatedReplicas: 2, availableReplicas: 3, unavailableReplicas: 2 });
  });

  it('Recreate: scales the old ReplicaSet to 0 and creates the new one only once old pods are gone', async () => {
    f = await start();
    unwrap(await f.store.create(deployment(3, { strategy: { type: 'Recreate' } })));
    await f.settle();
    await readyAll();
    // Old pods linger while terminating (a finalizer), as with a graceful shutdown.
    for (const p of f.pods()) unwrap(await f.store.update<Pod>({ ...p, metadata: { ...p.metadata, finalizers: ['test/shutdown'] } }));
    await setImage('web:2');
    expect(rsOf('web:1')?.spec.replicas).toBe(0);
    expect(rsOf('web:2')).toBeUndefined();
    expect(f.pods((p) => p.metadata.deletionTimestamp !== undefined)).toHaveLength(3);
    await f.clock.advance(10_000);
    expect(rsOf('web:2')).toBeUndefined();
    for (const p of f.pods()) unwrap(await f.store.update<Pod>({ ...p, metadata: { ...p.metadata, finalizers: [] } }));
    await f.settle();
    expect(rsOf('web:2')?.spec.replicas).toBe(3);
    expect(f.pods()).toHaveLength(3);
    expect(f.pods().every((p) => imageOf(p) === 'web:2')).toBe(true);
    await readyAll();
    expect(getD().status).toMatchObject({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 });
  });

  it('rollback restores the previous template, which gets the next revision', async () => {
    f = await start();
    unwrap(await f.store.create(deployment(2)));
    await f.settle();
    await readyAll();
    await setImage('web:2');
    await readyAll();
    await readyAll();
    expect(getD().metadata.annotations?.[REVISION_ANNOTATION]).toBe('2');
    const v1 = rsOf('web:1')!;

    const missing = await rollback(f.store, 'default', 'web', 7);
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.error.message).toContain('revision 7');

    const r = unwrap(await rollback(f.store, 'default', 'web'));
    expect(r).toMatchObject({ revision: 1, skipped: false });
    expect(getD().spec.template.spec.containers[0]?.image).toBe('web:1');
    expect(getD().spec.template.metadata?.labels).toEqual({ app: 'web' }); // no pod-template-hash copied in
    await f.settle();
    await readyAll();
    await readyAll();
    // The revision-1 ReplicaSet is the new one again (no third ReplicaSet), now revision 3.
    expect(replicaSets()).toHaveLength(2);
    expect(rsOf('web:1')?.metadata.uid).toBe(v1.metadata.uid);
    expect(rsOf('web:1')?.metadata.annotations?.[REVISION_ANNOTATION]).toBe('3');
    expect(rsOf('web:1')?.spec.replicas).toBe(2);
    expect(rsOf('web:2')?.spec.replicas).toBe(0);
    expect(getD().metadata.annotations?.[REVISION_ANNOTATION]).toBe('3');
    expect(f.pods(isPodActive).map(imageOf)).toEqual(['web:1', 'web:1']);
    // Rolling back to revision 2 by number; then again is a no-op.
    unwrap(await rollback(f.store, 'default', 'web', 2));
    await f.settle();
    expect(getD().spec.template.spec.containers[0]?.image).toBe('web:2');
    expect(unwrap(await rollback(f.store, 'default', 'web', 4)).skipped).toBe(true);
  });

  it('keeps only revisionHistoryLimit old ReplicaSets, deleting the oldest scaled-down ones', async () => {
    f = await start();
    unwrap(await f.store.create(deployment(2, { revisionHistoryLimit: 1 })));
    await f.settle();
    for (const image of ['web:1', 'web:2', 'web:3', 'web:4']) {
      if (image !== 'web:1') await setImage(image);
      for (let i = 0; i < 4; i++) await readyAll();
    }
    const left = replicaSets().map((rs) => rs.spec.template?.spec.containers[0]?.image).sort();
    expect(left).toEqual(['web:3', 'web:4']);
    expect(rsOf('web:3')?.spec.replicas).toBe(0);
    expect(f.pods(isPodActive)).toHaveLength(2);
  });

  it('reports ProgressDeadlineExceeded once progressDeadlineSeconds pass without progress, in cluster time', async () => {
    f = await start();
    unwrap(await f.store.create(deployment(2, { progressDeadlineSeconds: 30 })));
    await f.settle();
    await readyAll();
    await setImage('web:2'); // its pods never become ready
    const progressing = () => getCondition(getD().status?.conditions, 'Progressing');
    expect(progressing()).toMatchObject({ status: 'True' });
    await f.clock.advance(29_000);
    expect(progressing()).toMatchObject({ status: 'True' });
    await f.clock.advance(3_000);
    await f.settle();
    expect(progressing()).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    // Progress after the deadline: back to progressing, then complete.
    for (let i = 0; i < 4; i++) await readyAll();
    expect(progressing()).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
  });

  it('a paused Deployment scales but does not roll out until resumed', async () => {
    f = await start();
    unwrap(await f.store.create(deployment(2)));
    await f.settle();
    await readyAll();
    await update((d) => ({ ...d, spec: { ...d.spec, paused: true } }));
    expect(getCondition(getD().status?.conditions, 'Progressing')).toMatchObject({ status: 'Unknown', reason: 'DeploymentPaused' });
    await setImage('web:2');
    expect(replicaSets()).toHaveLength(1);
    await update((d) => ({ ...d, spec: { ...d.spec, replicas: 4 } }));
    expect(rsOf('web:1')?.spec.replicas).toBe(4);
    await update((d) => ({ ...d, spec: { ...d.spec, paused: false } }));
    for (let i = 0; i < 6; i++) await readyAll();
    expect(rsOf('web:2')?.spec.replicas).toBe(4);
    expect(rsOf('web:1')?.spec.replicas).toBe(0);
    expect(getD().status).toMatchObject({ replicas: 4, updatedReplicas: 4, availableReplicas: 4 });
  });

  it('reports ReplicaFailure on the ReplicaSet and the Deployment while pods cannot be created, and clears it', async () => {
    const errors: string[] = [];
    const onError = (key: string) => void errors.push(key);
    f = await fixture((o) => new DeploymentController({ ...o, onError }), (o) => new ReplicaSetController({ ...o, onError }));
    // The store refuses the pods (an annotation key it cannot accept); the ReplicaSet itself is fine.
    const plain = template({ app: 'web' });
    const bad = { ...plain, metadata: { ...plain.metadata, annotations: { 'not a key!': 'x' } } };
    unwrap(await f.store.create(deployment(2, { template: bad })));
    await f.settle();
    const rs = replicaSets()[0]!;
    expect(getCondition(rs.status?.conditions, 'ReplicaFailure')).toMatchObject({ status: 'True', reason: 'FailedCreate' });
    expect(getCondition(rs.status?.conditions, 'ReplicaFailure')?.message).toContain('not a key!');
    expect(getCondition(getD().status?.conditions, 'ReplicaFailure')).toMatchObject({ status: 'True', reason: 'FailedCreate' });
    expect(errors.length).toBeGreaterThan(0);
    const events = unwrap(f.store.list<CoreEvent>('Event', { namespace: 'default' })).items;
    expect(events.some((e) => e.type === 'Warning' && e.reason === 'FailedCreate')).toBe(true);
    await setImage('web:2'); // a valid template: a new ReplicaSet whose pods can be created
    for (let i = 0; i < 4; i++) await readyAll();
    await f.clock.advance(60_000); // the old ReplicaSet's retry (back-off) sees it has nothing to create
    expect(getCondition(getD().status?.conditions, 'ReplicaFailure')).toBeUndefined();
    expect(getD().status).toMatchObject({ replicas: 2, updatedReplicas: 2, availableReplicas: 2 });
  });

  it('on a name collision with a foreign ReplicaSet, bumps collisionCount and hashes again', async () => {
    f = await start();
    const hash = podTemplateHash(withDefaults(deployment(2)).spec.template);
    const foreign: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: `web-${hash}`, namespace: 'default', labels: { app: 'other' } },
      spec: { replicas: 0, selector: { matchLabels: { app: 'other' } }, template: template({ app: 'other' }, 'other:1') },
    };
    unwrap(await f.store.create(foreign));
    unwrap(await f.store.create(deployment(2)));
    await f.settle();
    expect(getD().status?.collisionCount).toBe(1);
    const ours = replicaSets().filter((rs) => controllerRef(rs)?.name === 'web');
    expect(ours).toHaveLength(1);
    expect(ours[0]!.metadata.name).toBe(`web-${podTemplateHash(withDefaults(deployment(2)).spec.template, 1)}`);
    expect(ours[0]!.metadata.name).not.toBe(`web-${hash}`);
    expect(ours[0]!.spec.replicas).toBe(2);
  });

  it('is deterministic: the same rollout twice gives the same history of every object, revision by revision', async () => {
    const run = async () => {
      f = await start();
      const history: string[] = [];
      const watch = unwrap(f.store.watch(undefined, { resourceVersion: String(f.store.revision) }));
      void (async () => {
        for await (const ev of watch) {
          const o = ev.object as Deployment | ReplicaSet | Pod;
          history.push(`${ev.type} ${o.kind}/${o.metadata.name} rv=${o.metadata.resourceVersion} ${JSON.stringify(o.spec && 'replicas' in o.spec ? o.spec.replicas : null)}`);
        }
      })();
      unwrap(await f.store.create(deployment(4, { minReadySeconds: 5 })));
      await f.settle();
      for (const image of ['web:1', 'web:2']) {
        if (image !== 'web:1') await setImage(image);
        for (let i = 0; i < 8; i++) {
          await readyAll();
          await f.clock.advance(3000);
        }
      }
      expect(getD().status).toMatchObject({ replicas: 4, updatedReplicas: 4, availableReplicas: 4 });
      watch.close();
      await f.close();
      f = undefined as unknown as Fixture;
      return history;
    };
    const first = await run();
    const second = await run();
    expect(first.length).toBeGreaterThan(50);
    expect(second).toEqual(first);
  });

  it('scales proportionally when replicas change in the middle of a rollout', async () => {
    f = await start();
    unwrap(await f.store.create(deployment(10)));
    await f.settle();
    await readyAll();
    await setImage('web:2'); // 25%/25%: new 5 (surge 3 + 2 unavailable), old 8
    const before = { n: rsOf('web:2')!.spec.replicas!, o: rsOf('web:1')!.spec.replicas! };
    expect(before.n + before.o).toBe(13);
    await update((d) => ({ ...d, spec: { ...d.spec, replicas: 20 } }));
    const n = rsOf('web:2')!.spec.replicas!;
    const o = rsOf('web:1')!.spec.replicas!;
    expect(n + o).toBe(25); // 20 + surge 5
    expect(o).toBeGreaterThan(before.o);
    expect(n).toBeGreaterThan(before.n);
  });
});

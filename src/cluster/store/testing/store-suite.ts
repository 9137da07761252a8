/**
 * The conformance suite every `Store` runs (STYLE §3): in memory, over a log in memory
 * files, over a log on disk (src/platform/node/log-files.test.ts). A test file calls
 * `storeSuite('memory', (options) => openStore(options))` at top level; the suite
 * registers its own `describe` block and closes every store it opened.
 *
 * It checks the contracts of store.ts: metadata the store owns, optimistic concurrency,
 * generation, status, merge patch, finalizers and grace periods, selectors, watch from a
 * revision with Gone after compaction and for slow watchers, garbage collection, and
 * concurrent writes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject, ObjectKey, WatchEvent } from '../../api/types.js';
import type { StoreOptions } from '../object-store.js';
import { type Result, type Store, type Watch, unwrap } from '../store.js';

export type OpenStore = (options: Omit<StoreOptions, 'log'>) => Promise<Store>;

interface PodSpec {
  nodeName?: string;
  containers: { name: string; image: string }[];
}
type Pod = KubeObject<PodSpec, { phase?: string }>;

export function pod(name: string, labels?: Record<string, string>, extra: Partial<Pod> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', ...(labels ? { labels } : {}), ...extra.metadata },
    spec: { containers: [{ name: 'main', image: 'web:1' }], ...extra.spec },
    ...(extra.status ? { status: extra.status } : {}),
  };
}

const podKey = (name: string, namespace = 'default'): ObjectKey => ({ kind: 'Pod', namespace, name });

/** Reads `n` events, failing after `ms`. */
export async function take<T extends KubeObject>(w: Watch<T>, n: number, ms = 2000): Promise<WatchEvent<T>[]> {
  const out: WatchEvent<T>[] = [];
  const deadline = Date.now() + ms;
  while (out.length < n) {
    const left = deadline - Date.now();
    const r = await Promise.race([w.next(), new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), Math.max(0, left)))]);
    if (r === 'timeout') throw new Error(`watch: ${out.length} of ${n} events after ${ms} ms: ${JSON.stringify(out.map((e) => [e.type, e.object.metadata.name]))}`);
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

/** Reads the events that arrive within `ms` of each other. */
export async function drain<T extends KubeObject>(w: Watch<T>, ms = 50): Promise<WatchEvent<T>[]> {
  const out: WatchEvent<T>[] = [];
  for (;;) {
    const r = await Promise.race([w.next(), new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), ms))]);
    if (r === 'timeout' || r.done) return out;
    out.push(r.value);
  }
}

const summary = (evs: readonly WatchEvent[]): string[] => evs.map((e) => `${e.type} ${e.object.metadata.name ?? ''}@${e.object.metadata.resourceVersion ?? ''}`);

function expectError<T>(r: Result<T>, reason: string, message?: RegExp): void {
  if (r.ok) throw new Error(`expected ${reason}, got ok: ${JSON.stringify(r.value).slice(0, 200)}`);
  expect(r.error.reason).toBe(reason);
  if (message) expect(r.error.message).toMatch(message);
}

export function storeSuite(name: string, open: OpenStore): void {
  describe(`Store conformance: ${name}`, () => {
    const opened: Store[] = [];
    let clock = 0;
    let uids = 0;
    beforeEach(() => {
      clock = Date.UTC(2026, 0, 2, 3, 4, 5, 600);
    });
    const make = async (options: Omit<StoreOptions, 'log'> = {}): Promise<Store> => {
      const s = await open({ now: () => clock, uid: () => `uid-${++uids}`, ...options });
      opened.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });

    describe('create and get', () => {
      it('sets uid, creationTimestamp, resourceVersion and generation 1, and defaults the namespace', async () => {
        const s = await make();
        expect(s.revision).toBe(0);
        const input = pod('web');
        delete (input.metadata as { namespace?: string }).namespace;
        const created = unwrap(await s.create(input));
        expect(created.metadata).toMatchObject({ name: 'web', namespace: 'default', uid: expect.stringMatching(/^uid-/), resourceVersion: '1', generation: 1, creationTimestamp: '2026-01-02T03:04:05Z' });
        expect(s.revision).toBe(1);
        expect(unwrap(s.get(podKey('web')))).toEqual(created);
      });

      it('clears the namespace of a cluster-scoped kind, which is keyed with namespace ""', async () => {
        const s = await make();
        const node = unwrap(await s.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', namespace: 'default' } }));
        expect(node.metadata.namespace).toBeUndefined();
        expect(unwrap(s.get({ kind: 'Node', namespace: '', name: 'node-1' })).metadata.uid).toBe(node.metadata.uid);
        // A namespace asked of a cluster-scoped kind is ignored, as kube-apiserver does.
        expect(s.get({ kind: 'Node', namespace: 'default', name: 'node-1' }).ok).toBe(true);
      });

      it('returns AlreadyExists and NotFound as values', async () => {
        const s = await make();
        unwrap(await s.create(pod('web')));
        expectError(await s.create(pod('web')), 'AlreadyExists', /Pod "default\/web" already exists/);
        expectError(s.get(podKey('nope')), 'NotFound', /Pod "default\/nope" not found/);
        expect(s.get(podKey('web', 'other')).ok).toBe(false);
        expect(s.revision).toBe(1);
      });

      it('names an object from generateName', async () => {
        const s = await make();
        const a = unwrap(await s.create({ ...pod(''), metadata: { generateName: 'web-', namespace: 'default' } }));
        const b = unwrap(await s.create({ ...pod(''), metadata: { generateName: 'web-', namespace: 'default' } }));
        expect(a.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
        expect(b.metadata.name).not.toBe(a.metadata.name);
        expect(a.metadata.generateName).toBe('web-');
      });

      it('rejects invalid metadata with Invalid naming the field', async () => {
        const s = await make();
        const cases: [KubeObject, string, RegExp][] = [
          [pod('Web_1'), 'metadata.name', /RFC 1123 subdomain/],
          [{ ...pod(''), metadata: { namespace: 'default' } }, 'metadata.name', /name or generateName is required/],
          [pod('web', { 'bad key!': 'x' }), 'metadata.labels', /invalid label key/],
          [pod('web', { app: 'not valid!' }), 'metadata.labels["app"]', /label value/],
          [pod('web', {}, { metadata: { namespace: 'Bad_NS' } }), 'metadata.namespace', /RFC 1123 label/],
          [pod('web', {}, { metadata: { resourceVersion: '7' } }), 'metadata.resourceVersion', /should not be set/],
          [pod('web', {}, { metadata: { finalizers: ['has space'] } }), 'metadata.finalizers[0]', /name part/],
          [pod('web', {}, { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: '' }] } }), 'metadata.ownerReferences[0].uid', /Required/],
          [{ ...pod('web'), spec: { when: new Date(0) } } as unknown as KubeObject, 'spec.when', /Date is not plain JSON/],
          [{ ...pod('web'), spec: { n: Number.NaN } } as unknown as KubeObject, 'spec.n', /NaN/],
          [{ apiVersion: 'v1', kind: 'pod kind', metadata: { name: 'x' } }, 'kind', /kind name/],
        ];
        for (const [obj, field, msg] of cases) {
          const r = await s.create(obj);
          if (r.ok) throw new Error(`accepted ${JSON.stringify(obj)}`);
          expect(r.error.reason, field).toBe('Invalid');
          expect(r.error.field, r.error.message).toBe(field);
          expect(r.error.message).toMatch(msg);
        }
        expect(s.revision).toBe(0);
      });

      it('hands out deep-frozen values and keeps no reference to the input', async () => {
        const s = await make();
        const input = pod('web', { app: 'web' });
        const created = unwrap(await s.create(input));
        (input.metadata.labels as Record<string, string>).app = 'changed';
        (input.spec as PodSpec).containers[0]!.image = 'changed';
        const got = unwrap(s.get<Pod>(podKey('web')));
        expect(got.metadata.labels).toEqual({ app: 'web' });
        expect(got.spec?.containers[0]?.image).toBe('web:1');
        expect(got).toBe(created);
        expect(Object.isFrozen(got)).toBe(true);
        expect(Object.isFrozen(got.spec?.containers[0])).toBe(true);
        expect(() => {
          (got.metadata as { name: string }).name = 'x';
        }).toThrow(TypeError);
      });
    });

    describe('update, status, patch', () => {
      it('returns Conflict for a stale resourceVersion and accepts an unconditional update', async () => {
        const s = await make();
        const v1 = unwrap(await s.create(pod('web')));
        const v2 = unwrap(await s.update({ ...v1, spec: { ...v1.spec!, nodeName: 'n1' } }));
        expect(v2.metadata.resourceVersion).toBe('2');
        const stale = await s.update({ ...v1, spec: { ...v1.spec!, nodeName: 'n2' } });
        expectError(stale, 'Conflict', /has been modified \(resourceVersion 1 was given, the object is at 2\)/);
        expect(stale.ok || stale.error.code).toBe(409);
        const { resourceVersion: _rv, ...meta } = v1.metadata;
        const v3 = unwrap(await s.update({ ...v1, metadata: meta, spec: { ...v1.spec!, nodeName: 'n3' } }));
        expect(v3.spec?.nodeName).toBe('n3');
        expect(v3.metadata.uid).toBe(v1.metadata.uid);
        expect(v3.metadata.creationTimestamp).toBe(v1.metadata.creationTimestamp);
        expectError(await s.update(pod('missing')), 'NotFound');
        expectError(await s.update({ ...v3, metadata: { ...v3.metadata, uid: 'other' } }), 'Conflict', /uid other/);
      });

      it('bumps generation on spec changes only; updateStatus changes status only', async () => {
        const s = await make();
        const v1 = unwrap(await s.create(pod('web')));
        const labelled = unwrap(await s.update({ ...v1, metadata: { ...v1.metadata, labels: { a: 'b' } } }));
        expect(labelled.metadata.generation).toBe(1);
        const spec = unwrap(await s.update({ ...labelled, spec: { ...labelled.spec!, nodeName: 'n1' } }));
        expect(spec.metadata.generation).toBe(2);
        // update ignores status; updateStatus ignores everything else.
        const ignored = unwrap(await s.update({ ...spec, status: { phase: 'Running' } }));
        expect(ignored.status).toBeUndefined();
        expect(ignored.metadata.resourceVersion).toBe(spec.metadata.resourceVersion);
        const st = unwrap(await s.updateStatus({ ...spec, spec: { containers: [] }, metadata: { ...spec.metadata, labels: { x: 'y' } }, status: { phase: 'Running' } }));
        expect(st.status).toEqual({ phase: 'Running' });
        expect(st.spec).toEqual(spec.spec);
        expect(st.metadata.labels).toEqual({ a: 'b' });
        expect(st.metadata.generation).toBe(2);
        expectError(await s.updateStatus({ ...spec, status: { phase: 'Failed' } }), 'Conflict');
      });

      it('does not write an update that changes nothing', async () => {
        const s = await make();
        const v1 = unwrap(await s.create(pod('web', { app: 'web' })));
        const same = unwrap(await s.update(pod('web', { app: 'web' })));
        expect(same).toBe(v1);
        expect(s.revision).toBe(1);
      });

      it('applies a JSON merge patch (RFC 7386), with a resourceVersion in it as a precondition', async () => {
        const s = await make();
        unwrap(await s.create(pod('web', { app: 'web', tier: 'fe' })));
        const p = unwrap(await s.patch<Pod>(podKey('web'), { metadata: { labels: { tier: null, env: 'prod' } }, spec: { nodeName: 'n1' } }));
        expect(p.metadata.labels).toEqual({ app: 'web', env: 'prod' });
        expect(p.spec?.nodeName).toBe('n1');
        expect(p.spec?.containers).toHaveLength(1);
        expect(p.metadata.generation).toBe(2);
        // Lists are replaced whole.
        const q = unwrap(await s.patch<Pod>(podKey('web'), { spec: { containers: [{ name: 'b', image: 'b:2' }] } }));
        expect(q.spec?.containers).toEqual([{ name: 'b', image: 'b:2' }]);
        expectError(await s.patch(podKey('web'), { metadata: { resourceVersion: '1' }, spec: { nodeName: 'x' } }), 'Conflict');
        const st = unwrap(await s.patch<Pod>(podKey('web'), { status: { phase: 'Running' }, spec: { nodeName: 'ignored' } }, { subresource: 'status' }));
        expect(st.status).toEqual({ phase: 'Running' });
        expect(st.spec?.nodeName).toBe('n1');
        expectError(await s.patch(podKey('web'), { metadata: { name: 'other' } }), 'Invalid', /immutable/);
        expectError(await s.patch(podKey('web'), [{ op: 'add' }]), 'BadRequest', /merge patch must be an object/);
        expectError(await s.patch(podKey('nope'), {}), 'NotFound');
      });
    });

    describe('delete', () => {
      it('removes an object without finalizers, with preconditions', async () => {
        const s = await make();
        const v1 = unwrap(await s.create(pod('web')));
        expectError(await s.delete(podKey('web'), { preconditions: { uid: 'other' } }), 'Conflict');
        expectError(await s.delete(podKey('web'), { preconditions: { resourceVersion: '99' } }), 'Conflict');
        const d = unwrap(await s.delete(podKey('web'), { preconditions: { uid: v1.metadata.uid as string } }));
        expect(d.removed).toBe(true);
        expect(d.object.metadata.resourceVersion).toBe('2');
        expectError(s.get(podKey('web')), 'NotFound');
        expectError(await s.delete(podKey('web')), 'NotFound');
        // The name is free again; the new object has a new uid.
        const again = unwrap(await s.create(pod('web')));
        expect(again.metadata.uid).not.toBe(v1.metadata.uid);
      });

      it('keeps an object with finalizers until they are removed', async () => {
        const s = await make();
        unwrap(await s.create(pod('web', {}, { metadata: { finalizers: ['example.com/cleanup'] } })));
        clock += 10_000;
        const d = unwrap(await s.delete(podKey('web')));
        expect(d.removed).toBe(false);
        expect(d.object.metadata.deletionTimestamp).toBe('2026-01-02T03:04:15Z');
        expect(d.object.metadata.deletionGracePeriodSeconds).toBe(0);
        expect(d.object.metadata.generation).toBe(2);
        // Deleting again changes nothing; no new finalizer may be added.
        const again = unwrap(await s.delete(podKey('web')));
        expect(again.object).toBe(d.object);
        const cur = unwrap(s.get(podKey('web')));
        expectError(await s.update({ ...cur, metadata: { ...cur.metadata, finalizers: ['example.com/cleanup', 'example.com/more'] } }), 'Invalid', /no new finalizers/);
        const w = unwrap(s.watch('Pod', { resourceVersion: s.revision.toString() }));
        const gone = unwrap(await s.update({ ...cur, metadata: { ...cur.metadata, finalizers: [] } }));
        expect(gone.metadata.finalizers).toEqual([]);
        expectError(s.get(podKey('web')), 'NotFound');
        expect(summary(await take(w, 1))).toEqual([`DELETED web@${s.revision}`]);
        w.close();
      });

      it('keeps an object through a grace period until a delete with 0', async () => {
        const s = await make();
        unwrap(await s.create(pod('web')));
        const d = unwrap(await s.delete(podKey('web'), { gracePeriodSeconds: 30 }));
        expect(d.removed).toBe(false);
        expect(d.object.metadata.deletionTimestamp).toBe('2026-01-02T03:04:35Z');
        expect(d.object.metadata.deletionGracePeriodSeconds).toBe(30);
        // A longer grace period does not extend it; a shorter one shortens it.
        expect(unwrap(await s.delete(podKey('web'), { gracePeriodSeconds: 60 })).object.metadata.deletionGracePeriodSeconds).toBe(30);
        expect(unwrap(await s.delete(podKey('web'), { gracePeriodSeconds: 5 })).object.metadata.deletionGracePeriodSeconds).toBe(5);
        expect(unwrap(await s.delete(podKey('web'), { gracePeriodSeconds: 0 })).removed).toBe(true);
        expectError(s.get(podKey('web')), 'NotFound');
        expectError(await s.create(pod('x')).then(() => s.delete(podKey('x'), { gracePeriodSeconds: -1 })), 'Invalid');
      });
    });

    describe('list and selectors', () => {
      const seed = async (s: Store): Promise<void> => {
        unwrap(await s.create(pod('a', { app: 'web', tier: 'fe', env: 'a' }, { spec: { nodeName: 'n1', containers: [] } })));
        unwrap(await s.create(pod('b', { app: 'web', tier: 'db', env: 'b' }, { spec: { nodeName: 'n2', containers: [] } })));
        unwrap(await s.create(pod('c', { app: 'web', env: 'c', canary: 'true' }, { spec: { containers: [] } })));
        unwrap(await s.create(pod('d', { app: 'api', release: 'r1', replicas: '3' }, { spec: { containers: [] } })));
        unwrap(await s.create(pod('e', { app: 'web' }, { metadata: { namespace: 'other' }, spec: { containers: [] } })));
        unwrap(await s.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'default' }, data: {} } as KubeObject));
      };
      const names = (r: Result<{ items: readonly KubeObject[] }>): string[] => unwrap(r).items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);

      it('lists one kind, sorted by namespace and name, with the list resourceVersion', async () => {
        const s = await make();
        await seed(s);
        const l = unwrap(s.list('Pod'));
        expect(l.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['default/a', 'default/b', 'default/c', 'default/d', 'other/e']);
        expect(l.resourceVersion).toBe('6');
        expect(names(s.list('Pod', { namespace: 'other' }))).toEqual(['other/e']);
        expect(names(s.list('Nope'))).toEqual([]);
        expect(unwrap(s.list(undefined)).items).toHaveLength(6);
      });

      it('matches equality- and set-based label selectors', async () => {
        const s = await make();
        await seed(s);
        const sel = (labelSelector: string): string[] => names(s.list('Pod', { namespace: 'default', labelSelector }));
        expect(sel('app=web,tier!=db,env in (a,b),!canary')).toEqual(['default/a']);
        expect(sel('app==web')).toEqual(['default/a', 'default/b', 'default/c']);
        expect(sel('tier!=db')).toEqual(['default/a', 'default/c', 'default/d']);
        expect(sel('env notin (a,b)')).toEqual(['default/c', 'default/d']);
        expect(sel('release')).toEqual(['default/d']);
        expect(sel('!tier,app')).toEqual(['default/c', 'default/d']);
        expect(sel('replicas>2')).toEqual(['default/d']);
        expect(sel('replicas<3')).toEqual([]);
        expect(sel('  app = web , env in ( c ) ')).toEqual(['default/c']);
        expect(sel('')).toHaveLength(4);
      });

      it('returns BadRequest naming the selector for a malformed one', async () => {
        const s = await make();
        for (const bad of ['app in (a', 'app=web,', '!app=web', 'app x', 'a/b/c=1', 'app=not valid', 'n>x', ',app']) {
          const r = s.list('Pod', { labelSelector: bad });
          expectError(r, 'BadRequest');
          if (!r.ok) expect(r.error.message).toContain(JSON.stringify(bad));
        }
      });

      it('matches field selectors: spec.nodeName, metadata.name, metadata.namespace', async () => {
        const s = await make();
        await seed(s);
        expect(names(s.list('Pod', { fieldSelector: 'spec.nodeName=n1' }))).toEqual(['default/a']);
        expect(names(s.list('Pod', { fieldSelector: 'spec.nodeName=' }))).toEqual(['default/c', 'default/d', 'other/e']);
        expect(names(s.list('Pod', { fieldSelector: 'spec.nodeName!=,metadata.name!=b' }))).toEqual(['default/a']);
        expect(names(s.list('Pod', { fieldSelector: 'metadata.namespace==other' }))).toEqual(['other/e']);
        expect(names(s.list('ConfigMap', { fieldSelector: 'metadata.name=a' }))).toEqual(['default/a']);
        expectError(s.list('ConfigMap', { fieldSelector: 'spec.nodeName=n1' }), 'BadRequest', /field label not supported: "spec.nodeName"/);
        expectError(s.list('Pod', { fieldSelector: 'spec.nodeName' }), 'BadRequest', /no operator/);
      });
    });

    describe('watch', () => {
      it('delivers the events after a resourceVersion, in order, across kinds', async () => {
        const s = await make();
        const a = unwrap(await s.create(pod('a')));
        const list = unwrap(s.list('Pod'));
        const w = unwrap(s.watch('Pod', { resourceVersion: list.resourceVersion }));
        const all = unwrap(s.watch(undefined, { resourceVersion: '0' }));
        await s.create(pod('b'));
        await s.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' } });
        await s.update({ ...a, spec: { ...a.spec!, nodeName: 'n1' } });
        await s.delete(podKey('b'));
        expect(summary(await take(w, 3))).toEqual(['ADDED b@2', 'MODIFIED a@4', 'DELETED b@5']);
        expect(summary(await take(all, 5))).toEqual(['ADDED a@1', 'ADDED b@2', 'ADDED cm@3', 'MODIFIED a@4', 'DELETED b@5']);
        // From an older revision still in the history: the same events replayed.
        const replay = unwrap(s.watch('Pod', { resourceVersion: '1' }));
        expect(summary(await take(replay, 3))).toEqual(['ADDED b@2', 'MODIFIED a@4', 'DELETED b@5']);
        for (const x of [w, all, replay]) x.close();
      });

      it('starts with ADDED for the current objects when no resourceVersion (or "0") is given, then a bookmark', async () => {
        const s = await make();
        await s.create(pod('b'));
        await s.create(pod('a'));
        await s.delete(podKey('b'));
        const w = unwrap(s.watch('Pod', { allowBookmarks: true }));
        const evs = await take(w, 2);
        expect(summary(evs)).toEqual(['ADDED a@2', 'BOOKMARK @3']);
        expect(evs[1]?.object.metadata.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
        await s.create(pod('c'));
        expect(summary(await take(w, 1))).toEqual(['ADDED c@4']);
        w.close();
      });

      it('filters by namespace and selectors, turning selector transitions into ADDED and DELETED', async () => {
        const s = await make();
        const w = unwrap(s.watch('Pod', { namespace: 'default', labelSelector: 'app=web', resourceVersion: '0' }));
        const f = unwrap(s.watch('Pod', { fieldSelector: 'spec.nodeName=n1', resourceVersion: '0' }));
        const a = unwrap(await s.create(pod('a', { app: 'api' })));
        await s.create(pod('x', { app: 'web' }, { metadata: { namespace: 'other' } }));
        const a2 = unwrap(await s.update({ ...a, metadata: { ...a.metadata, labels: { app: 'web' } } }));
        const a3 = unwrap(await s.update({ ...a2, spec: { ...a2.spec!, nodeName: 'n1' } }));
        const a4 = unwrap(await s.update({ ...a3, metadata: { ...a3.metadata, labels: { app: 'api' } } }));
        await s.delete(podKey('a'));
        expect(summary(await take(w, 3))).toEqual(['ADDED a@3', 'MODIFIED a@4', 'DELETED a@5']);
        expect(summary(await take(f, 3))).toEqual(['ADDED a@4', 'MODIFIED a@5', 'DELETED a@6']);
        expect(a4.metadata.resourceVersion).toBe('5');
        w.close();
        f.close();
      });

      it('is Gone for a compacted revision, and for a bad one is a BadRequest', async () => {
        const s = await make({ historyLimit: 4 });
        for (let i = 0; i < 10; i++) await s.create(pod(`p${i}`));
        s.compact();
        expect(s.compactedRevision).toBe(6);
        const gone = s.watch('Pod', { resourceVersion: '5' });
        expectError(gone, 'Gone', /too old resource version: 5/);
        expect(gone.ok || gone.error.code).toBe(410);
        const w = unwrap(s.watch('Pod', { resourceVersion: '6' }));
        expect(summary(await take(w, 4)).map((e) => e.split(' ')[1])).toEqual(['p6@7', 'p7@8', 'p8@9', 'p9@10']);
        w.close();
        expectError(s.watch('Pod', { resourceVersion: 'abc' }), 'BadRequest');
        s.compact(10);
        expectError(s.watch('Pod', { resourceVersion: '9' }), 'Gone');
        expect(s.watch('Pod', { resourceVersion: '10' }).ok).toBe(true);
      });

      it('compacts on its own, keeping a window, and sends bookmarks to watchers that asked', async () => {
        const s = await make({ historyLimit: 10 });
        const w = unwrap(s.watch('ConfigMap', { resourceVersion: '0', allowBookmarks: true }));
        expect(summary(await take(w, 1))).toEqual(['BOOKMARK @0']);
        for (let i = 0; i < 200; i++) await s.create(pod(`p${i}`));
        expect(s.compactedRevision).toBeGreaterThan(100);
        expect(s.revision - s.compactedRevision).toBeLessThanOrEqual(10 + 64);
        const marks = await drain(w);
        expect(marks.length).toBeGreaterThanOrEqual(2);
        expect(marks.every((e) => e.type === 'BOOKMARK')).toBe(true);
        const ev = marks[marks.length - 1] as WatchEvent;
        expect(Number(ev.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(s.compactedRevision);
        expect(s.watch('Pod', { resourceVersion: ev.object.metadata.resourceVersion as string }).ok).toBe(true);
        w.close();
      });

      it('closes a watcher that falls too far behind with Gone instead of buffering', async () => {
        const s = await make({ maxPendingEvents: 5 });
        const slow = unwrap(s.watch('Pod', { resourceVersion: '0' }));
        const fast = unwrap(s.watch('Pod', { resourceVersion: '0', maxPending: 100 }));
        for (let i = 0; i < 8; i++) await s.create(pod(`p${i}`));
        expect(slow.closed).toBe(true);
        expect(slow.error?.reason).toBe('Gone');
        expect(slow.error?.message).toMatch(/fell more than 5 events behind/);
        expect(await slow.next()).toEqual({ done: true, value: undefined });
        expect(await take(fast, 8)).toHaveLength(8);
        fast.close();
      });

      it('ends iteration on close(), on leaving a for-await loop, and when the store closes', async () => {
        const s = await make();
        const w = unwrap(s.watch('Pod'));
        const pending = w.next();
        w.close();
        expect(await pending).toEqual({ done: true, value: undefined });
        expect(w.error).toBeUndefined();
        const v = unwrap(s.watch('Pod'));
        await s.create(pod('a'));
        await s.create(pod('b'));
        for await (const ev of v) {
          expect(ev.object.metadata.name).toBe('a');
          break;
        }
        expect(v.closed).toBe(true);
        const x = unwrap(s.watch('Pod', { resourceVersion: String(s.revision) }));
        const next = x.next();
        await s.close();
        expect(await next).toEqual({ done: true, value: undefined });
        await expect(s.create(pod('c'))).rejects.toThrow(/closed/);
      });
    });

    describe('garbage collection through ownerReferences', () => {
      const owner = (kind: string, o: KubeObject, block = true): KubeObject['metadata']['ownerReferences'] => [
        { apiVersion: 'apps/v1', kind, name: o.metadata.name as string, uid: o.metadata.uid as string, controller: true, blockOwnerDeletion: block },
      ];
      const rs = (name: string): KubeObject => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name, namespace: 'default' }, spec: { replicas: 2 } });
      const exists = (s: Store, k: ObjectKey): boolean => s.get(k).ok;

      it('deletes dependents when the owner is deleted (background), recursively', async () => {
        const s = await make();
        const dep = unwrap(await s.create({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: {} }));
        const r = unwrap(await s.create({ ...rs('web-1'), metadata: { name: 'web-1', namespace: 'default', ownerReferences: owner('Deployment', dep) } }));
        for (const n of ['p1', 'p2']) unwrap(await s.create(pod(n, {}, { metadata: { ownerReferences: owner('ReplicaSet', r) } })));
        unwrap(await s.create(pod('unowned')));
        await s.whenIdle();
        expect(exists(s, podKey('p1'))).toBe(true);
        unwrap(await s.delete({ kind: 'Deployment', namespace: 'default', name: 'web' }));
        await s.whenIdle();
        expect(exists(s, { kind: 'ReplicaSet', namespace: 'default', name: 'web-1' })).toBe(false);
        expect(exists(s, podKey('p1'))).toBe(false);
        expect(exists(s, podKey('p2'))).toBe(false);
        expect(exists(s, podKey('unowned'))).toBe(true);
      });

      it('keeps a dependent with another owner, removing the dangling reference', async () => {
        const s = await make();
        const a = unwrap(await s.create(rs('a')));
        const b = unwrap(await s.create(rs('b')));
        unwrap(await s.create(pod('p', {}, { metadata: { ownerReferences: [...owner('ReplicaSet', a)!, ...owner('ReplicaSet', b, false)!.map((o) => ({ ...o, controller: false }))] } })));
        unwrap(await s.delete({ kind: 'ReplicaSet', namespace: 'default', name: 'a' }));
        await s.whenIdle();
        const p = unwrap(s.get(podKey('p')));
        expect(p.metadata.ownerReferences?.map((o) => o.name)).toEqual(['b']);
      });

      it('deletes a dependent whose owner does not exist (or has another uid)', async () => {
        const s = await make();
        const a = unwrap(await s.create(rs('a')));
        unwrap(await s.create(pod('p', {}, { metadata: { ownerReferences: [{ ...owner('ReplicaSet', a)![0]!, uid: 'not-a' }] } })));
        await s.whenIdle();
        expect(exists(s, podKey('p'))).toBe(false);
        expect(exists(s, { kind: 'ReplicaSet', namespace: 'default', name: 'a' })).toBe(true);
      });

      it('foreground: the owner stays, terminating, until its blocking dependents are gone', async () => {
        const s = await make();
        const a = unwrap(await s.create(rs('a')));
        unwrap(await s.create(pod('p1', {}, { metadata: { ownerReferences: owner('ReplicaSet', a), finalizers: ['example.com/hold'] } })));
        unwrap(await s.create(pod('p2', {}, { metadata: { ownerReferences: owner('ReplicaSet', a) } })));
        const d = unwrap(await s.delete({ kind: 'ReplicaSet', namespace: 'default', name: 'a' }, { propagationPolicy: 'Foreground' }));
        expect(d.removed).toBe(false);
        expect(d.object.metadata.finalizers).toEqual(['foregroundDeletion']);
        await s.whenIdle();
        expect(exists(s, podKey('p2'))).toBe(false);
        // p1 is terminating but held by its own finalizer: the owner waits for it.
        expect(unwrap(s.get(podKey('p1'))).metadata.deletionTimestamp).toBeDefined();
        expect(exists(s, { kind: 'ReplicaSet', namespace: 'default', name: 'a' })).toBe(true);
        unwrap(await s.patch(podKey('p1'), { metadata: { finalizers: null } }));
        await s.whenIdle();
        expect(exists(s, podKey('p1'))).toBe(false);
        expect(exists(s, { kind: 'ReplicaSet', namespace: 'default', name: 'a' })).toBe(false);
      });

      it('orphan: the dependents stay, without the reference', async () => {
        const s = await make();
        const a = unwrap(await s.create(rs('a')));
        unwrap(await s.create(pod('p1', {}, { metadata: { ownerReferences: owner('ReplicaSet', a) } })));
        unwrap(await s.delete({ kind: 'ReplicaSet', namespace: 'default', name: 'a' }, { propagationPolicy: 'Orphan' }));
        await s.whenIdle();
        expect(exists(s, { kind: 'ReplicaSet', namespace: 'default', name: 'a' })).toBe(false);
        expect(unwrap(s.get(podKey('p1'))).metadata.ownerReferences).toBeUndefined();
      });
    });

    describe('concurrency', () => {
      it('serializes concurrent writes: distinct increasing revisions, one winner per resourceVersion', async () => {
        const s = await make();
        const created = await Promise.all(Array.from({ length: 64 }, (_, i) => s.create(pod(`p${i}`))));
        const revs = created.map((r) => Number(unwrap(r).metadata.resourceVersion));
        expect(revs).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
        const base = unwrap(s.get<Pod>(podKey('p0')));
        const racers = await Promise.all(Array.from({ length: 16 }, (_, i) => s.update({ ...base, spec: { ...base.spec!, nodeName: `n${i}` } })));
        expect(racers.filter((r) => r.ok)).toHaveLength(1);
        expect(racers.filter((r) => !r.ok && r.error.reason === 'Conflict')).toHaveLength(15);
        // A create and a delete of one name in one turn: both apply, in order.
        const [c, d] = await Promise.all([s.create(pod('q')), s.delete(podKey('q'))]);
        expect(c.ok && d.ok).toBe(true);
        expect(s.get(podKey('q')).ok).toBe(false);
        expect(s.revision).toBe(67);
      });

      it('makes a write visible to reads and watchers once its promise resolves', async () => {
        const s = await make();
        const w = unwrap(s.watch('Pod', { resourceVersion: '0' }));
        const r = unwrap(await s.create(pod('a')));
        expect(unwrap(s.get(podKey('a')))).toBe(r);
        expect(unwrap(s.list('Pod')).resourceVersion).toBe('1');
        expect(summary(await take(w, 1))).toEqual(['ADDED a@1']);
        w.close();
      });
    });
  });
}

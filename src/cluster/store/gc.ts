/**
 * The garbage collector: deletes objects whose owners are gone, through ownerReferences,
 * as kube-controller-manager's garbagecollector does. It is a controller over the store's
 * public roles (watch every kind, get, update, delete) — the store's own semantics are
 * only finalizers and deletionTimestamp — and it is level-triggered: an event only says
 * which object to look at; what to do is decided from a fresh `get` of it and its owners.
 *
 * The graph: uid → (key, ownerReferences, terminating), plus owner uid → dependents,
 * kept from one watch of every kind (list, then changes; relisted if the watch is Gone).
 *
 * For one object (its owners looked up live, each as solid, dangling — absent, or present
 * with another uid — or waiting — present, terminating with `foregroundDeletion`):
 * - some owner solid: it stays; dangling references are removed from it;
 * - no owner solid, some waiting: deleted in the foreground (its dependents first) if it
 *   has dependents, else in the background — the owner waits for it;
 * - every owner dangling: deleted in the background.
 * For an owner being deleted:
 * - finalizer `orphan`: its dependents' references to it are removed, then the finalizer;
 * - finalizer `foregroundDeletion`: its dependents are deleted; once none with
 *   `blockOwnerDeletion: true` is left, the finalizer is removed and the store removes it.
 * A Conflict (someone wrote in between) puts the object back in the queue.
 */
import type { KubeObject, ObjectKey, OwnerReference } from '../api/types.js';
import type { ObjectReader, ObjectWatcher, ObjectWriter, Watch } from './store.js';

interface GraphNode {
  readonly uid: string;
  readonly key: ObjectKey;
  readonly owners: readonly OwnerReference[];
  readonly terminating: boolean;
  readonly finalizers: readonly string[];
}

type OwnerState = 'solid' | 'dangling' | 'waiting';

export class GarbageCollector {
  private readonly nodes = new Map<string, GraphNode>();
  private readonly dependents = new Map<string, Set<string>>();
  private readonly queue = new Set<string>();
  private watch: Watch | undefined;
  private synced = false;
  private seen = 0;
  private working = false;
  private stopped = false;
  private error: unknown;
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];

  constructor(private readonly store: ObjectReader & ObjectWriter & ObjectWatcher) {}

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.watch?.close();
    this.queue.clear();
    this.settle();
  }

  /** True when caught up with the store and nothing is queued or in progress. */
  isIdle(): boolean {
    return this.stopped || (this.synced && this.seen >= this.store.revision && this.queue.size === 0 && !this.working);
  }

  /** Resolves when idle; rejects if the collector stopped on an unexpected error. */
  idle(): Promise<void> {
    if (this.error !== undefined) return Promise.reject(this.error);
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private settle(): void {
    if (this.error !== undefined) {
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) w.reject(this.error);
    } else if (this.isIdle()) {
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) w.resolve();
    }
  }

  private connect(): void {
    this.nodes.clear();
    this.dependents.clear();
    this.synced = false;
    const r = this.store.watch(undefined, { allowBookmarks: true, maxPending: 100_000 });
    if (!r.ok) throw r.error;
    this.watch = r.value;
    void this.pump(r.value);
  }

  private async pump(w: Watch): Promise<void> {
    for await (const ev of w) {
      const rv = Number(ev.object.metadata.resourceVersion ?? '0');
      if (ev.type === 'BOOKMARK') {
        if (ev.object.metadata.annotations?.['k8s.io/initial-events-end'] === 'true') {
          this.synced = true;
          // After a (re)list, anything may have happened meanwhile: look at every object that has owners or GC finalizers.
          for (const n of this.nodes.values()) if (n.owners.length > 0 || this.hasGcFinalizer(n)) this.queue.add(n.uid);
        }
      } else if (ev.type === 'DELETED') {
        this.remove(ev.object);
      } else {
        this.upsert(ev.object);
      }
      if (this.synced) this.seen = Math.max(this.seen, rv);
      this.kick();
    }
    if (!this.stopped && w.error !== undefined) this.connect();
  }

  private upsert(obj: KubeObject): void {
    const m = obj.metadata;
    const uid = m.uid;
    if (uid === undefined || m.name === undefined) return;
    const old = this.nodes.get(uid);
    if (old !== undefined) for (const o of old.owners) this.dependents.get(o.uid)?.delete(uid);
    const node: GraphNode = {
      uid,
      key: { kind: obj.kind, namespace: m.namespace ?? '', name: m.name },
      owners: m.ownerReferences ?? [],
      terminating: m.deletionTimestamp !== undefined,
      finalizers: m.finalizers ?? [],
    };
    this.nodes.set(uid, node);
    for (const o of node.owners) {
      let set = this.dependents.get(o.uid);
      if (set === undefined) this.dependents.set(o.uid, (set = new Set()));
      set.add(uid);
    }
    if (!this.synced) return;
    if (this.hasGcFinalizer(node)) this.queue.add(uid);
    for (const o of node.owners) {
      const owner = this.nodes.get(o.uid);
      if (owner === undefined || (owner.terminating && owner.finalizers.includes('foregroundDeletion'))) {
        this.queue.add(uid);
        break;
      }
    }
  }

  private remove(obj: KubeObject): void {
    const uid = obj.metadata.uid;
    if (uid === undefined) return;
    const node = this.nodes.get(uid);
    this.nodes.delete(uid);
    if (node !== undefined) {
      for (const o of node.owners) {
        this.dependents.get(o.uid)?.delete(uid);
        const owner = this.nodes.get(o.uid);
        if (owner !== undefined && this.hasGcFinalizer(owner)) this.queue.add(owner.uid);
      }
    }
    for (const d of this.dependents.get(uid) ?? []) this.queue.add(d);
  }

  private hasGcFinalizer(n: GraphNode): boolean {
    return n.terminating && (n.finalizers.includes('foregroundDeletion') || n.finalizers.includes('orphan'));
  }

  private kick(): void {
    if (!this.working && this.queue.size > 0 && !this.stopped && this.synced) {
      this.working = true;
      void this.work();
    } else this.settle();
  }

  private async work(): Promise<void> {
    try {
      while (this.queue.size > 0 && !this.stopped) {
        const uid = this.queue.values().next().value as string;
        this.queue.delete(uid);
        await this.process(uid);
      }
    } catch (e) {
      if (!this.stopped) this.error = e;
    } finally {
      this.working = false;
      this.settle();
    }
  }

  private async process(uid: string): Promise<void> {
    const node = this.nodes.get(uid);
    if (node === undefined) return;
    const got = this.store.get(node.key);
    if (!got.ok || got.value.metadata.uid !== uid) return;
    const obj = got.value;
    const m = obj.metadata;
    const finalizers = m.finalizers ?? [];
    if (m.deletionTimestamp !== undefined && finalizers.includes('orphan')) {
      for (const d of [...(this.dependents.get(uid) ?? [])]) {
        const dn = this.nodes.get(d);
        if (dn === undefined) continue;
        const dep = this.store.get(dn.key);
        if (!dep.ok || dep.value.metadata.uid !== d) continue;
        if (!(await this.dropOwners(dep.value, new Set([uid])))) return this.retry(uid);
      }
      if (!(await this.dropFinalizer(obj, 'orphan'))) this.retry(uid);
      return;
    }
    if (m.deletionTimestamp !== undefined && finalizers.includes('foregroundDeletion')) {
      let blocking = 0;
      for (const d of this.dependents.get(uid) ?? []) {
        const dn = this.nodes.get(d);
        if (dn === undefined) continue;
        if (dn.owners.some((o) => o.uid === uid && o.blockOwnerDeletion === true)) blocking++;
        this.queue.add(d);
      }
      if (blocking === 0 && !(await this.dropFinalizer(obj, 'foregroundDeletion'))) this.retry(uid);
      return;
    }
    const owners = m.ownerReferences ?? [];
    if (owners.length === 0) return;
    const dangling = new Set<string>();
    let solid = 0;
    let waiting = 0;
    for (const o of owners) {
      const s = this.ownerState(o, m.namespace ?? '');
      if (s === 'solid') solid++;
      else if (s === 'waiting') waiting++;
      else dangling.add(o.uid);
    }
    if (solid > 0) {
      if (dangling.size > 0 && !(await this.dropOwners(obj, dangling))) this.retry(uid);
      return;
    }
    if (m.deletionTimestamp !== undefined) return;
    const hasDependents = (this.dependents.get(uid)?.size ?? 0) > 0;
    const r = await this.store.delete(node.key, {
      propagationPolicy: waiting > 0 && hasDependents ? 'Foreground' : 'Background',
      preconditions: { uid },
    });
    if (!r.ok && r.error.reason === 'Conflict') this.retry(uid);
  }

  private ownerState(ref: OwnerReference, namespace: string): OwnerState {
    const got = this.store.get({ kind: ref.kind, namespace, name: ref.name });
    if (!got.ok || got.value.metadata.uid !== ref.uid) return 'dangling';
    const m = got.value.metadata;
    return m.deletionTimestamp !== undefined && (m.finalizers ?? []).includes('foregroundDeletion') ? 'waiting' : 'solid';
  }

  /** Removes the ownerReferences to `uids`; false on a Conflict. */
  private async dropOwners(obj: KubeObject, uids: ReadonlySet<string>): Promise<boolean> {
    const refs = (obj.metadata.ownerReferences ?? []).filter((o) => !uids.has(o.uid));
    const r = await this.store.update({ ...obj, metadata: { ...obj.metadata, ownerReferences: refs.length > 0 ? refs : undefined } });
    return r.ok || r.error.reason !== 'Conflict';
  }

  private async dropFinalizer(obj: KubeObject, finalizer: string): Promise<boolean> {
    const rest = (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    const r = await this.store.update({ ...obj, metadata: { ...obj.metadata, finalizers: rest.length > 0 ? rest : undefined } });
    return r.ok || r.error.reason !== 'Conflict';
  }

  private retry(uid: string): void {
    this.queue.add(uid);
  }
}

/**
 * The `Store` (store.ts): objects in memory, optionally made durable by a `FileJournal`
 * (journal.ts), with the history window, watchers and the garbage collector (gc.ts).
 * `openStore()` is the way in.
 *
 * How a write goes (all synchronous up to the log, so concurrent writes serialize in
 * call order without locks):
 *   validate against the *head* (the latest accepted state, including writes not yet
 *   durable) → take the next revision → without a log: commit at once; with a log:
 *   remember it in the head overlay, queue its record, and commit when the journal
 *   reports it durable. *Commit* updates the committed maps that reads use, appends the
 *   event to the history and pushes it to the watchers; then the caller's promise resolves.
 */
import { ApiError, type KubeObject, type ObjectKey, type ObjectMeta, type WatchEvent, type WatchEventType } from '../api/types.js';
import { GarbageCollector } from './gc.js';
import { FileJournal, type JournalStats, type SnapshotPolicy } from './journal.js';
import type { LogFiles } from './log-files.js';
import {
  type FieldRequirement,
  type LabelSelectorRequirements,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.js';
import type {
  DeleteOptions,
  DeleteResult,
  ListOptions,
  ObjectList,
  PatchOptions,
  Result,
  Store,
  Stored,
  Watch,
  WatchOptions,
} from './store.js';
import { checkShape, invalid, validateMeta } from './validation.js';
import { adoptParsed, freezeCopy, isPlainObject, jsonEqual, mergePatch } from './values.js';
import { WatchStream } from './watch.js';

/** Kubernetes' cluster-scoped kinds (everything else is namespaced). */
export const CLUSTER_SCOPED_KINDS: readonly string[] = [
  'Node',
  'Namespace',
  'PersistentVolume',
  'StorageClass',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PriorityClass',
  'RuntimeClass',
  'IngressClass',
  'CSIDriver',
  'CSINode',
  'VolumeAttachment',
  'APIService',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'ComponentStatus',
  'CertificateSigningRequest',
];

/**
 * Field labels a field selector may use, per kind, beyond `metadata.name` and
 * `metadata.namespace` (which every kind supports) — Kubernetes' own lists for these kinds.
 */
export const DEFAULT_FIELD_LABELS: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  Node: ['spec.unschedulable'],
  Namespace: ['status.phase'],
  ReplicaSet: ['status.replicas'],
  Job: ['status.successful'],
  Secret: ['type'],
  Service: ['spec.clusterIP', 'spec.type'],
  Event: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
};

export interface StoreOptions {
  /** Persist to this directory (an append-only log + snapshots). Default: in memory only. */
  readonly log?: LogFiles;
  /** When to snapshot and rotate the log (see journal.ts). */
  readonly snapshot?: SnapshotPolicy;
  /** The clock, in ms since the epoch (creationTimestamp, deletionTimestamp). Default Date.now. */
  readonly now?: () => number;
  /** New object uids. Default crypto.randomUUID. */
  readonly uid?: () => string;
  /** Randomness for generateName suffixes, in [0, 1). Default Math.random. */
  readonly random?: () => number;
  /** Default CLUSTER_SCOPED_KINDS. */
  readonly clusterScopedKinds?: Iterable<string>;
  /** Extra field labels per kind, added to DEFAULT_FIELD_LABELS. */
  readonly fieldLabels?: Readonly<Record<string, readonly string[]>>;
  /** Events kept for watches to start from (default 10,000; compaction drops older ones). */
  readonly historyLimit?: number;
  /** Unread events a watcher may have before it is closed with Gone (default 10,000). */
  readonly maxPendingEvents?: number;
  /** Run the ownerReferences garbage collector (default true). */
  readonly garbageCollector?: boolean;
}

/** What the store found when it opened its log. */
export interface Persistence {
  readonly snapshotRevision: number;
  readonly replayedRecords: number;
  readonly truncatedBytes: number;
  readonly stats: Readonly<JournalStats>;
}

/** Opens a store: in memory, or over `options.log` (loading its snapshot and replaying its log). */
export async function openStore(options: StoreOptions = {}): Promise<Store & { readonly persistence: Persistence | undefined }> {
  if (options.log === undefined) return new ObjectStore(options, undefined);
  const { journal, recovered } = await FileJournal.open(options.log, options.snapshot);
  const store = new ObjectStore(options, journal);
  store.load(recovered.snapshotRevision, recovered.objects, recovered.records);
  store.persistenceInfo = {
    snapshotRevision: recovered.snapshotRevision,
    replayedRecords: recovered.records.length,
    truncatedBytes: recovered.truncatedBytes,
    stats: journal.stats,
  };
  journal.start({
    durable: (rev) => store.durable(rev),
    failed: (e) => store.logFailed(e),
    snapshot: () => ({ revision: store.revision, objects: store.allObjects() }),
  });
  store.startGc();
  return store;
}

interface Mutation {
  readonly revision: number;
  readonly type: Exclude<WatchEventType, 'BOOKMARK'>;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** The new state; for DELETED the last state, with the deletion's resourceVersion. */
  readonly object: KubeObject;
  readonly prev: KubeObject | undefined;
}

interface Pending {
  readonly m: Mutation;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

interface WatchFilter {
  readonly kind: string | undefined;
  readonly namespace: string | undefined;
  readonly labels: LabelSelectorRequirements | undefined;
  readonly fields: readonly FieldRequirement[] | undefined;
  readonly bookmarks: boolean;
}

interface Watcher extends WatchFilter {
  readonly stream: WatchStream;
}

const GENERATE_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
const MAX_GENERATE_PREFIX = 58;
const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const fail = <T>(error: ApiError): Result<T> => ({ ok: false, error });
const keyText = (kind: string, ns: string, name: string): string => (ns === '' ? `${kind} "${name}"` : `${kind} "${ns}/${name}"`);

export class ObjectStore implements Store {
  /** Committed objects: kind → namespace → name → object. */
  private readonly objects = new Map<string, Map<string, Map<string, KubeObject>>>();
  /** Accepted but not yet durable states (with a log only): "kind\0ns\0name" → state (undefined: removed). */
  private readonly overlay = new Map<string, { obj: KubeObject | undefined; rev: number }>();
  private headRevision = 0;
  private committedRevision = 0;
  private history: Mutation[] = [];
  private compacted = 0;
  private readonly watchers = new Map<string, Set<Watcher>>();
  private pending: Pending[] = [];
  private failure: unknown;
  private closed = false;
  private gc: GarbageCollector | undefined;
  persistenceInfo: Persistence | undefined;

  private readonly now: () => number;
  private readonly newUid: () => string;
  private readonly random: () => number;
  private readonly clusterScoped: ReadonlySet<string>;
  private readonly fieldLabels: Readonly<Record<string, readonly string[]>>;
  private readonly historyLimit: number;
  private readonly maxPending: number;

  constructor(
    private readonly options: StoreOptions,
    private readonly journal: FileJournal | undefined,
  ) {
    this.now = options.now ?? Date.now;
    this.newUid = options.uid ?? (() => globalThis.crypto.randomUUID());
    this.random = options.random ?? Math.random;
    this.clusterScoped = new Set(options.clusterScopedKinds ?? CLUSTER_SCOPED_KINDS);
    const labels: Record<string, readonly string[]> = { ...DEFAULT_FIELD_LABELS };
    for (const [k, v] of Object.entries(options.fieldLabels ?? {})) labels[k] = [...(labels[k] ?? []), ...v];
    this.fieldLabels = labels;
    this.historyLimit = Math.max(1, options.historyLimit ?? 10_000);
    this.maxPending = Math.max(1, options.maxPendingEvents ?? 10_000);
    if (journal === undefined) this.startGc();
  }

  get revision(): number {
    return this.committedRevision;
  }

  get compactedRevision(): number {
    return this.compacted;
  }

  get persistence(): Persistence | undefined {
    return this.persistenceInfo;
  }

  /** @internal Started by openStore once the log is loaded. */
  startGc(): void {
    if (this.options.garbageCollector === false || this.gc !== undefined) return;
    this.gc = new GarbageCollector(this);
    this.gc.start();
  }

  // -------------------------------------------------------------------------------------
  // Reads

  get<T extends KubeObject = KubeObject>(key: ObjectKey): Result<T> {
    const ns = this.namespaceOf(key.kind, key.namespace);
    const obj = this.objects.get(key.kind)?.get(ns)?.get(key.name);
    if (obj === undefined) return fail(new ApiError('NotFound', `${keyText(key.kind, ns, key.name)} not found`));
    return ok(obj as T);
  }

  list<T extends KubeObject = KubeObject>(kind: string | undefined, options: ListOptions = {}): Result<ObjectList<T>> {
    const f = this.filters(kind, options);
    if (!f.ok) return f;
    const { labels, fields } = f.value;
    const items: KubeObject[] = [];
    const kinds = kind === undefined ? [...this.objects.keys()].sort() : [kind];
    for (const k of kinds) {
      const byNs = this.objects.get(k);
      if (byNs === undefined) continue;
      const namespaces = options.namespace !== undefined && !this.clusterScoped.has(k) ? [options.namespace] : [...byNs.keys()].sort();
      for (const ns of namespaces) {
        const byName = byNs.get(ns);
        if (byName === undefined) continue;
        const names = [...byName.keys()].sort();
        for (const name of names) {
          const obj = byName.get(name) as KubeObject;
          if (labels !== undefined && !matchesLabels(labels, obj.metadata.labels)) continue;
          if (fields !== undefined && !matchesFields(fields, obj)) continue;
          items.push(obj);
        }
      }
    }
    return ok({ items: items as T[], resourceVersion: String(this.committedRevision) });
  }

  /** Every committed object (for snapshots). */
  *allObjects(): Iterable<KubeObject> {
    for (const byNs of this.objects.values()) for (const byName of byNs.values()) yield* byName.values();
  }

  // -------------------------------------------------------------------------------------
  // Writes

  async create<T extends KubeObject>(input: T): Promise<Result<Stored<T>>> {
    this.checkWritable();
    const shape = checkShape(input);
    if (shape !== undefined) return fail(shape);
    const kind = input.kind;
    const meta = input.metadata;
    const clusterScoped = this.clusterScoped.has(kind);
    const namespace = clusterScoped ? '' : typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== '') {
      return fail(invalid(input, 'metadata.resourceVersion', meta.resourceVersion, 'resourceVersion should not be set on objects to be created'));
    }
    let name = meta.name;
    if (name === undefined || name === '') {
      if (typeof meta.generateName !== 'string' || meta.generateName === '') {
        return fail(invalid(input, 'metadata.name', undefined, 'Required value: name or generateName is required'));
      }
      const prefix = meta.generateName.slice(0, MAX_GENERATE_PREFIX);
      for (let attempt = 0; attempt < 8 && name === undefined; attempt++) {
        let candidate = prefix;
        for (let i = 0; i < 5; i++) candidate += GENERATE_CHARS[Math.floor(this.random() * GENERATE_CHARS.length)] as string;
        if (this.head(kind, namespace, candidate) === undefined) name = candidate;
      }
      if (name === undefined) return fail(new ApiError('AlreadyExists', `${kind}: no free name with generateName ${JSON.stringify(prefix)} after 8 attempts; use a longer or another prefix`));
    }
    if (this.head(kind, namespace, name) !== undefined) return fail(new ApiError('AlreadyExists', `${keyText(kind, namespace, name)} already exists`));
    const revision = this.headRevision + 1;
    const { deletionTimestamp: _dt, deletionGracePeriodSeconds: _dg, ...rest } = meta;
    const metadata: Record<string, unknown> = {
      ...rest,
      name,
      uid: this.newUid(),
      resourceVersion: String(revision),
      generation: 1,
      creationTimestamp: this.timestamp(0),
    };
    if (clusterScoped) delete metadata.namespace;
    else metadata.namespace = namespace;
    const frozen = this.freeze({ ...(input as KubeObject), metadata } as Record<string, unknown>, input);
    if (!frozen.ok) return frozen;
    const bad = validateMeta(frozen.value, clusterScoped);
    if (bad !== undefined) return fail(bad);
    return this.apply({ revision, type: 'ADDED', kind, namespace, name, object: frozen.value, prev: undefined }).then(() => ok(frozen.value as Stored<T>));
  }

  update<T extends KubeObject>(input: T): Promise<Result<Stored<T>>> {
    return this.replace(input, 'main');
  }

  updateStatus<T extends KubeObject>(input: T): Promise<Result<Stored<T>>> {
    return this.replace(input, 'status');
  }

  private async replace<T extends KubeObject>(input: T, mode: 'main' | 'status'): Promise<Result<Stored<T>>> {
    this.checkWritable();
    const shape = checkShape(input);
    if (shape !== undefined) return fail(shape);
    const kind = input.kind;
    const namespace = this.namespaceOf(kind, input.metadata.namespace ?? 'default');
    const name = input.metadata.name;
    if (typeof name !== 'string' || name === '') return fail(invalid(input, 'metadata.name', undefined, 'Required value: the name of the object to update'));
    const cur = this.head(kind, namespace, name);
    if (cur === undefined) return fail(new ApiError('NotFound', `${keyText(kind, namespace, name)} not found`));
    const pre = this.checkPreconditions(cur, { uid: input.metadata.uid, resourceVersion: input.metadata.resourceVersion });
    if (pre !== undefined) return fail(pre);
    return this.write(cur, input, mode) as Promise<Result<Stored<T>>>;
  }

  async patch<T extends KubeObject = KubeObject>(key: ObjectKey, patch: unknown, options: PatchOptions = {}): Promise<Result<T>> {
    this.checkWritable();
    const namespace = this.namespaceOf(key.kind, key.namespace);
    if (!isPlainObject(patch)) return fail(new ApiError('BadRequest', `patch of ${keyText(key.kind, namespace, key.name)}: a JSON merge patch must be an object, got ${Array.isArray(patch) ? 'an array' : JSON.stringify(patch)}`));
    const cur = this.head(key.kind, namespace, key.name);
    if (cur === undefined) return fail(new ApiError('NotFound', `${keyText(key.kind, namespace, key.name)} not found`));
    const pm = isPlainObject(patch.metadata) ? patch.metadata : {};
    const pre = this.checkPreconditions(cur, {
      uid: typeof pm.uid === 'string' ? pm.uid : undefined,
      resourceVersion: typeof pm.resourceVersion === 'string' ? pm.resourceVersion : undefined,
    });
    if (pre !== undefined) return fail(pre);
    const patched = mergePatch(cur, patch) as KubeObject;
    if (!isPlainObject(patched) || !isPlainObject(patched.metadata)) return fail(invalid(cur, 'metadata', undefined, 'Required value: a patch may not remove metadata'));
    for (const [field, was, now] of [
      ['kind', cur.kind, patched.kind],
      ['metadata.name', cur.metadata.name, patched.metadata.name],
      ['metadata.namespace', cur.metadata.namespace, patched.metadata.namespace],
    ] as const) {
      if (was !== now) return fail(invalid(cur, field, now, 'field is immutable'));
    }
    return this.write(cur, patched, options.subresource === 'status' ? 'status' : 'main') as Promise<Result<T>>;
  }

  async delete<T extends KubeObject = KubeObject>(key: ObjectKey, options: DeleteOptions = {}): Promise<Result<DeleteResult<T>>> {
    this.checkWritable();
    const namespace = this.namespaceOf(key.kind, key.namespace);
    const cur = this.head(key.kind, namespace, key.name);
    if (cur === undefined) return fail(new ApiError('NotFound', `${keyText(key.kind, namespace, key.name)} not found`));
    const pre = this.checkPreconditions(cur, options.preconditions ?? {});
    if (pre !== undefined) return fail(pre);
    const grace = options.gracePeriodSeconds ?? 0;
    if (!Number.isInteger(grace) || grace < 0) return fail(invalid(cur, 'gracePeriodSeconds', grace, 'must be a non-negative integer'));
    const m = cur.metadata;
    const finalizers = [...(m.finalizers ?? [])];
    let deletionTimestamp: string;
    let gracePeriod: number;
    if (m.deletionTimestamp === undefined) {
      const policy = options.propagationPolicy ?? 'Background';
      if (policy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
      if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
      deletionTimestamp = this.timestamp(grace);
      gracePeriod = grace;
    } else {
      // Already terminating: a delete may only shorten a running grace period.
      const running = m.deletionGracePeriodSeconds ?? 0;
      if (options.gracePeriodSeconds === undefined || grace >= running) return ok({ object: cur as T, removed: false });
      deletionTimestamp = this.timestamp(grace);
      if (deletionTimestamp > m.deletionTimestamp) deletionTimestamp = m.deletionTimestamp;
      gracePeriod = grace;
    }
    const revision = this.headRevision + 1;
    if (finalizers.length === 0 && gracePeriod === 0) {
      const object = this.withMeta(cur, { resourceVersion: String(revision) });
      await this.apply({ revision, type: 'DELETED', kind: key.kind, namespace, name: key.name, object, prev: cur });
      return ok({ object: object as T, removed: true });
    }
    const object = this.withMeta(cur, {
      resourceVersion: String(revision),
      deletionTimestamp,
      deletionGracePeriodSeconds: gracePeriod,
      finalizers: finalizers.length > 0 ? finalizers : undefined,
      generation: m.deletionTimestamp === undefined ? (m.generation ?? 1) + 1 : m.generation,
    });
    await this.apply({ revision, type: 'MODIFIED', kind: key.kind, namespace, name: key.name, object, prev: cur });
    return ok({ object: object as T, removed: false });
  }

  /** The update, status update and patch path: `input` is the requested whole object. */
  private async write(cur: KubeObject, input: KubeObject, mode: 'main' | 'status'): Promise<Result<KubeObject>> {
    const cm = cur.metadata;
    const revision = this.headRevision + 1;
    let candidate: Record<string, unknown>;
    if (mode === 'status') {
      candidate = { ...cur, metadata: { ...cm } };
      if (input.status === undefined) delete candidate.status;
      else candidate.status = input.status;
    } else {
      const im = input.metadata;
      candidate = { ...input, metadata: { ...im } };
      if (cur.status === undefined) delete candidate.status;
      else candidate.status = cur.status;
      const meta = candidate.metadata as Record<string, unknown>;
      for (const k of ['name', 'namespace', 'uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) {
        if (cm[k] === undefined) delete meta[k];
        else meta[k] = cm[k];
      }
      if (cm.deletionTimestamp !== undefined) {
        const before = new Set(cm.finalizers ?? []);
        const added = (Array.isArray(im.finalizers) ? im.finalizers : []).filter((f) => !before.has(f));
        if (added.length > 0) return fail(invalid(cur, 'metadata.finalizers', added, 'Forbidden: no new finalizers can be added if the object is being deleted'));
      }
    }
    (candidate.metadata as Record<string, unknown>).resourceVersion = cm.resourceVersion;
    const frozenSame = this.freeze(candidate, input);
    if (!frozenSame.ok) return frozenSame;
    if (jsonEqual(frozenSame.value, cur)) return ok(cur);
    const specChanged = mode === 'main' && this.specChanged(cur, frozenSame.value);
    const meta: Record<string, unknown> = { ...frozenSame.value.metadata, resourceVersion: String(revision) };
    if (specChanged) meta.generation = (cm.generation ?? 1) + 1;
    const frozen = this.freeze({ ...frozenSame.value, metadata: meta }, input);
    if (!frozen.ok) return frozen;
    const object = frozen.value;
    const bad = validateMeta(object, this.clusterScoped.has(object.kind));
    if (bad !== undefined) return fail(bad);
    const om = object.metadata;
    const remove = om.deletionTimestamp !== undefined && (om.finalizers ?? []).length === 0 && (om.deletionGracePeriodSeconds ?? 0) === 0;
    const ns = om.namespace ?? '';
    await this.apply({ revision, type: remove ? 'DELETED' : 'MODIFIED', kind: object.kind, namespace: ns, name: om.name as string, object, prev: cur });
    return ok(object);
  }

  private specChanged(a: KubeObject, b: KubeObject): boolean {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      if (k === 'metadata' || k === 'status' || k === 'apiVersion' || k === 'kind') continue;
      if (!jsonEqual((a as unknown as Record<string, unknown>)[k], (b as unknown as Record<string, unknown>)[k])) return true;
    }
    return false;
  }

  private checkPreconditions(cur: KubeObject, pre: { uid?: string | undefined; resourceVersion?: string | undefined }): ApiError | undefined {
    const m = cur.metadata;
    const what = keyText(cur.kind, m.namespace ?? '', m.name ?? '');
    if (pre.uid !== undefined && pre.uid !== '' && pre.uid !== m.uid) {
      return new ApiError('Conflict', `Operation cannot be fulfilled on ${what}: precondition failed: uid ${pre.uid} was asked, the object has uid ${m.uid ?? ''} (it was deleted and created again)`);
    }
    if (pre.resourceVersion !== undefined && pre.resourceVersion !== '' && pre.resourceVersion !== m.resourceVersion) {
      return new ApiError(
        'Conflict',
        `Operation cannot be fulfilled on ${what}: the object has been modified (resourceVersion ${pre.resourceVersion} was given, the object is at ${m.resourceVersion ?? '?'}); get the latest version, apply your changes to it and try again`,
      );
    }
    return undefined;
  }

  /** Accepts a mutation: commits now (memory) or when durable (log). Resolves once committed. */
  private apply(m: Mutation): Promise<void> {
    this.headRevision = m.revision;
    if (this.journal === undefined) {
      this.commit(m);
      return Promise.resolve();
    }
    this.overlay.set(`${m.kind}\0${m.namespace}\0${m.name}`, { obj: m.type === 'DELETED' ? undefined : m.object, rev: m.revision });
    this.journal.append({ revision: m.revision, object: m.object, deleted: m.type === 'DELETED' });
    return new Promise((resolve, reject) => this.pending.push({ m, resolve, reject }));
  }

  /** @internal The journal made everything up to `revision` durable. */
  durable(revision: number): void {
    let i = 0;
    for (; i < this.pending.length && (this.pending[i] as Pending).m.revision <= revision; i++) {
      const p = this.pending[i] as Pending;
      const k = `${p.m.kind}\0${p.m.namespace}\0${p.m.name}`;
      if (this.overlay.get(k)?.rev === p.m.revision) this.overlay.delete(k);
      this.commit(p.m);
    }
    const done = this.pending.slice(0, i);
    this.pending = this.pending.slice(i);
    for (const p of done) p.resolve();
  }

  /** @internal The log failed: nothing pending will be committed. */
  logFailed(e: unknown): void {
    this.failure = e;
    const pending = this.pending;
    this.pending = [];
    this.overlay.clear();
    this.headRevision = this.committedRevision;
    for (const p of pending) p.reject(e);
  }

  private commit(m: Mutation): void {
    let byNs = this.objects.get(m.kind);
    if (byNs === undefined) this.objects.set(m.kind, (byNs = new Map()));
    let byName = byNs.get(m.namespace);
    if (byName === undefined) byNs.set(m.namespace, (byName = new Map()));
    if (m.type === 'DELETED') {
      byName.delete(m.name);
      if (byName.size === 0) byNs.delete(m.namespace);
      if (byNs.size === 0) this.objects.delete(m.kind);
    } else byName.set(m.name, m.object);
    this.committedRevision = m.revision;
    this.history.push(m);
    this.notify(m, this.watchers.get(m.kind));
    this.notify(m, this.watchers.get(''));
    if (this.history.length > this.historyLimit + Math.max(64, this.historyLimit >> 2)) {
      const drop = this.history.length - this.historyLimit;
      this.compactTo((this.history[drop - 1] as Mutation).revision);
    }
  }

  private notify(m: Mutation, set: Set<Watcher> | undefined): void {
    if (set === undefined) return;
    for (const w of set) {
      const ev = this.eventFor(w, m);
      if (ev !== undefined) w.stream.push(ev);
    }
  }

  /** What watcher `w` sees of `m`: selector transitions become ADDED / DELETED, as in kube-apiserver. */
  private eventFor(w: WatchFilter, m: Mutation): WatchEvent | undefined {
    if ((w.kind !== undefined && m.kind !== w.kind) || (w.namespace !== undefined && m.namespace !== w.namespace)) return undefined;
    if (w.labels === undefined && w.fields === undefined) return { type: m.type, object: m.object };
    const before = m.prev !== undefined && this.matches(w, m.prev);
    if (m.type === 'DELETED') return before ? { type: 'DELETED', object: m.object } : undefined;
    const now = this.matches(w, m.object);
    if (now) return { type: before ? 'MODIFIED' : 'ADDED', object: m.object };
    return before ? { type: 'DELETED', object: m.object } : undefined;
  }

  private matches(w: WatchFilter, obj: KubeObject): boolean {
    return (w.labels === undefined || matchesLabels(w.labels, obj.metadata.labels)) && (w.fields === undefined || matchesFields(w.fields, obj));
  }

  // -------------------------------------------------------------------------------------
  // Watch and history

  watch<T extends KubeObject = KubeObject>(kind: string | undefined, options: WatchOptions = {}): Result<Watch<T>> {
    if (this.closed) throw new Error('store is closed');
    const f = this.filters(kind, options);
    if (!f.ok) return f;
    const namespace = kind !== undefined && this.clusterScoped.has(kind) ? undefined : options.namespace;
    const rvText = options.resourceVersion ?? '';
    const bookmarks = options.allowBookmarks === true;
    const initial: WatchEvent[] = [];
    const filter: WatchFilter = { kind, namespace, labels: f.value.labels, fields: f.value.fields, bookmarks };
    if (rvText === '' || rvText === '0') {
      const listed = this.list(kind, { ...options, namespace });
      if (!listed.ok) return listed;
      for (const obj of listed.value.items) initial.push({ type: 'ADDED', object: obj });
      if (bookmarks) initial.push(this.bookmark(kind, true));
    } else {
      if (!/^\d+$/.test(rvText)) return fail(new ApiError('BadRequest', `invalid resourceVersion ${JSON.stringify(rvText)} for a watch: want a resourceVersion from a list or an object`));
      const from = Number(rvText);
      if (from < this.compacted) {
        return fail(new ApiError('Gone', `too old resource version: ${from} (the history starts after ${this.compacted}); list again and watch from the list's resourceVersion`));
      }
      for (let i = this.firstAfter(from); i < this.history.length; i++) {
        const ev = this.eventFor(filter, this.history[i] as Mutation);
        if (ev !== undefined) initial.push(ev);
      }
    }
    const key = kind ?? '';
    const stream: WatchStream = new WatchStream(initial, options.maxPending ?? this.maxPending, () => {
      this.watchers.get(key)?.delete(w);
    });
    const w: Watcher = { ...filter, stream };
    let set = this.watchers.get(key);
    if (set === undefined) this.watchers.set(key, (set = new Set()));
    set.add(w);
    return ok(stream as unknown as Watch<T>);
  }

  private bookmark(kind: string | undefined, initialEnd: boolean): WatchEvent {
    const metadata: ObjectMeta = initialEnd
      ? { resourceVersion: String(this.committedRevision), annotations: { 'k8s.io/initial-events-end': 'true' } }
      : { resourceVersion: String(this.committedRevision) };
    return { type: 'BOOKMARK', object: { apiVersion: 'v1', kind: kind ?? '', metadata } };
  }

  /** Index of the first history event with revision > `rev`. */
  private firstAfter(rev: number): number {
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.history[mid] as Mutation).revision <= rev) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  compact(revision?: number): void {
    const target = revision ?? (this.history.length > this.historyLimit ? (this.history[this.history.length - this.historyLimit - 1] as Mutation).revision : this.compacted);
    this.compactTo(Math.min(target, this.committedRevision));
  }

  private compactTo(revision: number): void {
    if (revision <= this.compacted) return;
    this.history = this.history.slice(this.firstAfter(revision));
    this.compacted = revision;
    for (const set of this.watchers.values()) {
      for (const w of set) if (w.bookmarks) w.stream.push(this.bookmark(w.kind, false));
    }
  }

  /** @internal Loads recovered state (before any write). */
  load(snapshotRevision: number, objects: readonly KubeObject[], records: readonly { revision: number; object: KubeObject; deleted: boolean }[]): void {
    for (const o of objects) {
      const obj = adoptParsed(o);
      const ns = obj.metadata.namespace ?? '';
      this.commitSilently(obj.kind, ns, obj.metadata.name as string, obj);
    }
    this.committedRevision = this.headRevision = this.compacted = snapshotRevision;
    for (const r of records) {
      const obj = adoptParsed(r.object);
      const ns = obj.metadata.namespace ?? '';
      const name = obj.metadata.name as string;
      const prev = this.objects.get(obj.kind)?.get(ns)?.get(name);
      const type = r.deleted ? 'DELETED' : prev === undefined ? 'ADDED' : 'MODIFIED';
      this.headRevision = r.revision;
      this.commit({ revision: r.revision, type, kind: obj.kind, namespace: ns, name, object: obj, prev });
    }
  }

  private commitSilently(kind: string, ns: string, name: string, obj: KubeObject): void {
    let byNs = this.objects.get(kind);
    if (byNs === undefined) this.objects.set(kind, (byNs = new Map()));
    let byName = byNs.get(ns);
    if (byName === undefined) byNs.set(ns, (byName = new Map()));
    byName.set(name, obj);
  }

  // -------------------------------------------------------------------------------------
  // Lifecycle

  async whenIdle(): Promise<void> {
    for (;;) {
      if (this.failure !== undefined) throw new Error('store log failed (an I/O error); reopen the store', { cause: this.failure });
      if (this.journal !== undefined) await this.journal.flushed();
      if (this.gc !== undefined) await this.gc.idle();
      if ((this.journal === undefined || !this.journal.pending) && (this.gc === undefined || this.gc.isIdle())) return;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.gc?.stop();
    for (const set of [...this.watchers.values()]) for (const w of [...set]) w.stream.close();
    this.watchers.clear();
    await this.journal?.close();
  }

  // -------------------------------------------------------------------------------------
  // Helpers

  private checkWritable(): void {
    if (this.closed) throw new Error('store is closed');
    if (this.failure !== undefined) throw new Error('store log failed earlier (an I/O error); reopen the store', { cause: this.failure });
  }

  private namespaceOf(kind: string, namespace: string | undefined): string {
    return this.clusterScoped.has(kind) ? '' : (namespace ?? '');
  }

  private head(kind: string, ns: string, name: string): KubeObject | undefined {
    if (this.overlay.size > 0) {
      const o = this.overlay.get(`${kind}\0${ns}\0${name}`);
      if (o !== undefined) return o.obj;
    }
    return this.objects.get(kind)?.get(ns)?.get(name);
  }

  private withMeta(cur: KubeObject, changes: Record<string, unknown>): KubeObject {
    const metadata: Record<string, unknown> = { ...cur.metadata };
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined) delete metadata[k];
      else metadata[k] = v;
    }
    const r = freezeCopy({ ...cur, metadata });
    if (!r.ok) throw new Error(`store: internal metadata is not JSON at ${r.error.path}`);
    return r.value;
  }

  private freeze(candidate: Record<string, unknown>, input: KubeObject): Result<KubeObject> {
    const r = freezeCopy(candidate as unknown as KubeObject);
    if (!r.ok) return fail(invalid(input, r.error.path, undefined, r.error.reason));
    return ok(r.value);
  }

  private timestamp(plusSeconds: number): string {
    return new Date(Math.floor(this.now() / 1000) * 1000 + plusSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  private filters(kind: string | undefined, options: ListOptions): Result<{ labels: LabelSelectorRequirements | undefined; fields: readonly FieldRequirement[] | undefined }> {
    let labels: LabelSelectorRequirements | undefined;
    if (typeof options.labelSelector === 'string') {
      const r = parseLabelSelector(options.labelSelector);
      if (!r.ok) return r;
      labels = r.value.requirements.length === 0 && r.value.nothing !== true ? undefined : r.value;
    } else if (options.labelSelector !== undefined) {
      labels = options.labelSelector;
    }
    let fields: readonly FieldRequirement[] | undefined;
    if (options.fieldSelector !== undefined) {
      const r = parseFieldSelector(options.fieldSelector);
      if (!r.ok) return r;
      const allowed = ['metadata.name', 'metadata.namespace', ...(kind !== undefined ? (this.fieldLabels[kind] ?? []) : [])];
      for (const req of r.value) {
        if (!allowed.includes(req.field)) {
          return fail(new ApiError('BadRequest', `field label not supported: ${JSON.stringify(req.field)} in field selector ${JSON.stringify(options.fieldSelector)}; ${kind ?? 'a watch of every kind'} supports ${allowed.map((a) => JSON.stringify(a)).join(', ')}`));
        }
      }
      fields = r.value.length > 0 ? r.value : undefined;
    }
    return ok({ labels, fields });
  }
}

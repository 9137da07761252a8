/**
 * The API store: the cluster's objects, their history, and the one place where a change
 * becomes true. Everything else in src/cluster (controllers, the scheduler, the kubelets'
 * master side, the client API) reads and writes objects through it.
 *
 * Words (Kubernetes' and etcd's):
 * - An *object* is a Kubernetes object as plain JSON data (api/types.ts), identified by
 *   its key: kind, namespace ('' for cluster-scoped kinds such as Node) and name.
 * - The *revision* is one global counter. Every committed mutation (create, update,
 *   delete, a finalizer-driven removal, a garbage-collector deletion) takes the next one;
 *   an object's `metadata.resourceVersion` is the revision of its last change, as a
 *   decimal string. A list's resourceVersion is the revision it was read at.
 * - A mutation is *committed* once it is visible to readers and watchers; with a log it is
 *   committed only after it is durable, and the caller's promise resolves only then
 *   (*acknowledged*). Readers never see a write that could still be lost.
 * - The *history* is the window of recent committed events that watches can start from.
 *   *Compaction* drops the oldest; a watch from a revision no longer in the window is
 *   `Gone` (410): the client lists again and watches from the list's resourceVersion.
 * - *Finalizers* keep a deleted object around: delete sets `deletionTimestamp`, and the
 *   object is removed once its finalizers are empty (and any grace period has run out).
 *
 * One full flow, a ReplicaSet controller's:
 *   1. `list('Pod', { namespace, labelSelector: 'app=web' })` → items + resourceVersion R.
 *   2. `watch('Pod', { namespace, labelSelector: 'app=web', resourceVersion: R })` → the
 *      events after R, in revision order, forever (or until it falls behind: Gone).
 *   3. `create(pod)` with `generateName: 'web-'` and an ownerReference to the
 *      ReplicaSet → the stored pod (name, uid, creationTimestamp, resourceVersion,
 *      generation 1 filled in); every watcher sees ADDED.
 *   4. The kubelet `updateStatus(pod)` with the resourceVersion it read → a stale one is a
 *      `Conflict` value: it gets the pod again and retries. Spec is untouched and
 *      generation stays; a spec `update` bumps generation.
 *   5. `delete(replicaSetKey)` → the ReplicaSet is removed; the garbage collector sees
 *      its pods' owner gone and deletes them (background propagation).
 *
 * Contracts:
 * - Expected outcomes are values (STYLE §5): NotFound, AlreadyExists, Conflict, Invalid,
 *   BadRequest, Gone come back as `{ ok: false, error: ApiError }`. Only the unexpected
 *   throws: an I/O failure of the log (after which the store is failed and every write
 *   throws), or using a closed store.
 * - Objects are plain data, deep-frozen and shared (values.ts): what comes out of the
 *   store must not be modified; build a new object (`{ ...obj, spec: … }`) to write.
 * - Reads are synchronous and see committed state. Writes are asynchronous; a write is
 *   visible once its promise resolves. Concurrent writes are serialized in call order;
 *   each is validated against the latest accepted (possibly not yet durable) state.
 * - Watch events are delivered in revision order; each watcher has a bounded queue and
 *   is closed with `Gone` when it falls further behind than that.
 *
 * The interface is split by role (STYLE §2): a consumer takes the narrowest it needs
 * (`ObjectReader` for a lister, `ObjectWatcher` for an informer).
 */
import type { ApiError, KubeObject, ObjectKey, ObjectMeta, WatchEvent } from '../api/types.js';
import type { LabelSelectorRequirements } from './selectors.js';

/** An expected outcome: the value, or the Kubernetes error saying why not. */
export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ApiError };

/** The value of a Result, or throws its ApiError (for client APIs and tests). */
export function unwrap<T>(r: Result<T>): T {
  if (r.ok) return r.value;
  throw r.error;
}

/**
 * An object as the store returns it from a write: the caller's type, with the metadata
 * the store fills in (uid, resourceVersion…) visible even when the input was a literal.
 */
export type Stored<T extends KubeObject> = T & { readonly metadata: ObjectMeta };

export interface ListOptions {
  /** Only this namespace (namespaced kinds); all namespaces when absent. */
  readonly namespace?: string;
  /** `app=web,tier!=db,env in (a,b),!canary` (see selectors.ts), or parsed requirements. */
  readonly labelSelector?: string | LabelSelectorRequirements;
  /** `spec.nodeName=node-1,metadata.name!=x` (see selectors.ts and `StoreOptions.fieldLabels`). */
  readonly fieldSelector?: string;
}

/**
 * A list is always read at the latest committed revision (Kubernetes' resourceVersion=""
 * semantics); there is no paging (limit/continue) and no list at an older revision.
 */
export interface ObjectList<T extends KubeObject = KubeObject> {
  /** Sorted by namespace, then name. */
  readonly items: readonly T[];
  /** The revision the list was read at: watch from it to see every later change. */
  readonly resourceVersion: string;
}

export interface PatchOptions {
  /** `status` patches only `.status` (the /status subresource); default: everything but status. */
  readonly subresource?: 'status';
}

export interface Preconditions {
  readonly uid?: string;
  readonly resourceVersion?: string;
}

export interface DeleteOptions {
  /**
   * What happens to the object's dependents (objects whose ownerReferences name it):
   * Background (default) — the object is removed now and the garbage collector deletes
   * its dependents afterwards; Foreground — the object stays (deletionTimestamp set,
   * finalizer `foregroundDeletion`) until its dependents are gone; Orphan — finalizer
   * `orphan`: the dependents' ownerReferences to it are removed and they stay.
   */
  readonly propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  /**
   * Graceful deletion: the object stays, with `deletionTimestamp` now + this many
   * seconds, until a later delete with 0 (the kubelet confirming a pod is stopped). May
   * only shorten a grace period already running. Default 0: no grace period.
   */
  readonly gracePeriodSeconds?: number;
  /** Conflict unless the object has this uid / resourceVersion. */
  readonly preconditions?: Preconditions;
}

export interface DeleteResult<T extends KubeObject = KubeObject> {
  /** The object as removed (resourceVersion = the deletion's revision), or as now marked for deletion. */
  readonly object: T;
  /** True if the object is gone; false if it waits for finalizers or a grace period. */
  readonly removed: boolean;
}

export interface WatchOptions extends ListOptions {
  /**
   * Where to start. A revision `R`: the events after R (Gone if R was compacted away; a
   * revision ahead of the store's simply waits for it). Absent or '0': an ADDED event for
   * every object that matches now, then the changes.
   */
  readonly resourceVersion?: string;
  /**
   * Send BOOKMARK events (an object with only kind and metadata.resourceVersion): one after
   * the initial ADDED events (annotated `k8s.io/initial-events-end: "true"`), and one at
   * each compaction, so a quiet watcher can resume from a revision still in the history.
   */
  readonly allowBookmarks?: boolean;
  /** Events this watcher may have queued, unread, before it is closed with Gone (default: the store's). */
  readonly maxPending?: number;
}

/**
 * A stream of watch events: `for await (const ev of watch) …`. It ends when the caller
 * closes it (`close()` or leaving the loop), when the store closes, or when the store
 * ends it — then `error` says why (Gone: it fell behind; list and watch again).
 */
export interface Watch<T extends KubeObject = KubeObject> extends AsyncIterableIterator<WatchEvent<T>> {
  /** Stops the watch; unread events are dropped. Idempotent. */
  close(): void;
  readonly closed: boolean;
  /** Set when the store ended the watch (Gone), undefined otherwise. */
  readonly error: ApiError | undefined;
}

export interface ObjectReader {
  /** The committed revision (0 for an empty store). */
  readonly revision: number;
  get<T extends KubeObject = KubeObject>(key: ObjectKey): Result<T>;
  /** The objects of `kind` (every kind when undefined) that match the options. */
  list<T extends KubeObject = KubeObject>(kind: string | undefined, options?: ListOptions): Result<ObjectList<T>>;
}

export interface ObjectWriter {
  /**
   * Stores a new object. The store sets uid, creationTimestamp, resourceVersion and
   * generation 1 (and a name from `generateName`); namespaced kinds default to namespace
   * `default`, cluster-scoped kinds lose any namespace. AlreadyExists if the key is
   * taken; Invalid (naming the field) for a bad name, label, or a resourceVersion set.
   */
  create<T extends KubeObject>(obj: T): Promise<Result<Stored<T>>>;
  /**
   * Replaces everything but `.status` (kept as stored) and the store's own metadata.
   * With `metadata.resourceVersion` set, Conflict unless it is current; without, the
   * update is unconditional. Generation is bumped when anything outside metadata and
   * status changes. An update that changes nothing is not written (same resourceVersion).
   */
  update<T extends KubeObject>(obj: T): Promise<Result<Stored<T>>>;
  /** Replaces `.status` only (the /status subresource); same preconditions as update. */
  updateStatus<T extends KubeObject>(obj: T): Promise<Result<Stored<T>>>;
  /**
   * Applies a JSON merge patch (RFC 7386) to the current object: objects merge, `null`
   * removes, lists are replaced whole (no strategic merge). A `metadata.resourceVersion`
   * in the patch is a precondition, as in Kubernetes.
   */
  patch<T extends KubeObject = KubeObject>(key: ObjectKey, patch: unknown, options?: PatchOptions): Promise<Result<T>>;
  delete<T extends KubeObject = KubeObject>(key: ObjectKey, options?: DeleteOptions): Promise<Result<DeleteResult<T>>>;
}

export interface ObjectWatcher {
  /** Watches `kind` (every kind when undefined). BadRequest for a bad selector, Gone for a compacted revision. */
  watch<T extends KubeObject = KubeObject>(kind: string | undefined, options?: WatchOptions): Result<Watch<T>>;
}

/** The whole store: the roles plus its lifecycle. */
export interface Store extends ObjectReader, ObjectWriter, ObjectWatcher {
  /** The oldest revision a watch can start from (events after it are kept). */
  readonly compactedRevision: number;
  /** Drops history up to `revision` (default: all but the configured window). */
  compact(revision?: number): void;
  /**
   * Resolves once the store has nothing left to do on its own: no write waiting for the
   * log, and the garbage collector caught up with nothing queued. For tests and for
   * deterministic (fake-clock) runs. Rejects if the garbage collector hit an unexpected error.
   */
  whenIdle(): Promise<void>;
  /** Ends every watch, waits for pending log writes, closes the log. Idempotent. */
  close(): Promise<void>;
}

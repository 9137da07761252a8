/**
 * The shapes every part of the cluster shares: Kubernetes objects as plain data, keys,
 * watch events and the API errors. Field names are Kubernetes' own (metadata, spec,
 * status, resourceVersion, ownerReferences…), so a manifest that works here passes
 * Kubernetes' schema and an object read from here is what kubectl would print.
 *
 * Objects cross threads (master ↔ kubelet) as plain data encoded with msgpackr: nothing
 * here may hold functions, classes or cycles.
 */

export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  readonly name?: string;
  readonly generateName?: string;
  readonly namespace?: string;
  readonly uid?: string;
  /** Opaque to clients; the store's revision (a decimal string), per object and for watches. */
  readonly resourceVersion?: string;
  /** Bumped by the store on every change to `spec` (and to metadata other than status). */
  readonly generation?: number;
  readonly creationTimestamp?: string;
  readonly deletionTimestamp?: string;
  readonly deletionGracePeriodSeconds?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly OwnerReference[];
  readonly finalizers?: readonly string[];
}

/**
 * A label selector as it appears inside objects (metav1.LabelSelector: a ReplicaSet's
 * `spec.selector`, a Service's…): the requirements are ANDed. `{}` selects everything;
 * an absent selector selects nothing. The string form (`app=web,tier in (a,b)`) is parsed
 * by store/selectors.ts.
 */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  /** Non-empty for In and NotIn, empty or absent for Exists and DoesNotExist. */
  readonly values?: readonly string[];
}

/** Any Kubernetes object. Kinds narrow `spec` and `status` (see objects/). */
export interface KubeObject<Spec = unknown, Status = unknown> {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly spec?: Spec;
  readonly status?: Status;
}

/** What identifies an object: kind (not apiVersion), namespace ('' for cluster-scoped) and name. */
export interface ObjectKey {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchEvent<T extends KubeObject = KubeObject> {
  readonly type: WatchEventType;
  readonly object: T;
}

/** Kubernetes' status reasons for the failures a client is expected to handle. */
export type ApiReason = 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Invalid' | 'Gone' | 'BadRequest' | 'Forbidden';

const CODES: Readonly<Record<ApiReason, number>> = {
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Invalid: 422,
  Gone: 410,
  BadRequest: 400,
  Forbidden: 403,
};

/**
 * An API failure as Kubernetes reports it (a `Status` object: reason + HTTP code +
 * message naming the object and, for Invalid, the field). The store returns these as
 * values where a caller is expected to branch on them (a stale update is a Conflict
 * value, STYLE §5); the client API throws them.
 */
export class ApiError extends Error {
  readonly code: number;
  constructor(
    readonly reason: ApiReason,
    message: string,
    /** For Invalid: the offending field path, e.g. `spec.replicas`. */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
    this.code = CODES[reason];
  }
  /** The Kubernetes `Status` object for this error. */
  toStatus(): KubeObject & { status: 'Failure'; reason: ApiReason; code: number; message: string } {
    return { apiVersion: 'v1', kind: 'Status', metadata: {}, status: 'Failure', reason: this.reason, code: this.code, message: this.message };
  }
}

export function keyOf(obj: KubeObject): ObjectKey {
  return { kind: obj.kind, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name ?? '' };
}

export function keyString(k: ObjectKey): string {
  return k.namespace === '' ? `${k.kind}/${k.name}` : `${k.kind}/${k.namespace}/${k.name}`;
}

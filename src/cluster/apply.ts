/**
 * `apply`: what `kubectl apply -f` does with each object, against the store — create it
 * when absent, otherwise replace what the user owns (labels, annotations, spec, and the
 * top-level data fields of kinds without a spec such as a ConfigMap's `data`) and keep
 * what the cluster filled in (status, a Service's allocated clusterIP and nodePorts).
 * Each object is admitted first (defaults, then validation naming the field): an invalid
 * object is refused before anything is written, so one bad document in a file leaves
 * the cluster as it was.
 *
 * Also the registry's create strategy for the kinds that have one (the API server does
 * these on create, outside defaulting): a Pod starts with `status.phase: Pending`.
 */
import { ApiError, type KubeObject } from './api/types.js';
import { admit } from './objects/validation.js';
import { parseManifests } from './objects/manifests.js';
import type { Result, Store } from './store/store.js';

/** Creates instead of `store.create` for some kinds (a Service's addresses are allocated at create, as the API server does). */
export type CreateHook = (obj: KubeObject) => Promise<Result<KubeObject>> | undefined;

export interface Applied {
  readonly object: KubeObject;
  /** kubectl's words: `created`, `configured` or `unchanged`. */
  readonly action: 'created' | 'configured' | 'unchanged';
}

/** Parses and admits every object; throws the first error (BadRequest for YAML, Invalid naming the field). */
export function admitAll(input: string | object | readonly object[]): KubeObject[] {
  const parsed = parseManifests(input);
  const first = parsed.errors[0];
  if (first !== undefined) throw new ApiError('BadRequest', first.message);
  const out: KubeObject[] = [];
  for (const obj of parsed.objects) {
    const r = admit(obj);
    if (!r.ok) throw r.error;
    out.push(r.object);
  }
  return out;
}

/** Applies admitted objects in order. Throws the store's ApiError if one is refused (earlier ones stay applied, as with kubectl). */
export async function applyObjects(store: Store, objects: readonly KubeObject[], create?: CreateHook): Promise<Applied[]> {
  const out: Applied[] = [];
  for (const obj of objects) out.push(await applyOne(store, obj, create));
  return out;
}

const USER_OWNED_TOP_LEVEL = ['spec', 'data', 'binaryData', 'stringData', 'subsets', 'immutable', 'type'] as const;

async function applyOne(store: Store, obj: KubeObject, create: CreateHook | undefined): Promise<Applied> {
  const namespace = obj.metadata.namespace ?? 'default';
  const name = obj.metadata.name;
  const cur = name === undefined ? undefined : store.get({ kind: obj.kind, namespace, name });
  if (cur === undefined || !cur.ok) {
    if (cur !== undefined && cur.error.reason !== 'NotFound') throw cur.error;
    const fresh = createStrategy(obj);
    const created = (await create?.(fresh)) ?? (await store.create(fresh));
    if (!created.ok) throw created.error;
    return { object: created.value, action: 'created' };
  }
  const old = cur.value as KubeObject & Record<string, unknown>;
  const next: Record<string, unknown> = { ...old };
  const incoming = obj as KubeObject & Record<string, unknown>;
  // What the manifest has replaces what is stored; a data field it dropped goes (a
  // missing spec or type is the defaulted one, never absent after admit).
  for (const field of USER_OWNED_TOP_LEVEL) {
    if (field in incoming) next[field] = incoming[field];
    else if (field !== 'spec' && field !== 'type') delete next[field];
  }
  if (obj.kind === 'Pod' && isRecord(next.spec) && isRecord(old.spec) && next.spec.nodeName === undefined && old.spec.nodeName !== undefined) {
    next.spec = { ...next.spec, nodeName: old.spec.nodeName }; // bound by the scheduler, not the user's
  }
  if (obj.kind === 'Service') next.spec = keepAllocated(old.spec as ServiceSpecLike | undefined, incoming.spec as ServiceSpecLike | undefined);
  const metadata = { ...old.metadata };
  setOrDelete(metadata, 'labels', obj.metadata.labels);
  setOrDelete(metadata, 'annotations', obj.metadata.annotations);
  next.metadata = metadata;
  const updated = await store.update(next as unknown as KubeObject);
  if (!updated.ok) throw updated.error;
  return { object: updated.value, action: updated.value.metadata.resourceVersion === old.metadata.resourceVersion ? 'unchanged' : 'configured' };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function setOrDelete(meta: Record<string, unknown>, key: string, value: unknown): void {
  if (value === undefined) delete meta[key];
  else meta[key] = value;
}

interface ServiceSpecLike {
  readonly clusterIP?: string;
  readonly clusterIPs?: readonly string[];
  readonly ports?: readonly { readonly name?: string; readonly port: number; readonly nodePort?: number }[];
  readonly [k: string]: unknown;
}

/** A Service applied again keeps its clusterIP and the nodePorts it was given, unless the manifest names them. */
function keepAllocated(old: ServiceSpecLike | undefined, incoming: ServiceSpecLike | undefined): ServiceSpecLike | undefined {
  if (incoming === undefined || old === undefined) return incoming;
  const ports = incoming.ports?.map((p) => {
    if (p.nodePort !== undefined) return p;
    const was = old.ports?.find((o) => (o.name ?? '') === (p.name ?? '') && o.port === p.port);
    return was?.nodePort !== undefined ? { ...p, nodePort: was.nodePort } : p;
  });
  return {
    ...incoming,
    ...(incoming.clusterIP === undefined && old.clusterIP !== undefined ? { clusterIP: old.clusterIP } : {}),
    ...(incoming.clusterIPs === undefined && old.clusterIPs !== undefined ? { clusterIPs: old.clusterIPs } : {}),
    ...(ports !== undefined ? { ports } : {}),
  };
}

/** The registry's create strategy: what the API server sets on create besides defaults. */
export function createStrategy<T extends KubeObject>(obj: T): T {
  if (obj.kind === 'Pod' && obj.apiVersion === 'v1') {
    const status = (obj.status ?? {}) as Record<string, unknown>;
    return { ...obj, status: { ...status, phase: status.phase ?? 'Pending' } };
  }
  return obj;
}

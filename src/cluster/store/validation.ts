/**
 * What the store itself checks on every write, whatever the kind: the object's identity
 * and the metadata it interprets (names, labels, annotations, finalizers,
 * ownerReferences), by apimachinery's ObjectMeta rules. Kind-specific validation (a Pod's
 * containers, a Deployment's strategy) belongs to objects/. Each problem is an Invalid
 * ApiError naming the field, the value and the rule, as kube-apiserver words them.
 */
import { ApiError, type KubeObject, type ObjectMeta } from '../api/types.js';
import { dns1123LabelProblem, dns1123SubdomainProblem, labelValueProblem, qualifiedNameProblem } from './selectors.js';

const MAX_ANNOTATIONS_BYTES = 256 * 1024;
const KIND = /^[A-Za-z][A-Za-z0-9]*$/;

export function invalid(obj: { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } }, field: string, value: unknown, reason: string): ApiError {
  const kind = typeof obj.kind === 'string' && obj.kind !== '' ? obj.kind : 'object';
  const ns = typeof obj.metadata?.namespace === 'string' && obj.metadata.namespace !== '' ? `${obj.metadata.namespace}/` : '';
  const name = typeof obj.metadata?.name === 'string' ? obj.metadata.name : '';
  const shown = value === undefined ? '' : ` Invalid value: ${JSON.stringify(value)}:`;
  return new ApiError('Invalid', `${kind} "${ns}${name}" is invalid: ${field}:${shown} ${reason}`, field);
}

/** The type-level shape every write needs: apiVersion, kind and a metadata object. */
export function checkShape(obj: unknown): ApiError | undefined {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return new ApiError('BadRequest', `expected a Kubernetes object (apiVersion, kind, metadata), got ${obj === null ? 'null' : Array.isArray(obj) ? 'an array' : typeof obj}`);
  const o = obj as { apiVersion?: unknown; kind?: unknown; metadata?: unknown };
  if (typeof o.kind !== 'string' || !KIND.test(o.kind)) return invalid(o as KubeObject, 'kind', o.kind, "must be a kind name such as 'Pod' (letters and digits)");
  if (typeof o.apiVersion !== 'string' || o.apiVersion === '') return invalid(o as KubeObject, 'apiVersion', o.apiVersion, "must be set, e.g. 'v1' or 'apps/v1'");
  if (typeof o.metadata !== 'object' || o.metadata === null || Array.isArray(o.metadata)) return invalid(o as KubeObject, 'metadata', undefined, 'Required value: an object with at least a name');
  return undefined;
}

/** Validates the metadata of an object about to be stored (its name and namespace already final). */
export function validateMeta(obj: KubeObject, clusterScoped: boolean): ApiError | undefined {
  const m = obj.metadata as ObjectMeta & Record<string, unknown>;
  if (typeof m.name !== 'string' || m.name === '') return invalid(obj, 'metadata.name', undefined, 'Required value: name or generateName is required');
  const np = dns1123SubdomainProblem(m.name);
  if (np !== undefined) return invalid(obj, 'metadata.name', m.name, np);
  if (!clusterScoped) {
    if (typeof m.namespace !== 'string') return invalid(obj, 'metadata.namespace', m.namespace, 'must be a string');
    const p = dns1123LabelProblem(m.namespace);
    if (p !== undefined) return invalid(obj, 'metadata.namespace', m.namespace, p);
  }
  if (m.generateName !== undefined && typeof m.generateName !== 'string') return invalid(obj, 'metadata.generateName', m.generateName, 'must be a string');
  const labels = stringMap(obj, 'metadata.labels', m.labels);
  if (labels instanceof ApiError) return labels;
  for (const [k, v] of labels) {
    const kp = qualifiedNameProblem(k);
    if (kp !== undefined) return invalid(obj, `metadata.labels`, k, `invalid label key: ${kp}`);
    const vp = labelValueProblem(v);
    if (vp !== undefined) return invalid(obj, `metadata.labels[${JSON.stringify(k)}]`, v, vp);
  }
  const annotations = stringMap(obj, 'metadata.annotations', m.annotations);
  if (annotations instanceof ApiError) return annotations;
  let bytes = 0;
  for (const [k, v] of annotations) {
    const kp = qualifiedNameProblem(k);
    if (kp !== undefined) return invalid(obj, 'metadata.annotations', k, `invalid annotation key: ${kp}`);
    bytes += k.length + v.length;
  }
  if (bytes > MAX_ANNOTATIONS_BYTES) return invalid(obj, 'metadata.annotations', undefined, `Too long: must have at most ${MAX_ANNOTATIONS_BYTES} bytes`);
  if (m.finalizers !== undefined) {
    if (!Array.isArray(m.finalizers)) return invalid(obj, 'metadata.finalizers', m.finalizers, 'must be a list of strings');
    for (let i = 0; i < m.finalizers.length; i++) {
      const f: unknown = m.finalizers[i];
      if (typeof f !== 'string') return invalid(obj, `metadata.finalizers[${i}]`, f, 'must be a string');
      const p = qualifiedNameProblem(f);
      if (p !== undefined) return invalid(obj, `metadata.finalizers[${i}]`, f, p);
    }
  }
  if (m.ownerReferences !== undefined) {
    if (!Array.isArray(m.ownerReferences)) return invalid(obj, 'metadata.ownerReferences', undefined, 'must be a list');
    let controllers = 0;
    for (let i = 0; i < m.ownerReferences.length; i++) {
      const r: unknown = m.ownerReferences[i];
      const f = `metadata.ownerReferences[${i}]`;
      if (typeof r !== 'object' || r === null) return invalid(obj, f, r, 'must be an object');
      for (const key of ['apiVersion', 'kind', 'name', 'uid'] as const) {
        const v = (r as Record<string, unknown>)[key];
        if (typeof v !== 'string' || v === '') return invalid(obj, `${f}.${key}`, v, 'Required value: a non-empty string');
      }
      if ((r as { controller?: unknown }).controller === true) controllers++;
    }
    if (controllers > 1) return invalid(obj, 'metadata.ownerReferences', undefined, 'Only one reference can have Controller set to true');
  }
  return undefined;
}

function stringMap(obj: KubeObject, field: string, v: unknown): [string, string][] | ApiError {
  if (v === undefined) return [];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return invalid(obj, field, v, 'must be a map of strings to strings');
  const out = Object.entries(v as Record<string, unknown>);
  for (const [k, val] of out) {
    if (typeof val !== 'string') return invalid(obj, `${field}[${JSON.stringify(k)}]`, val, 'must be a string');
  }
  return out as [string, string][];
}

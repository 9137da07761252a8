/**
 * `validate(obj)`: what the API server would say about a manifest, as a list of field
 * errors in Kubernetes' words (`spec.template.spec.containers[0].image: Required value`).
 *
 * The order is the API server's: the manifest is first decoded strictly against the
 * kind's schema (schema.ts: types, enums, unknown fields); if that fails, those are the
 * errors. Otherwise it is defaulted (defaults.ts) and the defaulted object is validated
 * with the rules of pkg/apis/<group>/validation/validation.go that matter for these kinds
 * — so a Job without `restartPolicy` is told, as Kubernetes tells it, that the default
 * "Always" is not supported. An empty list means valid.
 *
 * `admit(obj)` does both and returns the defaulted object, or the errors with the
 * ApiError (reason Invalid, 422) the store answers with.
 */
import { ApiError, type KubeObject, type ObjectMeta } from '../api/types.js';
import type { Deployment, ReplicaSet } from './apps.js';
import type { HorizontalPodAutoscaler, HPAScalingRules, MetricTarget } from './autoscaling.js';
import type { Job } from './batch.js';
import type {
  ConfigMap,
  Container,
  Endpoints,
  LabelSelector,
  Node,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  PersistentVolumeClaim,
  Pod,
  PodSpec,
  PodTemplateSpec,
  Probe,
  Secret,
  Service,
  Toleration,
} from './core.js';
import { VOLUME_SOURCES } from './core.js';
import { withDefaults } from './defaults.js';
import { fieldErrors as E, path, type FieldError } from './field-errors.js';
import {
  isConfigMapKey,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isEnvVarName,
  isQualifiedName,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
  labelSelectorMatches,
} from './names.js';
import { isIntOrPercent, quantityMilliValue, type IntOrString, type ResourceList } from './quantity.js';
import { checkSchema, KIND_SCHEMAS } from './schema.js';

type Errors = FieldError[];

/** The served kinds: `apiVersion/kind` → whether namespaced, and the group for messages. */
const KINDS: ReadonlyMap<string, { namespaced: boolean; group: string }> = new Map([
  ['v1/Pod', { namespaced: true, group: '' }],
  ['v1/Service', { namespaced: true, group: '' }],
  ['v1/ConfigMap', { namespaced: true, group: '' }],
  ['v1/Secret', { namespaced: true, group: '' }],
  ['v1/Endpoints', { namespaced: true, group: '' }],
  ['v1/Node', { namespaced: false, group: '' }],
  ['v1/PersistentVolumeClaim', { namespaced: true, group: '' }],
  ['apps/v1/ReplicaSet', { namespaced: true, group: 'apps' }],
  ['apps/v1/Deployment', { namespaced: true, group: 'apps' }],
  ['batch/v1/Job', { namespaced: true, group: 'batch' }],
  ['autoscaling/v2/HorizontalPodAutoscaler', { namespaced: true, group: 'autoscaling' }],
]);

/** Whether skiff serves `apiVersion`/`kind`. */
export function isServedKind(apiVersion: string, kind: string): boolean {
  return KINDS.has(`${apiVersion}/${kind}`);
}

/** Whether objects of this kind live in a namespace (Node does not). */
export function isNamespaced(apiVersion: string, kind: string): boolean {
  return KINDS.get(`${apiVersion}/${kind}`)?.namespaced ?? true;
}

/** The errors in `obj` (empty when it is valid), after defaulting as the API server does. */
export function validate(obj: unknown): FieldError[] {
  return check(obj).errors;
}

export type AdmitResult =
  | { readonly ok: true; readonly object: KubeObject }
  | { readonly ok: false; readonly errors: readonly FieldError[]; readonly error: ApiError };

/**
 * Defaults and validates `obj` as the API server does on create: the defaulted object,
 * or the field errors and the ApiError to answer with (`Deployment.apps "web" is invalid:
 * spec.replicas: Invalid value: -1: must be greater than or equal to 0`).
 */
export function admit(obj: unknown): AdmitResult {
  const { errors, object } = check(obj);
  if (errors.length === 0 && object) return { ok: true, object };
  return { ok: false, errors, error: invalidError(obj, errors) };
}

/** The Invalid ApiError for `errors` on `obj`, worded as the API server words it. */
export function invalidError(obj: unknown, errors: readonly FieldError[]): ApiError {
  const o = (isRecord(obj) ? obj : {}) as Partial<KubeObject>;
  const info = KINDS.get(`${String(o.apiVersion)}/${String(o.kind)}`);
  const kind = `${String(o.kind ?? 'Object')}${info?.group ? `.${info.group}` : ''}`;
  const name = o.metadata?.name ?? o.metadata?.generateName ?? '';
  const list = errors.length === 1 ? (errors[0]?.message ?? '') : `[${errors.map((e) => e.message).join(', ')}]`;
  return new ApiError('Invalid', `${kind} ${JSON.stringify(name)} is invalid: ${list}`, errors[0]?.field);
}

function check(obj: unknown): { errors: Errors; object?: KubeObject } {
  const errs: Errors = [];
  if (!isRecord(obj)) return { errors: [E.invalid('', typeof obj, 'an object must be a JSON/YAML map')] };
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== 'string' || apiVersion === '') errs.push(E.required('apiVersion'));
  if (typeof kind !== 'string' || kind === '') errs.push(E.required('kind'));
  if (errs.length) return { errors: errs };
  const schema = KIND_SCHEMAS.get(`${String(apiVersion)}/${String(kind)}`);
  if (!schema) return { errors: [E.invalid('kind', kind, `no matches for kind ${JSON.stringify(kind)} in version ${JSON.stringify(apiVersion)}`)] };
  if (!isRecord(obj.metadata)) return { errors: [E.required('metadata')] };
  checkSchema(obj, schema, '', errs);
  if (errs.length) return { errors: errs };
  const object = withDefaults((apiVersion === 'v1' && kind === 'Secret' ? mergeStringData(obj) : obj) as unknown as KubeObject);
  validateKind(object, errs);
  return { errors: errs, object };
}

function validateKind(o: KubeObject, errs: Errors): void {
  const key = `${o.apiVersion}/${o.kind}`;
  const namespaced = KINDS.get(key)?.namespaced ?? true;
  const nameRule = o.kind === 'Service' ? isDNS1035Label : isDNS1123Subdomain;
  validateObjectMeta(o.metadata, namespaced, nameRule, 'metadata', errs);
  switch (key) {
    case 'v1/Pod':
      validatePodSpec((o as Pod).spec, 'spec', errs);
      break;
    case 'v1/Service':
      validateService(o as Service, errs);
      break;
    case 'v1/ConfigMap':
      validateConfigMap(o as ConfigMap, errs);
      break;
    case 'v1/Secret':
      validateSecret(o as Secret, errs);
      break;
    case 'v1/Endpoints':
      validateEndpoints(o as Endpoints, errs);
      break;
    case 'v1/Node':
      validateNode(o as Node, errs);
      break;
    case 'v1/PersistentVolumeClaim':
      validatePersistentVolumeClaim(o as PersistentVolumeClaim, errs);
      break;
    case 'apps/v1/ReplicaSet':
      validateReplicaSet(o as ReplicaSet, errs);
      break;
    case 'apps/v1/Deployment':
      validateDeployment(o as Deployment, errs);
      break;
    case 'batch/v1/Job':
      validateJob(o as Job, errs);
      break;
    case 'autoscaling/v2/HorizontalPodAutoscaler':
      validateHorizontalPodAutoscaler(o as HorizontalPodAutoscaler, errs);
      break;
  }
}

// ---------------------------------------------------------------- helpers

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function each(msgs: string[], field: string, value: unknown, errs: Errors): void {
  for (const m of msgs) errs.push(E.invalid(field, value, m));
}

function nonNegative(v: number | undefined, field: string, errs: Errors): void {
  if (v !== undefined && v < 0) errs.push(E.invalid(field, v, 'must be greater than or equal to 0'));
}

function validateLabels(labels: Readonly<Record<string, string>> | undefined, field: string, errs: Errors): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    each(isQualifiedName(k), field, k, errs);
    each(isValidLabelValue(v), field, v, errs);
  }
}

function validateObjectMeta(meta: ObjectMeta, namespaced: boolean, nameRule: (n: string) => string[], field: string, errs: Errors): void {
  if (!meta.name && !meta.generateName) errs.push(E.required(path.child(field, 'name'), 'name or generateName is required'));
  if (meta.name) each(nameRule(meta.name), path.child(field, 'name'), meta.name, errs);
  if (meta.generateName) each(nameRule(meta.generateName.replace(/-$/, '') || 'a'), path.child(field, 'generateName'), meta.generateName, errs);
  if (namespaced) {
    if (meta.namespace) each(isDNS1123Label(meta.namespace), path.child(field, 'namespace'), meta.namespace, errs);
  } else if (meta.namespace) errs.push(E.forbidden(path.child(field, 'namespace'), 'not allowed on this type'));
  validateLabels(meta.labels, path.child(field, 'labels'), errs);
  for (const k of Object.keys(meta.annotations ?? {})) each(isQualifiedName(k.toLowerCase()), path.child(field, 'annotations'), k, errs);
  nonNegative(meta.generation, path.child(field, 'generation'), errs);
}

function validateLabelSelector(sel: LabelSelector, field: string, errs: Errors): void {
  validateLabels(sel.matchLabels, path.child(field, 'matchLabels'), errs);
  (sel.matchExpressions ?? []).forEach((r, i) => {
    const f = path.index(path.child(field, 'matchExpressions'), i);
    each(isQualifiedName(r.key ?? ''), path.child(f, 'key'), r.key, errs);
    const n = r.values?.length ?? 0;
    if ((r.operator === 'In' || r.operator === 'NotIn') && n === 0) errs.push(E.required(path.child(f, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
    if ((r.operator === 'Exists' || r.operator === 'DoesNotExist') && n > 0)
      errs.push(E.forbidden(path.child(f, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    if (!r.operator) errs.push(E.required(path.child(f, 'operator')));
  });
}

function isEmptySelector(sel: LabelSelector): boolean {
  return Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0;
}

const STANDARD_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage', 'storage', 'pods']);

function validateResourceList(list: ResourceList | undefined, field: string, errs: Errors): void {
  for (const [name, q] of Object.entries(list ?? {})) {
    const f = path.key(field, name);
    if (!STANDARD_RESOURCES.has(name) && !name.startsWith('hugepages-') && !name.includes('/'))
      errs.push(E.invalid(f, name, 'must be a standard resource type or fully qualified'));
    const milli = quantityMilliValue(q);
    if (milli !== undefined && milli < 0) errs.push(E.invalid(f, String(q), 'must be greater than or equal to 0'));
  }
}

// ---------------------------------------------------------------- pods

function validatePodSpec(spec: PodSpec, field: string, errs: Errors): void {
  const volumes = new Set<string>();
  (spec.volumes ?? []).forEach((v, i) => {
    const f = path.index(path.child(field, 'volumes'), i);
    if (!v.name) errs.push(E.required(path.child(f, 'name')));
    else {
      each(isDNS1123Label(v.name), path.child(f, 'name'), v.name, errs);
      if (volumes.has(v.name)) errs.push(E.duplicate(path.child(f, 'name'), v.name));
      volumes.add(v.name);
    }
    const sources = VOLUME_SOURCES.filter((s) => v[s] !== undefined && v[s] !== null);
    if (sources.length === 0) errs.push(E.required(f, 'must specify a volume type'));
    else if (sources.length > 1) errs.push(E.forbidden(path.child(f, sources[1] ?? ''), 'may not specify more than 1 volume type'));
    if (v.persistentVolumeClaim && !v.persistentVolumeClaim.claimName) errs.push(E.required(path.child(path.child(f, 'persistentVolumeClaim'), 'claimName')));
    if (v.configMap && !v.configMap.name) errs.push(E.required(path.child(path.child(f, 'configMap'), 'name')));
    if (v.secret && !v.secret.secretName) errs.push(E.required(path.child(path.child(f, 'secret'), 'secretName')));
    if (v.hostPath && !v.hostPath.path) errs.push(E.required(path.child(path.child(f, 'hostPath'), 'path')));
    for (const items of [v.configMap?.items, v.secret?.items]) {
      (items ?? []).forEach((it, j) => {
        const itf = path.index(path.child(path.child(f, v.configMap ? 'configMap' : 'secret'), 'items'), j);
        if (!it.key) errs.push(E.required(path.child(itf, 'key')));
        if (!it.path) errs.push(E.required(path.child(itf, 'path')));
        else if (it.path.startsWith('/')) errs.push(E.invalid(path.child(itf, 'path'), it.path, 'must be a relative path'));
        else if (it.path.split('/').includes('..')) errs.push(E.invalid(path.child(itf, 'path'), it.path, "must not contain '..'"));
      });
    }
  });

  const names = new Set<string>();
  if (!spec.containers || spec.containers.length === 0) errs.push(E.required(path.child(field, 'containers')));
  (spec.initContainers ?? []).forEach((c, i) => validateContainer(c, path.index(path.child(field, 'initContainers'), i), volumes, names, true, errs));
  (spec.containers ?? []).forEach((c, i) => validateContainer(c, path.index(path.child(field, 'containers'), i), volumes, names, false, errs));

  if (spec.terminationGracePeriodSeconds !== undefined) nonNegative(spec.terminationGracePeriodSeconds, path.child(field, 'terminationGracePeriodSeconds'), errs);
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds < 1)
    errs.push(E.invalid(path.child(field, 'activeDeadlineSeconds'), spec.activeDeadlineSeconds, 'must be between 1 and 2147483647, inclusive'));
  validateLabels(spec.nodeSelector, path.child(field, 'nodeSelector'), errs);
  (spec.tolerations ?? []).forEach((t, i) => validateToleration(t, path.index(path.child(field, 'tolerations'), i), errs));
  const na = spec.affinity?.nodeAffinity;
  if (na) {
    const af = path.child(path.child(field, 'affinity'), 'nodeAffinity');
    const req = na.requiredDuringSchedulingIgnoredDuringExecution;
    if (req) {
      const rf = path.child(af, 'requiredDuringSchedulingIgnoredDuringExecution');
      if (!req.nodeSelectorTerms || req.nodeSelectorTerms.length === 0) errs.push(E.required(path.child(rf, 'nodeSelectorTerms'), 'must have at least one node selector term'));
      (req.nodeSelectorTerms ?? []).forEach((t, i) => validateNodeSelectorTerm(t, path.index(path.child(rf, 'nodeSelectorTerms'), i), errs));
    }
    (na.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((p, i) => {
      const pf = path.index(path.child(af, 'preferredDuringSchedulingIgnoredDuringExecution'), i);
      if (!(p.weight >= 1 && p.weight <= 100)) errs.push(E.invalid(path.child(pf, 'weight'), p.weight, 'must be in the range 1-100'));
      if (p.preference) validateNodeSelectorTerm(p.preference, path.child(pf, 'preference'), errs);
      else errs.push(E.required(path.child(pf, 'preference')));
    });
  }
  if (spec.hostname) each(isDNS1123Label(spec.hostname), path.child(field, 'hostname'), spec.hostname, errs);
  if (spec.subdomain) each(isDNS1123Label(spec.subdomain), path.child(field, 'subdomain'), spec.subdomain, errs);
  if (spec.serviceAccountName) each(isDNS1123Subdomain(spec.serviceAccountName), path.child(field, 'serviceAccountName'), spec.serviceAccountName, errs);
  validateResourceList(spec.overhead, path.child(field, 'overhead'), errs);
}

function validateContainer(c: Container, field: string, volumes: ReadonlySet<string>, names: Set<string>, init: boolean, errs: Errors): void {
  if (!c.name) errs.push(E.required(path.child(field, 'name')));
  else {
    each(isDNS1123Label(c.name), path.child(field, 'name'), c.name, errs);
    if (names.has(c.name)) errs.push(E.duplicate(path.child(field, 'name'), c.name));
    names.add(c.name);
  }
  if (!c.image || c.image.trim() === '') errs.push(E.required(path.child(field, 'image')));
  if (c.restartPolicy !== undefined && !init) errs.push(E.forbidden(path.child(field, 'restartPolicy'), 'may not be set for non-init containers'));

  const portNames = new Set<string>();
  (c.ports ?? []).forEach((p, i) => {
    const f = path.index(path.child(field, 'ports'), i);
    if (p.name) {
      each(isValidPortName(p.name), path.child(f, 'name'), p.name, errs);
      if (portNames.has(p.name)) errs.push(E.duplicate(path.child(f, 'name'), p.name));
      portNames.add(p.name);
    }
    if (!p.containerPort) errs.push(E.required(path.child(f, 'containerPort')));
    else each(isValidPortNum(p.containerPort), path.child(f, 'containerPort'), p.containerPort, errs);
    if (p.hostPort) each(isValidPortNum(p.hostPort), path.child(f, 'hostPort'), p.hostPort, errs);
  });

  (c.env ?? []).forEach((e, i) => {
    const f = path.index(path.child(field, 'env'), i);
    if (!e.name) errs.push(E.required(path.child(f, 'name')));
    else each(isEnvVarName(e.name), path.child(f, 'name'), e.name, errs);
    if (e.valueFrom) {
      const n = [e.valueFrom.fieldRef, e.valueFrom.resourceFieldRef, e.valueFrom.configMapKeyRef, e.valueFrom.secretKeyRef].filter((x) => x).length;
      if (e.value) errs.push(E.invalid(path.child(f, 'valueFrom'), '', 'may not be specified when `value` is not empty'));
      if (n === 0) errs.push(E.invalid(path.child(f, 'valueFrom'), '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
      else if (n > 1) errs.push(E.invalid(path.child(f, 'valueFrom'), '', 'may not have more than one field specified at a time'));
      for (const [k, ref] of [['configMapKeyRef', e.valueFrom.configMapKeyRef], ['secretKeyRef', e.valueFrom.secretKeyRef]] as const)
        if (ref && !ref.key) errs.push(E.required(path.child(path.child(path.child(f, 'valueFrom'), k), 'key')));
    }
  });

  const mountPaths = new Set<string>();
  (c.volumeMounts ?? []).forEach((m, i) => {
    const f = path.index(path.child(field, 'volumeMounts'), i);
    if (!m.name) errs.push(E.required(path.child(f, 'name')));
    else if (!volumes.has(m.name)) errs.push(E.notFound(path.child(f, 'name'), m.name));
    if (!m.mountPath) errs.push(E.required(path.child(f, 'mountPath')));
    else if (mountPaths.has(m.mountPath)) errs.push(E.invalid(path.child(f, 'mountPath'), m.mountPath, 'must be unique'));
    else mountPaths.add(m.mountPath);
    if (m.subPath && (m.subPath.startsWith('/') || m.subPath.split('/').includes('..')))
      errs.push(E.invalid(path.child(f, 'subPath'), m.subPath, m.subPath.startsWith('/') ? 'must be a relative path' : "must not contain '..'"));
  });

  const r = c.resources;
  if (r) {
    const rf = path.child(field, 'resources');
    validateResourceList(r.limits, path.child(rf, 'limits'), errs);
    validateResourceList(r.requests, path.child(rf, 'requests'), errs);
    for (const [name, q] of Object.entries(r.requests ?? {})) {
      const limit = r.limits?.[name];
      if (limit === undefined) continue;
      const rq = quantityMilliValue(q);
      const lm = quantityMilliValue(limit);
      if (rq !== undefined && lm !== undefined && rq > lm) errs.push(E.invalid(path.key(path.child(rf, 'requests'), name), String(q), `must be less than or equal to ${name} limit of ${String(limit)}`));
    }
  }

  validateProbe(c.livenessProbe, path.child(field, 'livenessProbe'), 'liveness', errs);
  validateProbe(c.readinessProbe, path.child(field, 'readinessProbe'), 'readiness', errs);
  validateProbe(c.startupProbe, path.child(field, 'startupProbe'), 'startup', errs);
  if (init && c.restartPolicy !== 'Always') {
    for (const p of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const)
      if (c[p]) errs.push(E.forbidden(path.child(field, p), 'may not be set for init containers without restartPolicy=Always'));
  }
}

function validateProbe(p: Probe | undefined, field: string, kind: 'liveness' | 'readiness' | 'startup', errs: Errors): void {
  if (!p) return;
  const handlers = (['exec', 'httpGet', 'tcpSocket', 'grpc'] as const).filter((h) => p[h] !== undefined && p[h] !== null);
  if (handlers.length === 0) errs.push(E.required(field, 'must specify a handler type'));
  else if (handlers.length > 1) errs.push(E.forbidden(path.child(field, handlers[1] ?? ''), 'may not specify more than 1 handler type'));
  if (p.exec && (!p.exec.command || p.exec.command.length === 0)) errs.push(E.required(path.child(path.child(field, 'exec'), 'command')));
  if (p.httpGet) validatePortNumOrName(p.httpGet.port, path.child(path.child(field, 'httpGet'), 'port'), errs);
  if (p.tcpSocket) validatePortNumOrName(p.tcpSocket.port, path.child(path.child(field, 'tcpSocket'), 'port'), errs);
  if (p.grpc) each(isValidPortNum(p.grpc.port), path.child(path.child(field, 'grpc'), 'port'), p.grpc.port, errs);
  for (const k of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'] as const) nonNegative(p[k], path.child(field, k), errs);
  if (p.terminationGracePeriodSeconds !== undefined && p.terminationGracePeriodSeconds < 1)
    errs.push(E.invalid(path.child(field, 'terminationGracePeriodSeconds'), p.terminationGracePeriodSeconds, 'must be greater than 0'));
  if (kind !== 'readiness' && p.successThreshold !== undefined && p.successThreshold !== 1) errs.push(E.invalid(path.child(field, 'successThreshold'), p.successThreshold, 'must be 1'));
  if (kind === 'readiness' && p.terminationGracePeriodSeconds !== undefined)
    errs.push(E.invalid(path.child(field, 'terminationGracePeriodSeconds'), p.terminationGracePeriodSeconds, 'must not be set for readinessProbes'));
}

function validatePortNumOrName(port: IntOrString | undefined, field: string, errs: Errors): void {
  if (port === undefined || port === '' || port === 0) errs.push(E.required(field));
  else if (typeof port === 'number') each(isValidPortNum(port), field, port, errs);
  else each(isValidPortName(port), field, port, errs);
}

function validateToleration(t: Toleration, field: string, errs: Errors): void {
  if (t.key) each(isQualifiedName(t.key), path.child(field, 'key'), t.key, errs);
  if (!t.key && t.operator !== 'Exists')
    errs.push(E.invalid(path.child(field, 'operator'), t.operator ?? '', 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
  if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute')
    errs.push(E.invalid(path.child(field, 'effect'), t.effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set"));
  if (t.operator === 'Exists' && t.value) errs.push(E.invalid(path.child(field, 'operator'), t.value, "value must be empty when `operator` is 'Exists'"));
  if (t.operator !== 'Exists' && t.value) each(isValidLabelValue(t.value), path.child(field, 'value'), t.value, errs);
}

function validateNodeSelectorTerm(term: NodeSelectorTerm, field: string, errs: Errors): void {
  (term.matchExpressions ?? []).forEach((r, i) => validateNodeSelectorRequirement(r, path.index(path.child(field, 'matchExpressions'), i), false, errs));
  (term.matchFields ?? []).forEach((r, i) => validateNodeSelectorRequirement(r, path.index(path.child(field, 'matchFields'), i), true, errs));
}

function validateNodeSelectorRequirement(r: NodeSelectorRequirement, field: string, isField: boolean, errs: Errors): void {
  const n = r.values?.length ?? 0;
  if (isField) {
    if (r.key !== 'metadata.name') errs.push(E.invalid(path.child(field, 'key'), r.key, 'not a valid field selector key'));
    if (r.operator !== 'In' && r.operator !== 'NotIn') errs.push(E.invalid(path.child(field, 'operator'), r.operator, 'not a valid selector operator'));
    else if (n !== 1) errs.push(E.required(path.child(field, 'values'), 'must be only one value when `operator` is \'In\' or \'NotIn\' for node field selector'));
    return;
  }
  each(isQualifiedName(r.key ?? ''), path.child(field, 'key'), r.key, errs);
  switch (r.operator) {
    case 'In':
    case 'NotIn':
      if (n === 0) errs.push(E.required(path.child(field, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (n > 0) errs.push(E.forbidden(path.child(field, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      break;
    case 'Gt':
    case 'Lt':
      if (n !== 1 || !/^-?\d+$/.test(r.values?.[0] ?? '')) errs.push(E.required(path.child(field, 'values'), "must be specified single value when `operator` is 'Lt' or 'Gt'"));
      break;
    default:
      errs.push(E.required(path.child(field, 'operator')));
  }
}

/** A template for a controller: labels valid and matching `selector`, pod spec valid, restartPolicy allowed. */
function validatePodTemplate(t: PodTemplateSpec | undefined, selector: LabelSelector | undefined, field: string, restartPolicies: readonly string[], errs: Errors): void {
  if (!t) {
    errs.push(E.required(field));
    return;
  }
  const labels = t.metadata?.labels;
  validateLabels(labels, path.child(path.child(field, 'metadata'), 'labels'), errs);
  if (selector && !isEmptySelector(selector) && !labelSelectorMatches(selector, labels))
    errs.push(E.invalid(path.child(path.child(field, 'metadata'), 'labels'), labels ?? {}, '`selector` does not match template `labels`'));
  if (!t.spec) {
    errs.push(E.required(path.child(field, 'spec')));
    return;
  }
  validatePodSpec(t.spec, path.child(field, 'spec'), errs);
  const rp = t.spec.restartPolicy ?? 'Always';
  if (!restartPolicies.includes(rp)) errs.push(E.notSupported(path.child(path.child(field, 'spec'), 'restartPolicy'), rp, restartPolicies));
  if (t.spec.activeDeadlineSeconds !== undefined && restartPolicies.includes('Always'))
    errs.push(E.forbidden(path.child(path.child(field, 'spec'), 'activeDeadlineSeconds'), 'activeDeadlineSeconds in ReplicaSet is not Supported'));
}

function validateReplicaCount(v: number | undefined, field: string, errs: Errors): void {
  nonNegative(v, field, errs);
}

function validateControllerSelector(sel: LabelSelector | undefined, field: string, kind: string, errs: Errors): void {
  if (!sel) {
    errs.push(E.required(field));
    return;
  }
  validateLabelSelector(sel, field, errs);
  if (isEmptySelector(sel)) errs.push(E.invalid(field, sel, `empty selector is invalid for ${kind}`));
}

// ---------------------------------------------------------------- apps

function validateReplicaSet(rs: ReplicaSet, errs: Errors): void {
  const s = rs.spec;
  if (!s) return void errs.push(E.required('spec'));
  validateReplicaCount(s.replicas, 'spec.replicas', errs);
  nonNegative(s.minReadySeconds, 'spec.minReadySeconds', errs);
  validateControllerSelector(s.selector, 'spec.selector', 'deployment', errs);
  validatePodTemplate(s.template, s.selector, 'spec.template', ['Always'], errs);
}

function validateDeployment(d: Deployment, errs: Errors): void {
  const s = d.spec;
  if (!s) return void errs.push(E.required('spec'));
  validateReplicaCount(s.replicas, 'spec.replicas', errs);
  validateControllerSelector(s.selector, 'spec.selector', 'deployment', errs);
  validatePodTemplate(s.template, s.selector, 'spec.template', ['Always'], errs);
  const st = s.strategy;
  if (st?.type === 'Recreate' && st.rollingUpdate) errs.push(E.forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
  if (st?.type === 'RollingUpdate' && st.rollingUpdate) {
    const { maxUnavailable, maxSurge } = st.rollingUpdate;
    validateIntOrPercent(maxUnavailable, 'spec.strategy.rollingUpdate.maxUnavailable', errs);
    validateIntOrPercent(maxSurge, 'spec.strategy.rollingUpdate.maxSurge', errs);
    if (typeof maxUnavailable === 'string' && percent(maxUnavailable) > 100)
      errs.push(E.invalid('spec.strategy.rollingUpdate.maxUnavailable', maxUnavailable, 'must not be greater than 100%'));
    if (isZero(maxUnavailable) && isZero(maxSurge)) errs.push(E.invalid('spec.strategy.rollingUpdate.maxUnavailable', maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
  }
  nonNegative(s.minReadySeconds, 'spec.minReadySeconds', errs);
  nonNegative(s.revisionHistoryLimit, 'spec.revisionHistoryLimit', errs);
  if (s.progressDeadlineSeconds !== undefined) {
    nonNegative(s.progressDeadlineSeconds, 'spec.progressDeadlineSeconds', errs);
    if (s.progressDeadlineSeconds <= (s.minReadySeconds ?? 0)) errs.push(E.invalid('spec.progressDeadlineSeconds', s.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
  }
}

function percent(v: string): number {
  return Number(v.slice(0, -1));
}

function isZero(v: IntOrString | undefined): boolean {
  return v === 0 || v === '0%';
}

function validateIntOrPercent(v: IntOrString | undefined, field: string, errs: Errors): void {
  if (v === undefined) return;
  if (!isIntOrPercent(v))
    errs.push(E.invalid(field, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"));
  else if (typeof v === 'number') nonNegative(v, field, errs);
}

// ---------------------------------------------------------------- batch

function validateJob(job: Job, errs: Errors): void {
  const s = job.spec;
  if (!s) return void errs.push(E.required('spec'));
  nonNegative(s.parallelism, 'spec.parallelism', errs);
  nonNegative(s.completions, 'spec.completions', errs);
  nonNegative(s.backoffLimit, 'spec.backoffLimit', errs);
  nonNegative(s.ttlSecondsAfterFinished, 'spec.ttlSecondsAfterFinished', errs);
  if (s.activeDeadlineSeconds !== undefined && s.activeDeadlineSeconds <= 0) errs.push(E.invalid('spec.activeDeadlineSeconds', s.activeDeadlineSeconds, 'must be greater than 0'));
  if (s.completionMode === 'Indexed' && s.completions === undefined) errs.push(E.required('spec.completions', 'when completion mode is Indexed'));
  // The API server generates the selector (and the template's controller-uid labels)
  // unless manualSelector is true; a hand-written selector without it is refused.
  if (s.manualSelector) validateControllerSelector(s.selector, 'spec.selector', 'job', errs);
  else if (s.selector) errs.push(E.invalid('spec.selector', s.selector, '`selector` not auto-generated'));
  validatePodTemplate(s.template, s.manualSelector ? s.selector : undefined, 'spec.template', ['OnFailure', 'Never'], errs);
}

// ---------------------------------------------------------------- core: services, config maps, nodes, claims

const NODE_PORT_MIN = 30000;
const NODE_PORT_MAX = 32767;

function validateService(svc: Service, errs: Errors): void {
  const s = svc.spec ?? {};
  const type = s.type ?? 'ClusterIP';
  const ports = s.ports ?? [];
  if (type === 'ExternalName') {
    if (!s.externalName) errs.push(E.required('spec.externalName'));
    else each(isDNS1123Subdomain(s.externalName.replace(/\.$/, '')), 'spec.externalName', s.externalName, errs);
  } else if (ports.length === 0 && s.clusterIP !== 'None') errs.push(E.required('spec.ports'));
  const names = new Set<string>();
  const seen = new Set<string>();
  ports.forEach((p, i) => {
    const f = path.index('spec.ports', i);
    if (ports.length > 1 && !p.name) errs.push(E.required(path.child(f, 'name')));
    if (p.name) {
      each(isDNS1123Label(p.name), path.child(f, 'name'), p.name, errs);
      if (names.has(p.name)) errs.push(E.duplicate(path.child(f, 'name'), p.name));
      names.add(p.name);
    }
    each(isValidPortNum(p.port ?? 0), path.child(f, 'port'), p.port ?? 0, errs);
    if (typeof p.targetPort === 'number') each(isValidPortNum(p.targetPort), path.child(f, 'targetPort'), p.targetPort, errs);
    else if (p.targetPort !== undefined) each(isValidPortName(p.targetPort), path.child(f, 'targetPort'), p.targetPort, errs);
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (type === 'ClusterIP' || type === 'ExternalName') errs.push(E.forbidden(path.child(f, 'nodePort'), `may not be used when \`type\` is '${type}'`));
      else if (p.nodePort < NODE_PORT_MIN || p.nodePort > NODE_PORT_MAX)
        errs.push(E.invalid(path.child(f, 'nodePort'), p.nodePort, `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_MIN}-${NODE_PORT_MAX}`));
    }
    const key = `${p.port}/${p.protocol ?? 'TCP'}`;
    if (seen.has(key)) errs.push(E.duplicate(f, { port: p.port, protocol: p.protocol ?? 'TCP' }));
    seen.add(key);
  });
  validateLabels(s.selector, 'spec.selector', errs);
  if (s.clusterIP === 'None' && (type === 'NodePort' || type === 'LoadBalancer')) errs.push(E.invalid('spec.clusterIPs[0]', 'None', `may not be set to 'None' for ${type} services`));
}

/** core ValidateEndpoints: each address an IP, each port a valid number, named when a subset has several. */
function validateEndpoints(ep: Endpoints, errs: Errors): void {
  (ep.subsets ?? []).forEach((subset, i) => {
    const f = path.index('subsets', i);
    for (const which of ['addresses', 'notReadyAddresses'] as const) {
      (subset[which] ?? []).forEach((a, j) => {
        const ip = path.child(path.index(path.child(f, which), j), 'ip');
        if (!a.ip) errs.push(E.required(ip));
        else if (!/^(\d{1,3})(\.\d{1,3}){3}$/.test(a.ip) && !a.ip.includes(':')) errs.push(E.invalid(ip, a.ip, 'must be a valid IP address'));
      });
    }
    const ports = subset.ports ?? [];
    ports.forEach((p, j) => {
      const pf = path.index(path.child(f, 'ports'), j);
      if (ports.length > 1 && !p.name) errs.push(E.required(path.child(pf, 'name')));
      if (p.name) each(isDNS1123Label(p.name), path.child(pf, 'name'), p.name, errs);
      each(isValidPortNum(p.port ?? 0), path.child(pf, 'port'), p.port ?? 0, errs);
    });
  });
}

const MAX_CONFIG_MAP_BYTES = 1024 * 1024;

function validateConfigMap(cm: ConfigMap, errs: Errors): void {
  let size = 0;
  for (const [k, v] of Object.entries(cm.data ?? {})) {
    each(isConfigMapKey(k), path.key('data', k), k, errs);
    size += k.length + v.length;
  }
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) {
    each(isConfigMapKey(k), path.key('binaryData', k), k, errs);
    if (cm.data && Object.hasOwn(cm.data, k)) errs.push(E.invalid(path.key('data', k), k, 'duplicate of key present in binaryData'));
    size += k.length + Math.floor((v.length * 3) / 4);
  }
  if (size > MAX_CONFIG_MAP_BYTES) errs.push(E.tooLong('data', `must have at most ${MAX_CONFIG_MAP_BYTES} bytes`));
}

/**
 * A Secret's `stringData` merged into `data`, base64-encoded, its keys winning; no
 * `stringData` left (it is write-only). As the API server decodes a v1 Secret
 * (pkg/apis/core/v1/conversion.go, Convert_v1_Secret_To_core_Secret). Pure.
 */
function mergeStringData(obj: Record<string, unknown>): Record<string, unknown> {
  const stringData = obj.stringData as Readonly<Record<string, string>> | undefined;
  if (stringData === undefined) return obj;
  const { stringData: _dropped, ...rest } = obj;
  const data: Record<string, string> = { ...((obj.data as Record<string, string> | undefined) ?? {}) };
  for (const [k, v] of Object.entries(stringData)) data[k] = base64(new TextEncoder().encode(v));
  return { ...rest, data };
}

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

const MAX_SECRET_BYTES = 1024 * 1024;

/** core ValidateSecret: keys as a ConfigMap's, values base64 (decoding errors name the key), at most 1 MiB of data. */
function validateSecret(s: Secret, errs: Errors): void {
  let size = 0;
  for (const [k, v] of Object.entries(s.data ?? {})) {
    each(isConfigMapKey(k), path.key('data', k), k, errs);
    let decoded: string;
    try {
      decoded = atob(v);
    } catch {
      errs.push(E.invalid(path.key('data', k), '<value omitted>', 'must be base64-encoded (illegal base64 data)'));
      continue;
    }
    size += decoded.length;
  }
  if (size > MAX_SECRET_BYTES) errs.push(E.tooLong('data', `must have at most ${MAX_SECRET_BYTES} bytes`));
}

function validateNode(node: Node, errs: Errors): void {
  const seen = new Set<string>();
  (node.spec?.taints ?? []).forEach((t, i) => {
    const f = path.index('spec.taints', i);
    if (!t.key) errs.push(E.required(path.child(f, 'key')));
    else each(isQualifiedName(t.key), path.child(f, 'key'), t.key, errs);
    if (t.value) each(isValidLabelValue(t.value), path.child(f, 'value'), t.value, errs);
    if (!t.effect) errs.push(E.required(path.child(f, 'effect')));
    const key = `${t.key}:${t.effect}`;
    if (seen.has(key)) errs.push(E.duplicate(f, key));
    seen.add(key);
  });
  validateResourceList(node.status?.capacity, 'status.capacity', errs);
  validateResourceList(node.status?.allocatable, 'status.allocatable', errs);
}

function validatePersistentVolumeClaim(pvc: PersistentVolumeClaim, errs: Errors): void {
  const s = pvc.spec;
  if (!s) return void errs.push(E.required('spec'));
  const modes = s.accessModes ?? [];
  if (modes.length === 0) errs.push(E.required('spec.accessModes', 'at least 1 access mode is required'));
  if (modes.includes('ReadWriteOncePod') && modes.length > 1) errs.push(E.forbidden('spec.accessModes', 'may not use ReadWriteOncePod with other access modes'));
  const storage = s.resources?.requests?.storage;
  if (storage === undefined) errs.push(E.required('spec.resources[storage]'));
  else {
    const v = quantityMilliValue(storage);
    if (v !== undefined && v <= 0) errs.push(E.invalid('spec.resources[storage]', String(storage), 'must be greater than zero'));
  }
  if (s.selector) validateLabelSelector(s.selector, 'spec.selector', errs);
}

// ---------------------------------------------------------------- autoscaling

function validateHorizontalPodAutoscaler(hpa: HorizontalPodAutoscaler, errs: Errors): void {
  const s = hpa.spec;
  if (!s) return void errs.push(E.required('spec'));
  const ref = s.scaleTargetRef;
  if (!ref) errs.push(E.required('spec.scaleTargetRef'));
  else {
    if (!ref.kind) errs.push(E.required('spec.scaleTargetRef.kind'));
    if (!ref.name) errs.push(E.required('spec.scaleTargetRef.name'));
    else each(isDNS1123Subdomain(ref.name), 'spec.scaleTargetRef.name', ref.name, errs);
  }
  const min = s.minReplicas ?? 1;
  if (min < 1) errs.push(E.invalid('spec.minReplicas', min, 'must be greater than or equal to 1'));
  if (!(s.maxReplicas >= 1)) errs.push(E.invalid('spec.maxReplicas', s.maxReplicas ?? 0, 'must be greater than 0'));
  else if (s.maxReplicas < min) errs.push(E.invalid('spec.maxReplicas', s.maxReplicas, 'must be greater than or equal to `minReplicas`'));
  (s.metrics ?? []).forEach((m, i) => {
    const f = path.index('spec.metrics', i);
    const members = { Object: m.object, Pods: m.pods, Resource: m.resource, ContainerResource: m.containerResource, External: m.external } as const;
    const set = Object.entries(members).filter(([, v]) => v !== undefined && v !== null);
    if (!m.type) errs.push(E.required(path.child(f, 'type'), 'must specify a metric source type'));
    else if (members[m.type] === undefined) {
      const member = m.type[0]?.toLowerCase() + m.type.slice(1);
      errs.push(E.required(path.child(f, member), 'must populate information for the given metric source'));
    }
    if (set.length > 1) errs.push(E.forbidden(f, 'must populate the given metric source only'));
    const target = (m.resource ?? m.containerResource ?? m.pods ?? m.object ?? m.external)?.target;
    const member = m.type ? m.type[0]?.toLowerCase() + m.type.slice(1) : 'resource';
    if (target) validateMetricTarget(target, path.child(path.child(f, member), 'target'), m.type === 'Resource' || m.type === 'ContainerResource', errs);
    if (m.resource && !m.resource.name) errs.push(E.required(path.child(path.child(f, 'resource'), 'name'), 'must specify a resource name'));
  });
  const b = s.behavior;
  if (b) {
    validateScalingRules(b.scaleUp, 'spec.behavior.scaleUp', errs);
    validateScalingRules(b.scaleDown, 'spec.behavior.scaleDown', errs);
  }
}

function validateMetricTarget(t: MetricTarget, field: string, resource: boolean, errs: Errors): void {
  if (!t.type) return void errs.push(E.required(path.child(field, 'type'), 'must specify a metric target type'));
  if (t.type === 'Utilization') {
    if (!resource) errs.push(E.notSupported(path.child(field, 'type'), t.type, ['Value', 'AverageValue']));
    if (t.averageUtilization === undefined) errs.push(E.required(path.child(field, 'averageUtilization'), 'must set either a target raw value or a target utilization'));
    else if (t.averageUtilization <= 0) errs.push(E.invalid(path.child(field, 'averageUtilization'), t.averageUtilization, 'must be greater than 0'));
  }
  if (t.type === 'Value' && t.value === undefined) errs.push(E.required(path.child(field, 'value'), 'must set either a target value for metric or a per-pod target'));
  if (t.type === 'AverageValue' && t.averageValue === undefined) errs.push(E.required(path.child(field, 'averageValue'), 'must set either a target value for metric or a per-pod target'));
  for (const k of ['value', 'averageValue'] as const) {
    const q = t[k];
    const v = q === undefined ? undefined : quantityMilliValue(q);
    if (v !== undefined && v <= 0) errs.push(E.invalid(path.child(field, k), String(q), 'must be positive'));
  }
}

function validateScalingRules(r: HPAScalingRules | undefined, field: string, errs: Errors): void {
  if (!r) return;
  const w = r.stabilizationWindowSeconds;
  if (w !== undefined && (w < 0 || w > 3600)) errs.push(E.invalid(path.child(field, 'stabilizationWindowSeconds'), w, w < 0 ? 'must be greater than or equal to zero' : 'must be less than or equal to 3600'));
  if (!r.policies || r.policies.length === 0) {
    if (r.selectPolicy !== 'Disabled') errs.push(E.required(path.child(field, 'policies'), 'must specify at least one Policy'));
  }
  (r.policies ?? []).forEach((p, i) => {
    const f = path.index(path.child(field, 'policies'), i);
    if (!(p.periodSeconds > 0 && p.periodSeconds <= 1800)) errs.push(E.invalid(path.child(f, 'periodSeconds'), p.periodSeconds, p.periodSeconds > 1800 ? 'must be less than or equal to 1800' : 'must be greater than zero'));
    if (!(p.value > 0)) errs.push(E.invalid(path.child(f, 'value'), p.value, 'must be greater than zero'));
  });
}

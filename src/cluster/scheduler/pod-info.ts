/**
 * PodInfo: what the plugins need to know about a pod, computed once per pod (kube's
 * framework.PodInfo plus its PreFilter state): its resource requests as the scheduler
 * counts them, its controller owner, tolerations, node selector and node affinity in a
 * form that is cheap to test against every node.
 */
import type { Container, NodeSelectorTerm, Pod, Toleration } from '../objects/core.js';
import { quantityMilliValue, quantityValue, type ResourceList } from '../objects/quantity.js';

/** schedutil.DefaultMilliCPURequest: what scoring assumes a container without a cpu request uses. */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
/** schedutil.DefaultMemoryRequest: 200 MB, for a container without a memory request. */
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

/** A node selector requirement, compiled. */
export interface CompiledRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';
  readonly values: readonly string[];
  /** For Gt and Lt: the bound. */
  readonly bound: number;
}

/** A node selector term, compiled: all expressions and fields must match; an empty term matches nothing. */
export interface CompiledTerm {
  readonly expressions: readonly CompiledRequirement[];
  /** matchFields: only `metadata.name` exists. */
  readonly fields: readonly CompiledRequirement[];
}

export interface PodInfo {
  readonly pod: Pod;
  /** Identity in the cache and queue: the uid, or namespace/name without one. */
  readonly key: string;
  /** `namespace/name`, for messages. */
  readonly name: string;
  /** Requests as NodeResourcesFit counts them (containers, init containers, overhead). */
  readonly milliCPU: number;
  readonly memory: number;
  /** Other requested resources (ephemeral-storage, extended resources): name → value. */
  readonly scalar: readonly (readonly [string, number])[];
  /** Requests with the non-zero defaults for scoring (kube's NonZeroRequested). */
  readonly nonZeroMilliCPU: number;
  readonly nonZeroMemory: number;
  /** `namespace/uid` of the controller owner (a ReplicaSet, a Job), for spreading. */
  readonly ownerKey: string | undefined;
  readonly tolerations: readonly Toleration[];
  /** spec.nodeSelector as pairs. */
  readonly nodeSelector: readonly (readonly [string, string])[];
  /** Required node affinity terms (ORed), or undefined for none. */
  readonly requiredTerms: readonly CompiledTerm[] | undefined;
  readonly preferredTerms: readonly { readonly weight: number; readonly term: CompiledTerm }[];
  /** spec.nodeName. */
  readonly nodeName: string | undefined;
  readonly priority: number;
}

interface Requests {
  cpu: number;
  memory: number;
  nzCPU: number;
  nzMemory: number;
  scalar: Map<string, number>;
}

function containerRequests(c: Container): Requests {
  const req = c.resources?.requests ?? {};
  const cpu = req.cpu === undefined ? undefined : quantityMilliValue(req.cpu);
  const memory = req.memory === undefined ? undefined : quantityValue(req.memory);
  const scalar = new Map<string, number>();
  for (const [k, q] of Object.entries(req)) {
    if (k === 'cpu' || k === 'memory') continue;
    const v = quantityValue(q);
    if (v) scalar.set(k, v);
  }
  return { cpu: cpu ?? 0, memory: memory ?? 0, nzCPU: cpu ?? DEFAULT_MILLI_CPU_REQUEST, nzMemory: memory ?? DEFAULT_MEMORY_REQUEST, scalar };
}

function add(into: Requests, r: Requests): void {
  into.cpu += r.cpu;
  into.memory += r.memory;
  into.nzCPU += r.nzCPU;
  into.nzMemory += r.nzMemory;
  for (const [k, v] of r.scalar) into.scalar.set(k, (into.scalar.get(k) ?? 0) + v);
}

function max(into: Requests, r: Requests): void {
  into.cpu = Math.max(into.cpu, r.cpu);
  into.memory = Math.max(into.memory, r.memory);
  into.nzCPU = Math.max(into.nzCPU, r.nzCPU);
  into.nzMemory = Math.max(into.nzMemory, r.nzMemory);
  for (const [k, v] of r.scalar) into.scalar.set(k, Math.max(into.scalar.get(k) ?? 0, v));
}

function copy(r: Requests): Requests {
  return { ...r, scalar: new Map(r.scalar) };
}

/**
 * The pod's effective requests (component-helpers resource.PodRequests): the sum over
 * containers and sidecars (restartable init containers), or, if larger, what each
 * ordinary init container needs while the sidecars declared before it run; plus
 * spec.overhead.
 */
function podRequests(pod: Pod): Requests {
  const sum: Requests = { cpu: 0, memory: 0, nzCPU: 0, nzMemory: 0, scalar: new Map() };
  for (const c of pod.spec.containers ?? []) add(sum, containerRequests(c));
  const sidecars: Requests = { cpu: 0, memory: 0, nzCPU: 0, nzMemory: 0, scalar: new Map() };
  const initMax: Requests = { cpu: 0, memory: 0, nzCPU: 0, nzMemory: 0, scalar: new Map() };
  for (const c of pod.spec.initContainers ?? []) {
    const r = containerRequests(c);
    if (c.restartPolicy === 'Always') {
      add(sum, r);
      add(sidecars, r);
      max(initMax, sidecars);
    } else {
      const during = copy(sidecars);
      add(during, r);
      max(initMax, during);
    }
  }
  max(sum, initMax);
  const overhead: ResourceList = pod.spec.overhead ?? {};
  for (const [k, q] of Object.entries(overhead)) {
    if (k === 'cpu') {
      const v = quantityMilliValue(q) ?? 0;
      sum.cpu += v;
      sum.nzCPU += v;
    } else if (k === 'memory') {
      const v = quantityValue(q) ?? 0;
      sum.memory += v;
      sum.nzMemory += v;
    } else sum.scalar.set(k, (sum.scalar.get(k) ?? 0) + (quantityValue(q) ?? 0));
  }
  return sum;
}

function compileRequirement(r: { key: string; operator: string; values?: readonly string[] }): CompiledRequirement {
  const values = r.values ?? [];
  const bound = r.operator === 'Gt' || r.operator === 'Lt' ? Number.parseInt(values[0] ?? '', 10) : 0;
  return { key: r.key, operator: r.operator as CompiledRequirement['operator'], values, bound };
}

function compileTerm(t: NodeSelectorTerm): CompiledTerm {
  return { expressions: (t.matchExpressions ?? []).map(compileRequirement), fields: (t.matchFields ?? []).map(compileRequirement) };
}

/** The PodInfo of `pod`. */
export function podInfo(pod: Pod): PodInfo {
  const meta = pod.metadata;
  const name = `${meta.namespace ?? 'default'}/${meta.name ?? ''}`;
  const r = podRequests(pod);
  const owner = meta.ownerReferences?.find((o) => o.controller === true);
  const na = pod.spec.affinity?.nodeAffinity;
  const required = na?.requiredDuringSchedulingIgnoredDuringExecution;
  return {
    pod,
    key: meta.uid ?? name,
    name,
    milliCPU: r.cpu,
    memory: r.memory,
    scalar: [...r.scalar].filter(([, v]) => v > 0),
    nonZeroMilliCPU: r.nzCPU,
    nonZeroMemory: r.nzMemory,
    ownerKey: owner ? `${meta.namespace ?? 'default'}/${owner.uid}` : undefined,
    tolerations: pod.spec.tolerations ?? [],
    nodeSelector: Object.entries(pod.spec.nodeSelector ?? {}),
    requiredTerms: required ? (required.nodeSelectorTerms ?? []).map(compileTerm) : undefined,
    preferredTerms: (na?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((p) => ({ weight: p.weight, term: compileTerm(p.preference) })),
    nodeName: pod.spec.nodeName || undefined,
    priority: pod.spec.priority ?? 0,
  };
}

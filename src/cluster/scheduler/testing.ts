/**
 * Builders of Nodes and Pods for the scheduler's tests and benchmark: the shapes of
 * kube-scheduler's scheduler_perf templates (node-default.yaml: 4 cpu, 32Gi, 110 pods,
 * Ready; pod-default.yaml: one container requesting 100m cpu and 500Mi memory).
 */
import type { Affinity, Node, Pod, Taint, Toleration } from '../objects/core.js';
import type { Quantity } from '../objects/quantity.js';

export interface NodeOptions {
  readonly cpu?: Quantity;
  readonly memory?: Quantity;
  readonly pods?: Quantity;
  readonly labels?: Record<string, string>;
  readonly taints?: readonly Taint[];
  readonly unschedulable?: boolean;
  /** The Ready condition's status; null for no condition at all. Default 'True'. */
  readonly ready?: 'True' | 'False' | 'Unknown' | null;
}

export function makeNode(name: string, o: NodeOptions = {}): Node {
  const ready = o.ready === undefined ? 'True' : o.ready;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: {
      capacity: { cpu: o.cpu ?? '4', memory: o.memory ?? '32Gi', pods: o.pods ?? '110' },
      allocatable: { cpu: o.cpu ?? '4', memory: o.memory ?? '32Gi', pods: o.pods ?? '110' },
      conditions: ready === null ? [] : [{ type: 'Ready', status: ready }],
    },
  };
}

export interface PodOptions {
  readonly namespace?: string;
  readonly uid?: string;
  /** Requests of the single container; null for none. Default 100m / 500Mi. */
  readonly cpu?: Quantity | null;
  readonly memory?: Quantity | null;
  readonly nodeName?: string;
  readonly nodeSelector?: Record<string, string>;
  readonly tolerations?: readonly Toleration[];
  readonly affinity?: Affinity;
  /** uid of a controlling owner (a ReplicaSet). */
  readonly owner?: string;
  readonly priority?: number;
  readonly schedulerName?: string;
  readonly phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
}

export function makePod(name: string, o: PodOptions = {}): Pod {
  const requests: Record<string, Quantity> = {};
  if (o.cpu !== null) requests.cpu = o.cpu ?? '100m';
  if (o.memory !== null) requests.memory = o.memory ?? '500Mi';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.namespace ?? 'default',
      uid: o.uid ?? `uid-${o.namespace ?? 'default'}-${name}`,
      ...(o.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: o.owner, controller: true }] } : {}),
    },
    spec: {
      containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.10', resources: { requests, limits: requests }, ports: [{ containerPort: 80 }] }],
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
      ...(o.affinity ? { affinity: o.affinity } : {}),
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...(o.schedulerName ? { schedulerName: o.schedulerName } : {}),
    },
    status: { phase: o.phase ?? 'Pending' },
  };
}

/** `pod` as the store reports it once bound to `nodeName`. */
export function bound(pod: Pod, nodeName: string): Pod {
  return { ...pod, spec: { ...pod.spec, nodeName } };
}

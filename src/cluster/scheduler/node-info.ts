/**
 * NodeInfo: the scheduler cache's view of one node (kube's framework.NodeInfo) — the
 * node's allocatable resources, taints and labels read once when the Node changes, and
 * the requests of the pods on it summed incrementally as pods are added, assumed and
 * removed. Plugins read it; only the cache changes it.
 */
import type { Node, Taint } from '../objects/core.js';
import { quantityMilliValue, quantityValue } from '../objects/quantity.js';
import type { PodInfo } from './pod-info.js';

/** The taints Kubernetes' node lifecycle controller puts on a node that is not Ready (TaintNodesByCondition). */
export const NOT_READY_TAINT: Taint = Object.freeze({ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' });
export const UNREACHABLE_TAINT: Taint = Object.freeze({ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' });

const EMPTY: readonly Taint[] = Object.freeze([]);

export class NodeInfo {
  /** The Node object; undefined while pods are still accounted to a node that was deleted. */
  node: Node | undefined = undefined;
  labels: Readonly<Record<string, string>> = {};
  unschedulable = false;
  /** Taints with effect NoSchedule or NoExecute: what the TaintToleration filter checks. */
  noScheduleTaints: readonly Taint[] = EMPTY;
  /** Taints with effect PreferNoSchedule: what TaintToleration's score counts. */
  preferNoScheduleTaints: readonly Taint[] = EMPTY;
  /**
   * The taint the node lifecycle controller adds for the Ready condition: not-ready when
   * Ready is False or missing, unreachable when Unknown, none when True.
   */
  conditionTaint: Taint | undefined = NOT_READY_TAINT;

  allocatableMilliCPU = 0;
  allocatableMemory = 0;
  /** allocatable.pods: a node that does not report it can take no pod (as in Kubernetes). */
  allocatablePods = 0;
  allocatableScalar: ReadonlyMap<string, number> = new Map();

  /** Sum of the requests of the pods on the node, as NodeResourcesFit counts them. */
  requestedMilliCPU = 0;
  requestedMemory = 0;
  readonly requestedScalar = new Map<string, number>();
  /** The same with the non-zero defaults, for scoring. */
  nonZeroMilliCPU = 0;
  nonZeroMemory = 0;

  /** The pods on the node (bound or assumed), by PodInfo key. */
  readonly pods = new Map<string, PodInfo>();
  /** pods.size, as a plain field: NodeResourcesFit reads it for every node in every cycle. */
  podCount = 0;
  /** Pods per controller owner (`namespace/uid`), for spreading. */
  readonly ownerCounts = new Map<string, number>();
  /** Bumped on every change. */
  generation = 0;

  constructor(readonly name: string) {}


  setNode(node: Node): void {
    this.node = node;
    this.labels = node.metadata.labels ?? {};
    this.unschedulable = node.spec?.unschedulable === true;
    const taints = node.spec?.taints ?? [];
    this.noScheduleTaints = taints.filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
    this.preferNoScheduleTaints = taints.filter((t) => t.effect === 'PreferNoSchedule');
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    this.conditionTaint = ready === 'True' ? undefined : ready === 'Unknown' ? UNREACHABLE_TAINT : NOT_READY_TAINT;
    const alloc = node.status?.allocatable ?? node.status?.capacity ?? {};
    this.allocatableMilliCPU = alloc.cpu === undefined ? 0 : (quantityMilliValue(alloc.cpu) ?? 0);
    this.allocatableMemory = alloc.memory === undefined ? 0 : (quantityValue(alloc.memory) ?? 0);
    this.allocatablePods = alloc.pods === undefined ? 0 : (quantityValue(alloc.pods) ?? 0);
    const scalar = new Map<string, number>();
    for (const [k, q] of Object.entries(alloc)) if (k !== 'cpu' && k !== 'memory' && k !== 'pods') scalar.set(k, quantityValue(q) ?? 0);
    this.allocatableScalar = scalar;
    this.generation++;
  }

  addPod(p: PodInfo): void {
    const old = this.pods.get(p.key);
    if (old) this.removePod(old);
    this.pods.set(p.key, p);
    this.podCount = this.pods.size;
    this.account(p, 1);
  }

  removePod(p: PodInfo): void {
    const had = this.pods.get(p.key);
    if (!had) return;
    this.pods.delete(p.key);
    this.podCount = this.pods.size;
    this.account(had, -1);
  }

  private account(p: PodInfo, sign: 1 | -1): void {
    this.requestedMilliCPU += sign * p.milliCPU;
    this.requestedMemory += sign * p.memory;
    this.nonZeroMilliCPU += sign * p.nonZeroMilliCPU;
    this.nonZeroMemory += sign * p.nonZeroMemory;
    for (const [k, v] of p.scalar) this.requestedScalar.set(k, (this.requestedScalar.get(k) ?? 0) + sign * v);
    if (p.ownerKey !== undefined) {
      const n = (this.ownerCounts.get(p.ownerKey) ?? 0) + sign;
      if (n > 0) this.ownerCounts.set(p.ownerKey, n);
      else this.ownerCounts.delete(p.ownerKey);
    }
    this.generation++;
  }
}

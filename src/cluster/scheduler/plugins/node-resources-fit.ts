/**
 * NodeResourcesFit (kube-scheduler plugins/noderesources/fit.go) with its default
 * scoring strategy, LeastAllocated (least_allocated.go).
 * Filter: the node must have room for one more pod (allocatable.pods) and for the pod's
 * requests of cpu, memory and any other resource it asks for (allocatable minus the
 * requests of the pods already there, assumed ones included). A pod requesting nothing
 * fits any node with a free pod slot. The reasons are kube's: `Too many pods`,
 * `Insufficient cpu`, `Insufficient memory`, `Insufficient <resource>`.
 * Score: the average over cpu and memory of (allocatable − requested) × 100 / allocatable,
 * counting the pod itself and the non-zero default requests (100m, 200 MB) for
 * containers that set none — so emptier nodes win.
 */
import { MaxNodeScore, type FilterPlugin, type ScorePlugin, type Status } from '../framework.js';

const TOO_MANY_PODS = 'Too many pods';

function leastRequested(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.floor(((capacity - requested) * MaxNodeScore) / capacity);
}

export const nodeResourcesFit = {
  name: 'NodeResourcesFit',
  filter(pod, node) {
    let reasons: string[] | undefined;
    if (node.podCount + 1 > node.allocatablePods) reasons = [TOO_MANY_PODS];
    if (pod.milliCPU > 0 && pod.milliCPU > node.allocatableMilliCPU - node.requestedMilliCPU) (reasons ??= []).push('Insufficient cpu');
    if (pod.memory > 0 && pod.memory > node.allocatableMemory - node.requestedMemory) (reasons ??= []).push('Insufficient memory');
    for (let i = 0; i < pod.scalar.length; i++) {
      const [name, v] = pod.scalar[i] as readonly [string, number];
      if (v > (node.allocatableScalar.get(name) ?? 0) - (node.requestedScalar.get(name) ?? 0)) (reasons ??= []).push(`Insufficient ${name}`);
    }
    return reasons === undefined ? null : ({ code: 'Unschedulable', reasons } satisfies Status);
  },
  score(pod, node) {
    const cpu = leastRequested(node.nonZeroMilliCPU + pod.nonZeroMilliCPU, node.allocatableMilliCPU);
    const memory = leastRequested(node.nonZeroMemory + pod.nonZeroMemory, node.allocatableMemory);
    return Math.floor((cpu + memory) / 2);
  },
} satisfies FilterPlugin & ScorePlugin;

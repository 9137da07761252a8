/**
 * NodeReady (skiff's; kube-scheduler has no such plugin): a node whose Ready condition is
 * not True takes no new pod, unless the pod tolerates the taint Kubernetes' node
 * lifecycle controller would put on it (TaintNodesByCondition): `node.kubernetes.io/
 * not-ready:NoSchedule` when Ready is False or not reported yet, `node.kubernetes.io/
 * unreachable:NoSchedule` when it is Unknown. In Kubernetes the TaintToleration filter
 * sees those taints; here the filter reads the condition directly, so that scheduling
 * does not wait for a controller to write the taint — and says the same thing.
 */
import { unschedulable, type FilterPlugin } from '../framework.js';
import { NOT_READY_TAINT, UNREACHABLE_TAINT } from '../node-info.js';
import { tolerates, untoleratedReason } from './tolerations.js';

const NOT_READY = unschedulable(untoleratedReason(NOT_READY_TAINT), 'UnschedulableAndUnresolvable');
const UNREACHABLE = unschedulable(untoleratedReason(UNREACHABLE_TAINT), 'UnschedulableAndUnresolvable');

export const nodeReady = {
  name: 'NodeReady',
  preFilterSkip(_pod, cache) {
    return cache.notReadyNodes === 0;
  },
  filter(pod, node) {
    const taint = node.conditionTaint;
    if (taint === undefined || tolerates(pod.tolerations, taint)) return null;
    return taint === UNREACHABLE_TAINT ? UNREACHABLE : NOT_READY;
  },
} satisfies FilterPlugin;

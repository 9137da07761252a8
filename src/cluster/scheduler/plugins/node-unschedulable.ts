/**
 * NodeUnschedulable (kube-scheduler plugins/nodeunschedulable): a cordoned node
 * (spec.unschedulable) takes no new pod, unless the pod tolerates the
 * `node.kubernetes.io/unschedulable:NoSchedule` taint.
 */
import type { Taint } from '../../objects/core.js';
import { unschedulable, type FilterPlugin } from '../framework.js';
import { tolerates } from './tolerations.js';

/** nodeunschedulable.ErrReasonUnschedulable. */
export const ERR_REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
const UNSCHEDULABLE_TAINT: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };
const CORDONED = unschedulable(ERR_REASON_UNSCHEDULABLE, 'UnschedulableAndUnresolvable');

export const nodeUnschedulable = {
  name: 'NodeUnschedulable',
  preFilterSkip(_pod, cache) {
    return cache.unschedulableNodes === 0;
  },
  filter(pod, node) {
    if (!node.unschedulable || tolerates(pod.tolerations, UNSCHEDULABLE_TAINT)) return null;
    return CORDONED;
  },
} satisfies FilterPlugin;

/**
 * NodeName (kube-scheduler plugins/nodename/node_name.go): a pod that names a node in
 * spec.nodeName fits only that node.
 */
import { unschedulable, type FilterPlugin } from '../framework.js';

/** nodename.ErrReason. */
export const ERR_REASON_NODE_NAME = "node(s) didn't match the requested node name";
const MISMATCH = unschedulable(ERR_REASON_NODE_NAME, 'UnschedulableAndUnresolvable');

export const nodeName = {
  name: 'NodeName',
  preFilterSkip(pod) {
    return pod.nodeName === undefined;
  },
  filter(pod, node) {
    return pod.nodeName === undefined || pod.nodeName === node.name ? null : MISMATCH;
  },
} satisfies FilterPlugin;

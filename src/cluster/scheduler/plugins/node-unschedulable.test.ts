import { describe, expect, it } from 'vitest';
import { NodeInfo } from '../node-info.js';
import { podInfo } from '../pod-info.js';
import { makeNode, makePod } from '../testing.js';
import { ERR_REASON_UNSCHEDULABLE, nodeUnschedulable } from './node-unschedulable.js';

const info = (unschedulable: boolean): NodeInfo => {
  const ni = new NodeInfo('n');
  ni.setNode(makeNode('n', { unschedulable }));
  return ni;
};

describe('NodeUnschedulable', () => {
  it('passes a schedulable node', () => {
    expect(nodeUnschedulable.filter(podInfo(makePod('p')), info(false))).toBeNull();
  });
  it('rejects a cordoned node', () => {
    expect(nodeUnschedulable.filter(podInfo(makePod('p')), info(true))?.reasons).toEqual([ERR_REASON_UNSCHEDULABLE]);
  });
  it('lets a pod that tolerates node.kubernetes.io/unschedulable through', () => {
    const p = podInfo(makePod('p', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] }));
    expect(nodeUnschedulable.filter(p, info(true))).toBeNull();
    const all = podInfo(makePod('q', { tolerations: [{ operator: 'Exists' }] }));
    expect(nodeUnschedulable.filter(all, info(true))).toBeNull();
  });
});

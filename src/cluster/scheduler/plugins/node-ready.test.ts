import { describe, expect, it } from 'vitest';
import { NodeInfo } from '../node-info.js';
import { podInfo } from '../pod-info.js';
import { makeNode, makePod } from '../testing.js';
import { nodeReady } from './node-ready.js';

const info = (ready: 'True' | 'False' | 'Unknown' | null): NodeInfo => {
  const ni = new NodeInfo('n');
  ni.setNode(makeNode('n', { ready }));
  return ni;
};

describe('NodeReady', () => {
  const pod = podInfo(makePod('p'));
  it('passes a Ready node', () => {
    expect(nodeReady.filter(pod, info('True'))).toBeNull();
  });
  it('rejects a NotReady node, or one that has not reported, as the not-ready taint would', () => {
    expect(nodeReady.filter(pod, info('False'))?.reasons).toEqual(['node(s) had untolerated taint {node.kubernetes.io/not-ready: }']);
    expect(nodeReady.filter(pod, info(null))?.reasons).toEqual(['node(s) had untolerated taint {node.kubernetes.io/not-ready: }']);
  });
  it('rejects an unreachable node (Ready Unknown)', () => {
    expect(nodeReady.filter(pod, info('Unknown'))?.reasons).toEqual(['node(s) had untolerated taint {node.kubernetes.io/unreachable: }']);
  });
  it('lets a pod that tolerates the taint through', () => {
    const tolerant = podInfo(makePod('t', { tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' }] }));
    expect(nodeReady.filter(tolerant, info('False'))).toBeNull();
    // A NoExecute toleration (the default one pods get for 300 s) does not tolerate NoSchedule.
    const noExecute = podInfo(makePod('e', { tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }] }));
    expect(nodeReady.filter(noExecute, info('False'))).not.toBeNull();
  });
});

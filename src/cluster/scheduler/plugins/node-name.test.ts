import { describe, expect, it } from 'vitest';
import { NodeInfo } from '../node-info.js';
import { podInfo } from '../pod-info.js';
import { makeNode, makePod } from '../testing.js';
import { ERR_REASON_NODE_NAME, nodeName } from './node-name.js';

const info = (name: string): NodeInfo => {
  const ni = new NodeInfo(name);
  ni.setNode(makeNode(name));
  return ni;
};

describe('NodeName', () => {
  it('passes every node when the pod names none', () => {
    expect(nodeName.filter(podInfo(makePod('p')), info('a'))).toBeNull();
  });
  it('passes only the named node', () => {
    const p = podInfo(makePod('p', { nodeName: 'b' }));
    expect(nodeName.filter(p, info('b'))).toBeNull();
    expect(nodeName.filter(p, info('a'))).toEqual({ code: 'UnschedulableAndUnresolvable', reasons: [ERR_REASON_NODE_NAME] });
  });
});

import { describe, expect, it } from 'vitest';
import { NodeInfo } from '../node-info.js';
import { podInfo } from '../pod-info.js';
import { makeNode, makePod } from '../testing.js';
import { selectorSpread } from './selector-spread.js';

function node(name: string, owners: (string | undefined)[]): NodeInfo {
  const ni = new NodeInfo(name);
  ni.setNode(makeNode(name));
  owners.forEach((owner, i) => ni.addPod(podInfo(makePod(`${name}-${i}`, { nodeName: name, ...(owner ? { owner } : {}) }))));
  return ni;
}

describe('SelectorSpread', () => {
  it('prefers nodes with fewer pods of the same owner', () => {
    const nodes = [node('a', ['rs1', 'rs1']), node('b', ['rs1', 'rs2', 'rs2']), node('c', [undefined, 'rs2'])];
    const pod = podInfo(makePod('p', { owner: 'rs1' }));
    const scores = new Float64Array(nodes.map((n) => selectorSpread.score(pod, n)));
    expect([...scores]).toEqual([2, 1, 0]);
    selectorSpread.normalizeScore(pod, scores, 3);
    expect([...scores]).toEqual([0, 50, 100]);
  });

  it('has nothing to say about a pod without a controller', () => {
    expect(selectorSpread.skip(podInfo(makePod('p')))).toBe(true);
    expect(selectorSpread.skip(podInfo(makePod('p', { owner: 'x' })))).toBe(false);
    const scores = new Float64Array([0, 0]);
    selectorSpread.normalizeScore(podInfo(makePod('p', { owner: 'x' })), scores, 2);
    expect([...scores]).toEqual([100, 100]);
  });

  it('counts owners per namespace', () => {
    const ni = node('a', []);
    ni.addPod(podInfo(makePod('other', { namespace: 'other', owner: 'rs1', nodeName: 'a' })));
    expect(selectorSpread.score(podInfo(makePod('p', { owner: 'rs1' })), ni)).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import type { Taint } from '../../objects/core.js';
import { NodeInfo } from '../node-info.js';
import { podInfo } from '../pod-info.js';
import { makeNode, makePod } from '../testing.js';
import { taintToleration } from './taint-toleration.js';
import { toleratesTaint } from './tolerations.js';

const info = (taints: Taint[]): NodeInfo => {
  const ni = new NodeInfo('n');
  ni.setNode(makeNode('n', { taints }));
  return ni;
};

describe('toleratesTaint', () => {
  const taint: Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };
  it('matches as core/v1 does', () => {
    expect(toleratesTaint({ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }, taint)).toBe(true);
    expect(toleratesTaint({ key: 'dedicated', value: 'gpu' }, taint)).toBe(true); // operator defaults to Equal, effect to all
    expect(toleratesTaint({ key: 'dedicated', value: 'cpu' }, taint)).toBe(false);
    expect(toleratesTaint({ key: 'dedicated', operator: 'Exists' }, taint)).toBe(true);
    expect(toleratesTaint({ operator: 'Exists' }, taint)).toBe(true);
    expect(toleratesTaint({ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }, taint)).toBe(false);
    expect(toleratesTaint({ key: 'other', operator: 'Exists' }, taint)).toBe(false);
  });
});

describe('TaintToleration', () => {
  it('filters out untolerated NoSchedule and NoExecute taints, naming the first', () => {
    const node = info([
      { key: 'soft', effect: 'PreferNoSchedule' },
      { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' },
      { key: 'evict', effect: 'NoExecute' },
    ]);
    expect(taintToleration.filter(podInfo(makePod('p')), node)).toEqual({ code: 'UnschedulableAndUnresolvable', reasons: ['node(s) had untolerated taint {dedicated: gpu}'] });
    const half = podInfo(makePod('h', { tolerations: [{ key: 'dedicated', operator: 'Exists' }] }));
    expect(taintToleration.filter(half, node)?.reasons).toEqual(['node(s) had untolerated taint {evict: }']);
    const all = podInfo(makePod('a', { tolerations: [{ key: 'dedicated', operator: 'Exists' }, { key: 'evict', operator: 'Exists', effect: 'NoExecute' }] }));
    expect(taintToleration.filter(all, node)).toBeNull();
  });

  it('ignores PreferNoSchedule in the filter and counts it in the score, normalized in reverse', () => {
    const clean = info([]);
    const soft = info([{ key: 'a', effect: 'PreferNoSchedule' }]);
    const softer = info([
      { key: 'a', effect: 'PreferNoSchedule' },
      { key: 'b', effect: 'PreferNoSchedule' },
    ]);
    const pod = podInfo(makePod('p'));
    expect(taintToleration.filter(pod, softer)).toBeNull();
    const scores = new Float64Array([clean, soft, softer].map((n) => taintToleration.score(pod, n)));
    expect([...scores]).toEqual([0, 1, 2]);
    taintToleration.normalizeScore(pod, scores, 3);
    expect([...scores]).toEqual([100, 50, 0]);
    const tolerant = podInfo(makePod('t', { tolerations: [{ key: 'a', operator: 'Exists', effect: 'PreferNoSchedule' }] }));
    expect(taintToleration.score(tolerant, softer)).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import type { NodeSelectorRequirement } from '../../objects/core.js';
import { NodeInfo } from '../node-info.js';
import { podInfo } from '../pod-info.js';
import { makeNode, makePod } from '../testing.js';
import { ERR_REASON_POD, nodeAffinity } from './node-affinity.js';

const info = (name: string, labels: Record<string, string>): NodeInfo => {
  const ni = new NodeInfo(name);
  ni.setNode(makeNode(name, { labels }));
  return ni;
};
const required = (...matchExpressions: NodeSelectorRequirement[]) =>
  podInfo(makePod('p', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions }] } } } }));

describe('NodeAffinity filter', () => {
  const ssd = info('a', { disktype: 'ssd', zone: 'z1', gen: '5' });
  const hdd = info('b', { disktype: 'hdd' });

  it('matches spec.nodeSelector', () => {
    const p = podInfo(makePod('p', { nodeSelector: { disktype: 'ssd' } }));
    expect(nodeAffinity.filter(p, ssd)).toBeNull();
    expect(nodeAffinity.filter(p, hdd)?.reasons).toEqual([ERR_REASON_POD]);
  });

  it('matches required terms with every operator', () => {
    expect(nodeAffinity.filter(required({ key: 'zone', operator: 'In', values: ['z1', 'z2'] }), ssd)).toBeNull();
    expect(nodeAffinity.filter(required({ key: 'zone', operator: 'In', values: ['z1'] }), hdd)).not.toBeNull();
    expect(nodeAffinity.filter(required({ key: 'zone', operator: 'NotIn', values: ['z1'] }), hdd)).toBeNull();
    expect(nodeAffinity.filter(required({ key: 'zone', operator: 'Exists' }), hdd)).not.toBeNull();
    expect(nodeAffinity.filter(required({ key: 'zone', operator: 'DoesNotExist' }), hdd)).toBeNull();
    expect(nodeAffinity.filter(required({ key: 'gen', operator: 'Gt', values: ['4'] }), ssd)).toBeNull();
    expect(nodeAffinity.filter(required({ key: 'gen', operator: 'Lt', values: ['4'] }), ssd)).not.toBeNull();
  });

  it('ORs terms, ANDs requirements, and an empty term matches nothing', () => {
    const p = podInfo(
      makePod('p', {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: 'disktype', operator: 'In', values: ['ssd'] }, { key: 'zone', operator: 'In', values: ['z9'] }] }, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['b'] }] }],
            },
          },
        },
      }),
    );
    expect(nodeAffinity.filter(p, ssd)).not.toBeNull();
    expect(nodeAffinity.filter(p, hdd)).toBeNull();
    const empty = podInfo(makePod('e', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{}] } } } }));
    expect(nodeAffinity.filter(empty, ssd)).not.toBeNull();
  });

  it('scores preferred terms by weight, normalized', () => {
    const p = podInfo(
      makePod('p', {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 80, preference: { matchExpressions: [{ key: 'disktype', operator: 'In', values: ['ssd'] }] } },
              { weight: 20, preference: { matchExpressions: [{ key: 'disktype', operator: 'Exists' }] } },
            ],
          },
        },
      }),
    );
    expect(nodeAffinity.skip(p)).toBe(false);
    expect(nodeAffinity.skip(podInfo(makePod('q')))).toBe(true);
    const scores = new Float64Array([nodeAffinity.score(p, ssd), nodeAffinity.score(p, hdd), nodeAffinity.score(p, info('c', {}))]);
    nodeAffinity.normalizeScore(p, scores, 3);
    expect([...scores]).toEqual([100, 20, 0]);
  });
});

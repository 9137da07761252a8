import { describe, expect, it } from 'vitest';
import { NodeInfo } from '../node-info.js';
import { podInfo } from '../pod-info.js';
import { makeNode, makePod } from '../testing.js';
import { nodeResourcesFit } from './node-resources-fit.js';

function node(cpu: string, memory: string, pods = '110', existing: { cpu: string | null; memory: string | null }[] = []): NodeInfo {
  const ni = new NodeInfo('n');
  ni.setNode(makeNode('n', { cpu, memory, pods }));
  existing.forEach((r, i) => ni.addPod(podInfo(makePod(`e${i}`, { ...r, nodeName: 'n' }))));
  return ni;
}

describe('NodeResourcesFit filter', () => {
  it('fits what allocatable minus requested allows', () => {
    const n = node('1', '1Gi', '110', [{ cpu: '600m', memory: '512Mi' }]);
    expect(nodeResourcesFit.filter(podInfo(makePod('p', { cpu: '400m', memory: '512Mi' })), n)).toBeNull();
    expect(nodeResourcesFit.filter(podInfo(makePod('p', { cpu: '401m', memory: '512Mi' })), n)).toEqual({ code: 'Unschedulable', reasons: ['Insufficient cpu'] });
    expect(nodeResourcesFit.filter(podInfo(makePod('p', { cpu: '500m', memory: '600Mi' })), n)?.reasons).toEqual(['Insufficient cpu', 'Insufficient memory']);
  });

  it('counts pod slots, even for pods that request nothing', () => {
    const full = node('4', '4Gi', '2', [{ cpu: null, memory: null }, { cpu: null, memory: null }]);
    expect(nodeResourcesFit.filter(podInfo(makePod('p', { cpu: null, memory: null })), full)?.reasons).toEqual(['Too many pods']);
    expect(nodeResourcesFit.filter(podInfo(makePod('p', { cpu: null, memory: null })), node('0', '0', '1'))).toBeNull();
  });

  it('adds init containers (max) and overhead to the requests', () => {
    const pod = makePod('p', { cpu: '100m' });
    const withInit = {
      ...pod,
      spec: { ...pod.spec, initContainers: [{ name: 'init', image: 'x', resources: { requests: { cpu: '900m' } } }], overhead: { cpu: '50m' } },
    };
    const info = podInfo(withInit);
    expect(info.milliCPU).toBe(950);
    expect(nodeResourcesFit.filter(info, node('1', '1Gi'))).toBeNull();
    expect(nodeResourcesFit.filter(info, node('900m', '1Gi'))?.reasons).toEqual(['Insufficient cpu']);
  });

  it('checks other resources by name', () => {
    const pod = makePod('p');
    const gpu = podInfo({ ...pod, spec: { ...pod.spec, containers: [{ name: 'c', image: 'x', resources: { requests: { 'example.com/gpu': '1' } } }] } });
    expect(nodeResourcesFit.filter(gpu, node('4', '4Gi'))?.reasons).toEqual(['Insufficient example.com/gpu']);
  });
});

describe('NodeResourcesFit score (LeastAllocated)', () => {
  it('averages the free fraction of cpu and memory, counting the pod and non-zero defaults', () => {
    const pod = podInfo(makePod('p', { cpu: '1', memory: '1Gi' }));
    // cpu: (4000 - 1000) * 100 / 4000 = 75; memory: (4Gi - 1Gi) * 100 / 4Gi = 75
    expect(nodeResourcesFit.score(pod, node('4', '4Gi'))).toBe(75);
    // existing pod with no requests counts 100m and 200MB for scoring
    const n = node('4', '4Gi', '110', [{ cpu: null, memory: null }]);
    // cpu: (4000 - 1100) * 100 / 4000 = 72.5 → 72; memory: (4294967296 - 1073741824 - 209715200) * 100 / 4294967296 = 70.1 → 70
    expect(nodeResourcesFit.score(pod, n)).toBe(71);
    expect(nodeResourcesFit.score(pod, node('0', '0'))).toBe(0);
  });
});

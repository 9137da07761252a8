import { describe, expect, it } from 'vitest';
import { SchedulerCache } from './cache.js';
import { podInfo } from './pod-info.js';
import { bound, makeNode, makePod } from './testing.js';

describe('SchedulerCache', () => {
  it('assume, confirm, move and remove keep the sums exact', () => {
    const c = new SchedulerCache();
    c.addOrUpdateNode(makeNode('a'));
    c.addOrUpdateNode(makeNode('b'));
    const pod = makePod('p', { cpu: '300m', memory: '1Gi', owner: 'rs' });
    const info = podInfo(pod);
    c.assume(info, 'a');
    expect(c.isAssumed(info.key)).toBe(true);
    expect(c.nodeInfo('a')).toMatchObject({ requestedMilliCPU: 300, requestedMemory: 1024 ** 3, podCount: 1 });
    c.addOrUpdatePod(bound(pod, 'a'));
    expect(c.isAssumed(info.key)).toBe(false);
    expect(c.nodeInfo('a')).toMatchObject({ requestedMilliCPU: 300, podCount: 1 });
    c.addOrUpdatePod(bound(pod, 'b')); // the store says otherwise: it wins
    expect(c.nodeInfo('a')).toMatchObject({ requestedMilliCPU: 0, podCount: 0 });
    expect(c.nodeInfo('b')).toMatchObject({ requestedMilliCPU: 300, podCount: 1 });
    expect(c.nodeInfo('b')?.ownerCounts.get('default/rs')).toBe(1);
    c.removePod(info.key);
    c.removePod(info.key);
    expect(c.nodeInfo('b')).toMatchObject({ requestedMilliCPU: 0, requestedMemory: 0, nonZeroMilliCPU: 0, podCount: 0 });
    expect(c.nodeInfo('b')?.ownerCounts.size).toBe(0);
  });

  it('forget releases only assumed pods', () => {
    const c = new SchedulerCache();
    c.addOrUpdateNode(makeNode('a'));
    const pod = makePod('p');
    c.addOrUpdatePod(bound(pod, 'a'));
    c.forget(podInfo(pod).key);
    expect(c.nodeInfo('a')?.podCount).toBe(1);
  });

  it('updating a node keeps its pods; removing it hides it from cycles', () => {
    const c = new SchedulerCache();
    c.addOrUpdateNode(makeNode('a', { cpu: '2' }));
    c.addOrUpdatePod(makePod('p', { nodeName: 'a' }));
    c.addOrUpdateNode(makeNode('a', { cpu: '8' }));
    expect(c.nodeInfo('a')).toMatchObject({ allocatableMilliCPU: 8000, requestedMilliCPU: 100 });
    expect(c.nodes).toHaveLength(1);
    c.removeNode('a');
    expect(c.nodes).toHaveLength(0);
    expect(c.nodeInfo('a')).toBeUndefined();
    c.removePod(podInfo(makePod('p')).key);
    c.addOrUpdateNode(makeNode('a'));
    expect(c.nodeInfo('a')?.podCount).toBe(0);
  });

  it('reads allocatable, taints and readiness from the Node', () => {
    const c = new SchedulerCache();
    c.addOrUpdateNode(makeNode('a', { cpu: '1500m', memory: '2Gi', pods: '3', taints: [{ key: 'k', effect: 'NoSchedule' }, { key: 's', effect: 'PreferNoSchedule' }], ready: 'Unknown' }));
    const ni = c.nodeInfo('a');
    expect(ni).toMatchObject({ allocatableMilliCPU: 1500, allocatableMemory: 2 * 1024 ** 3, allocatablePods: 3 });
    expect(ni?.noScheduleTaints.map((t) => t.key)).toEqual(['k']);
    expect(ni?.preferNoScheduleTaints.map((t) => t.key)).toEqual(['s']);
    expect(ni?.conditionTaint?.key).toBe('node.kubernetes.io/unreachable');
  });
});

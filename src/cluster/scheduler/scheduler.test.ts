import { describe, expect, it } from 'vitest';
import type { Node, Pod } from '../objects/core.js';
import { NO_NODES_AVAILABLE, podScheduledCondition, Scheduler, schedulingEvent, type ScheduleResult } from './scheduler.js';
import { bound, makeNode, makePod } from './testing.js';

/** Runs the scheduler loop as the cluster will: every Scheduled decision is bound at once. */
function drain(s: Scheduler): ScheduleResult[] {
  const out: ScheduleResult[] = [];
  for (let r = s.scheduleOne(); r; r = s.scheduleOne()) {
    out.push(r);
    if (r.status === 'Scheduled') s.onPodEvent({ type: 'MODIFIED', object: bound(r.pod, r.nodeName) });
  }
  return out;
}

function withNodes(nodes: Node[], options = {}): Scheduler {
  const s = new Scheduler(options);
  s.sync({ nodes, pods: [] });
  return s;
}

const add = (s: Scheduler, ...pods: Pod[]): void => pods.forEach((p) => s.onPodEvent({ type: 'ADDED', object: p }));

describe('Scheduler', () => {
  it('binds a pending pod to a node that fits', () => {
    const s = withNodes([makeNode('small', { cpu: '100m' }), makeNode('big')]);
    add(s, makePod('web', { cpu: '1' }));
    const [r] = drain(s);
    expect(r).toMatchObject({ status: 'Scheduled', nodeName: 'big', feasibleNodes: 1 });
    if (r?.status !== 'Scheduled') throw new Error('not scheduled');
    expect(r.binding).toEqual({
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 'web', namespace: 'default', uid: 'uid-default-web' },
      target: { apiVersion: 'v1', kind: 'Node', name: 'big' },
    });
    expect(schedulingEvent(r)).toEqual({ type: 'Normal', reason: 'Scheduled', message: 'Successfully assigned default/web to big' });
  });

  it('says why no node fits, counting reasons over nodes the kube way', () => {
    const s = withNodes([
      makeNode('a', { cpu: '500m' }),
      makeNode('b', { cpu: '500m' }),
      makeNode('c', { cpu: '500m' }),
      makeNode('d', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
      makeNode('e', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
    ]);
    const r = s.schedule(makePod('big', { cpu: '2' }));
    expect(r.status).toBe('Unschedulable');
    if (r.status !== 'Unschedulable') return;
    expect(r.message).toBe('0/5 nodes are available: 2 node(s) had untolerated taint {dedicated: gpu}, 3 Insufficient cpu.');
    expect([...r.plugins].sort()).toEqual(['NodeResourcesFit', 'TaintToleration']);
    expect(schedulingEvent(r)).toEqual({ type: 'Warning', reason: 'FailedScheduling', message: r.message });
    expect(podScheduledCondition(r, '2026-01-01T00:00:00Z')).toEqual({
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message: r.message,
      lastTransitionTime: '2026-01-01T00:00:00Z',
      lastProbeTime: null,
    });
  });

  it('counts every reason a node gives, and the cordoned, NotReady and mismatched ones', () => {
    const s = withNodes([
      makeNode('a', { cpu: '100m', memory: '100Mi', labels: { disktype: 'ssd' } }),
      makeNode('b', { unschedulable: true }),
      makeNode('c', { ready: 'False' }),
      makeNode('d', { labels: { disktype: 'hdd' } }),
    ]);
    const r = s.schedule(makePod('p', { cpu: '1', memory: '1Gi', nodeSelector: { disktype: 'ssd' } }));
    expect(r.status === 'Unschedulable' && r.message).toBe(
      "0/4 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable.",
    );
  });

  it('without nodes, says so', () => {
    const s = new Scheduler();
    const r = s.schedule(makePod('p'));
    expect(r.status === 'Unschedulable' && r.message).toBe(NO_NODES_AVAILABLE);
  });

  it('an unschedulable pod waits, and is scheduled when a node is added', () => {
    const s = withNodes([makeNode('a', { cpu: '1' })]);
    add(s, makePod('big', { cpu: '2' }));
    const [first] = drain(s);
    expect(first?.status).toBe('Unschedulable');
    expect(s.pending()).toEqual({ active: 0, unschedulable: 1 });
    expect(s.scheduleOne()).toBeUndefined(); // nothing changed: no retry
    s.onNodeEvent({ type: 'ADDED', object: makeNode('b', { cpu: '4' }) });
    expect(s.pending()).toEqual({ active: 1, unschedulable: 0 });
    const [second] = drain(s);
    expect(second).toMatchObject({ status: 'Scheduled', nodeName: 'b' });
  });

  it('retries when a node becomes Ready or is uncordoned', () => {
    const s = withNodes([makeNode('a', { ready: 'False' })]);
    add(s, makePod('p'));
    expect(drain(s)[0]?.status).toBe('Unschedulable');
    s.onNodeEvent({ type: 'MODIFIED', object: makeNode('a', { unschedulable: true }) });
    expect(drain(s)[0]?.status).toBe('Unschedulable');
    s.onNodeEvent({ type: 'MODIFIED', object: makeNode('a') });
    expect(drain(s)[0]).toMatchObject({ status: 'Scheduled', nodeName: 'a' });
  });

  it('counts assumed pods before their binding comes back, and once after', () => {
    const s = withNodes([makeNode('a', { cpu: '1' })]);
    add(s, makePod('p1', { cpu: '400m' }), makePod('p2', { cpu: '400m' }), makePod('p3', { cpu: '400m' }));
    const r1 = s.scheduleOne();
    const r2 = s.scheduleOne();
    const r3 = s.scheduleOne(); // p1 and p2 are only assumed: 800m of 1000m taken
    expect([r1?.status, r2?.status, r3?.status]).toEqual(['Scheduled', 'Scheduled', 'Unschedulable']);
    expect(r3?.status === 'Unschedulable' && r3.message).toBe('0/1 nodes are available: 1 Insufficient cpu.');
    // The bindings arrive: confirmed, not counted twice.
    for (const r of [r1, r2]) if (r?.status === 'Scheduled') s.onPodEvent({ type: 'MODIFIED', object: bound(r.pod, r.nodeName) });
    expect(s.cache.nodeInfo('a')?.requestedMilliCPU).toBe(800);
    // A status update of an assumed pod that still shows no nodeName changes nothing.
    add(s, makePod('p4', { cpu: '100m' }));
    const r4 = s.scheduleOne();
    expect(r4?.status).toBe('Scheduled');
    s.onPodEvent({ type: 'MODIFIED', object: makePod('p4', { cpu: '100m' }) });
    expect(s.cache.nodeInfo('a')?.requestedMilliCPU).toBe(900);
    expect(s.pending().active).toBe(0);
  });

  it('releases and requeues a pod whose binding failed', () => {
    const s = withNodes([makeNode('a', { cpu: '1' })]);
    add(s, makePod('p', { cpu: '600m' }));
    const r = s.scheduleOne();
    expect(s.cache.nodeInfo('a')?.requestedMilliCPU).toBe(600);
    if (r?.status !== 'Scheduled') throw new Error('not scheduled');
    s.bindingFailed(r.pod);
    expect(s.cache.nodeInfo('a')?.requestedMilliCPU).toBe(0);
    expect(drain(s)[0]).toMatchObject({ status: 'Scheduled', nodeName: 'a' });
  });

  it('frees room when a pod is deleted or finishes, and retries waiting pods', () => {
    const s = withNodes([makeNode('a', { cpu: '1' })]);
    const running = makePod('running', { cpu: '800m', nodeName: 'a', phase: 'Running' });
    const job = makePod('job', { cpu: '800m' });
    add(s, running);
    add(s, job);
    expect(drain(s)[0]?.status).toBe('Unschedulable');
    s.onPodEvent({ type: 'MODIFIED', object: { ...running, status: { phase: 'Succeeded' } } });
    expect(drain(s)[0]).toMatchObject({ status: 'Scheduled', nodeName: 'a' });
    s.onPodEvent({ type: 'DELETED', object: bound(job, 'a') });
    expect(s.cache.nodeInfo('a')?.requestedMilliCPU).toBe(0);
  });

  it('prefers the emptier node (LeastAllocated)', () => {
    const s = withNodes([makeNode('busy'), makeNode('idle')]);
    add(s, makePod('existing', { cpu: '2', nodeName: 'busy' }));
    add(s, makePod('p'));
    expect(drain(s)[0]).toMatchObject({ nodeName: 'idle' });
  });

  it("spreads one owner's pods over nodes", () => {
    const s = withNodes([makeNode('a'), makeNode('b'), makeNode('c')]);
    // Other pods make 'a' the emptiest by far, yet the replicas still spread.
    add(s, makePod('x', { cpu: '1', nodeName: 'b' }), makePod('y', { cpu: '1', nodeName: 'c' }));
    for (let i = 0; i < 6; i++) add(s, makePod(`web-${i}`, { owner: 'rs-web' }));
    const placed = drain(s).map((r) => (r.status === 'Scheduled' ? r.nodeName : '-'));
    expect(placed.filter((n) => n === 'a')).toHaveLength(2);
    expect(placed.filter((n) => n === 'b')).toHaveLength(2);
    expect(placed.filter((n) => n === 'c')).toHaveLength(2);
  });

  it('breaks ties with a seeded PRNG: spread over equal nodes, the same every run', () => {
    const run = (seed: number): string[] => {
      const s = withNodes(
        Array.from({ length: 8 }, (_, i) => makeNode(`n${i}`)),
        { seed },
      );
      // Requests of 0 keep every node's score equal, so every pick is a tie.
      for (let i = 0; i < 16; i++) add(s, makePod(`p${i}`, { cpu: null, memory: null }));
      return drain(s).map((r) => (r.status === 'Scheduled' ? r.nodeName : '-'));
    };
    const a = run(7);
    expect(run(7)).toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(3);
    expect(run(8)).not.toEqual(a);
  });

  it('searches only part of a large cluster, round-robin (percentageOfNodesToScore)', () => {
    const nodes = Array.from({ length: 1000 }, (_, i) => makeNode(`n${i}`));
    const s = withNodes(nodes);
    const r1 = s.schedule(makePod('a'));
    const r2 = s.schedule(makePod('b'));
    // 1000 nodes: 50 - 1000/125 = 42% → 420 nodes
    expect(r1).toMatchObject({ feasibleNodes: 420, evaluatedNodes: 420 });
    expect(r2).toMatchObject({ feasibleNodes: 420 });
    const all = withNodes(nodes, { percentageOfNodesToScore: 100 });
    expect(all.schedule(makePod('c'))).toMatchObject({ feasibleNodes: 1000 });
    const few = withNodes(nodes.slice(0, 99));
    expect(few.schedule(makePod('d'))).toMatchObject({ feasibleNodes: 99 });
    const big = withNodes(Array.from({ length: 5000 }, (_, i) => makeNode(`m${i}`)));
    expect(big.schedule(makePod('e'))).toMatchObject({ feasibleNodes: 500 }); // 10%
  });

  it('takes the highest priority first, then first come first served', () => {
    const s = withNodes([makeNode('a', { cpu: '1' })]);
    add(s, makePod('low', { cpu: '1', priority: 0 }), makePod('high', { cpu: '1', priority: 100 }), makePod('low2', { cpu: '1', priority: 0 }));
    const order = drain(s).map((r) => `${r.pod.metadata.name}:${r.status}`);
    expect(order).toEqual(['high:Scheduled', 'low:Unschedulable', 'low2:Unschedulable']);
  });

  it('leaves alone pods for other schedulers, finished pods and pods being deleted', () => {
    const s = withNodes([makeNode('a')]);
    add(s, makePod('other', { schedulerName: 'my-scheduler' }), makePod('done', { phase: 'Succeeded' }));
    s.onPodEvent({ type: 'ADDED', object: { ...makePod('going'), metadata: { ...makePod('going').metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } } });
    expect(s.pending()).toEqual({ active: 0, unschedulable: 0 });
  });

  it('counts pods bound elsewhere (spec.nodeName at creation) without scheduling them', () => {
    const s = withNodes([makeNode('a', { cpu: '1' })]);
    add(s, makePod('static', { cpu: '1', nodeName: 'a' }));
    expect(s.pending().active).toBe(0);
    expect(s.schedule(makePod('p', { cpu: '100m' })).status).toBe('Unschedulable');
  });

  it('forgets deleted nodes but keeps their pods accounted until they go', () => {
    const s = withNodes([makeNode('a', { cpu: '1' }), makeNode('b', { cpu: '1' })]);
    add(s, makePod('on-a', { cpu: '1', nodeName: 'a' }));
    s.onNodeEvent({ type: 'DELETED', object: makeNode('a') });
    expect(s.cache.nodes.map((n) => n.name)).toEqual(['b']);
    const r = s.schedule(makePod('p', { cpu: '1' }));
    expect(r).toMatchObject({ nodeName: 'b' });
    s.onNodeEvent({ type: 'ADDED', object: makeNode('a', { cpu: '1' }) });
    expect(s.cache.nodeInfo('a')?.requestedMilliCPU).toBe(1000);
  });
});

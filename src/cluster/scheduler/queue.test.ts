import { describe, expect, it } from 'vitest';
import { podInfo } from './pod-info.js';
import { SchedulingQueue } from './queue.js';
import { makePod } from './testing.js';

const info = (name: string, priority = 0) => podInfo(makePod(name, { priority }));

describe('SchedulingQueue', () => {
  it('pops by priority, then in arrival order', () => {
    const q = new SchedulingQueue();
    for (const [n, p] of [['a', 0], ['b', 5], ['c', 0], ['d', 5], ['e', 1]] as const) q.addOrUpdate(info(n, p));
    const out: string[] = [];
    for (let i = q.pop(); i; i = q.pop()) out.push(i.pod.metadata.name ?? '');
    expect(out).toEqual(['b', 'd', 'e', 'a', 'c']);
  });

  it('updates in place, deletes, and parks unschedulable pods until moved', () => {
    const q = new SchedulingQueue();
    q.addOrUpdate(info('a'));
    q.addOrUpdate(info('b'));
    q.addOrUpdate(info('a'));
    q.delete(podInfo(makePod('b')).key);
    expect(q.activeCount).toBe(1);
    const a = q.pop();
    expect(a?.pod.metadata.name).toBe('a');
    q.addUnschedulable(a as NonNullable<typeof a>);
    expect(q.pop()).toBeUndefined();
    expect(q.has(a?.key ?? '')).toBe(true);
    q.moveAllToActive();
    expect(q.pop()?.pod.metadata.name).toBe('a');
  });

  it('moves an unschedulable pod to active when it is updated', () => {
    const q = new SchedulingQueue();
    q.addUnschedulable(info('a'));
    q.addOrUpdate(info('a'));
    expect(q.unschedulableCount).toBe(0);
    expect(q.pop()?.pod.metadata.name).toBe('a');
  });

  it('stays compact under churn', () => {
    const q = new SchedulingQueue();
    for (let i = 0; i < 1000; i++) {
      q.addOrUpdate(info(`p${i}`, i % 3));
      q.delete(podInfo(makePod(`p${i}`)).key);
    }
    q.addOrUpdate(info('last'));
    expect(q.pop()?.pod.metadata.name).toBe('last');
    expect(q.pop()).toBeUndefined();
  });
});

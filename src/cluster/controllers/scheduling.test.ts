import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import type { Pod } from '../objects/core.js';
import { makeNode, makePod } from '../scheduler/testing.js';
import { openStore, unwrap } from '../store/index.js';
import type { Store } from '../store/store.js';
import type { CoreEvent } from './events.js';
import { SchedulingController } from './scheduling.js';

let stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops) await s();
  stops = [];
});

async function setup(): Promise<{ store: Store; clock: FakeClock; ctl: SchedulingController }> {
  const clock = new FakeClock();
  const store = await openStore({ now: () => clock.now() });
  const ctl = new SchedulingController({ store, clock });
  stops.push(async () => {
    await ctl.stop();
    await store.close();
  });
  return { store, clock, ctl };
}

const podKey = (name: string) => ({ kind: 'Pod', namespace: 'default', name });
function strip(p: Pod): Pod {
  const { uid: _u, resourceVersion: _r, creationTimestamp: _c, ...meta } = p.metadata;
  return { ...p, metadata: meta };
}

describe('SchedulingController', () => {
  it('binds pending pods, spreading one owner over equal nodes, and records Scheduled events', async () => {
    const { store, clock, ctl } = await setup();
    for (const n of ['a', 'b', 'c']) unwrap(await store.create(makeNode(n)));
    await ctl.start();
    for (let i = 0; i < 6; i++) unwrap(await store.create(strip(makePod(`p${i}`))));
    await clock.settle();
    await ctl.whenIdle();
    const pods = unwrap(store.list<Pod>('Pod')).items;
    const perNode = new Map<string, number>();
    for (const p of pods) perNode.set(p.spec?.nodeName ?? '', (perNode.get(p.spec?.nodeName ?? '') ?? 0) + 1);
    expect(Object.fromEntries(perNode)).toEqual({ a: 2, b: 2, c: 2 });
    expect(pods.every((p) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'True'))).toBe(true);
    await clock.settle();
    const events = unwrap(store.list<CoreEvent>('Event')).items;
    expect(events.filter((e) => e.reason === 'Scheduled')).toHaveLength(6);
    expect(events[0]?.message).toMatch(/^Successfully assigned default\/p\d to [abc]$/);
  });

  it('leaves an unschedulable pod waiting with a reason, and places it once a node fits', async () => {
    const { store, clock, ctl } = await setup();
    unwrap(await store.create(makeNode('small', { cpu: '1' })));
    await ctl.start();
    unwrap(await store.create(strip(makePod('big', { cpu: '2' }))));
    await clock.settle();
    await ctl.whenIdle();
    const waiting = unwrap(store.get<Pod>(podKey('big')));
    expect(waiting.spec?.nodeName).toBeUndefined();
    const cond = waiting.status?.conditions?.find((c) => c.type === 'PodScheduled');
    expect(cond).toMatchObject({ status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' });
    await clock.settle();
    expect(unwrap(store.list<CoreEvent>('Event')).items.map((e) => [e.reason, e.type])).toContainEqual(['FailedScheduling', 'Warning']);

    unwrap(await store.create(makeNode('large', { cpu: '8' })));
    await clock.settle();
    await ctl.whenIdle();
    expect(unwrap(store.get<Pod>(podKey('big'))).spec?.nodeName).toBe('large');
  });
});

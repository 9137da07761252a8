import { describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import { openStore, unwrap } from '../store/index.js';
import { Informer, WorkQueue } from './informer.js';

describe('WorkQueue', () => {
  it('processes a key added many times once, and never the same key twice at once', async () => {
    const clock = new FakeClock(0);
    const seen: string[] = [];
    let running = 0;
    let most = 0;
    const q = new WorkQueue(
      async (key) => {
        running++;
        most = Math.max(most, running);
        seen.push(key);
        await new Promise((r) => setTimeout(r, 5));
        running--;
      },
      { clock },
    );
    // Adds made in one task are processed in the next, once per key.
    for (let i = 0; i < 5; i++) q.add('a');
    q.add('b');
    expect(seen).toEqual([]);
    await q.whenIdle();
    expect(seen).toEqual(['a', 'b']);
    q.add('a');
    await new Promise((r) => setTimeout(r, 1)); // 'a' is running (5 ms)
    expect(seen).toEqual(['a', 'b', 'a']);
    q.add('a');
    q.add('a'); // while 'a' runs: once more after it, not at the same time
    await q.whenIdle();
    await q.whenIdle();
    expect(seen).toEqual(['a', 'b', 'a', 'a']);
    expect(most).toBeLessThanOrEqual(2); // 'a' and 'b' may overlap; 'a' never with itself
    q.stop();
  });

  it('rate-limits "requeue now" with back-off in cluster time instead of spinning', async () => {
    const clock = new FakeClock(0);
    let calls = 0;
    const q = new WorkQueue(() => {
      calls++;
      return { requeueAfter: 0 };
    }, { clock, baseDelayMs: 5 });
    q.add('k');
    await clock.settle();
    expect(calls).toBe(1); // no busy loop while cluster time stands still
    await clock.advance(5);
    expect(calls).toBe(2);
    await clock.advance(10);
    expect(calls).toBe(3);
    await clock.advance(19);
    expect(calls).toBe(3); // next after 20 ms
    await clock.advance(1);
    expect(calls).toBe(4);
    q.stop();
  });

  it('retries a failing reconcile with exponential back-off', async () => {
    const clock = new FakeClock(0);
    const at: number[] = [];
    const q = new WorkQueue(
      () => {
        at.push(clock.now());
        if (at.length < 4) throw new Error('transient');
      },
      { clock, baseDelayMs: 100, onError: () => {} },
    );
    q.add('k');
    await clock.advance(1000);
    expect(at).toEqual([0, 100, 300, 700]);
    q.stop();
  });
});

describe('Informer', () => {
  it('lists, then follows the watch; handlers added late see the cache as ADDED', async () => {
    const store = await openStore();
    unwrap(await store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } }));
    const inf = new Informer(store, 'ConfigMap');
    await inf.start();
    const events: string[] = [];
    inf.on((type, obj) => events.push(`${type} ${obj.metadata.name}`));
    unwrap(await store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b' } }));
    unwrap(await store.delete({ kind: 'ConfigMap', namespace: 'default', name: 'a' }));
    await new Promise((r) => setTimeout(r, 10));
    expect(events).toEqual(['ADDED a', 'ADDED b', 'DELETED a']);
    expect(inf.list().map((o) => o.metadata.name)).toEqual(['b']);
    expect(inf.get('default', 'b')?.metadata.name).toBe('b');
    await inf.stop();
    await store.close();
  });
});

// The synchronous channel across real worker threads: the client blocks in a worker
// (testing/volume-thread.ts), the server runs here (async) or in another worker (polled).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeThreads } from '../platform/node/threads.js';
import { ChannelClient, ChannelError, ChannelServer, closeChannel, createChannel, transferables } from './channel.js';
import { firstDifference } from './testing/mountfs-suite.js';
import { TestThread } from './testing/thread-harness.js';

interface CallReply {
  results: ({ ok: unknown } | { error: string; message: string })[];
  closed: boolean;
}

let worker: TestThread;
beforeAll(async () => {
  worker = await TestThread.start(nodeThreads);
});
afterAll(async () => {
  await worker.terminate();
});

describe('SyncChannel', () => {
  it('round-trips requests to an async server in this thread', async () => {
    const { client, server } = createChannel();
    const seen: unknown[] = [];
    const serving = new ChannelServer<unknown, unknown>(server).serve(async (req) => {
      seen.push(req);
      await new Promise((r) => setTimeout(r, 1));
      return { echo: req };
    });
    const bytes = new Uint8Array([1, 2, 3]);
    const r = await worker.request<CallReply>(
      { cmd: 'channel-call', end: client, requests: [1, 'two', { big: 1_700_000_000_000_000_000n, bytes }, null] },
      transferables(client),
    );
    expect(r.results).toEqual([
      { ok: { echo: 1 } },
      { ok: { echo: 'two' } },
      { ok: { echo: { big: 1_700_000_000_000_000_000n, bytes } } },
      { ok: { echo: null } },
    ]);
    expect(seen).toHaveLength(4);
    expect(r.closed).toBe(false);
    closeChannel(client);
    await serving;
  });

  for (const doorbell of [false, true]) {
    it(`carries payloads of several MiB in pieces both ways (doorbell: ${doorbell})`, async () => {
      const { client, server } = createChannel({ capacity: 64 * 1024, doorbell });
      const s = new ChannelServer<Uint8Array, Uint8Array>(server);
      const serving = s.serve((req) => {
        const out = new Uint8Array(req.length + 1000);
        for (let i = 0; i < req.length; i++) out[i] = ((req[i] as number) + 1) & 0xff;
        return out;
      });
      const big = new Uint8Array(5 * 1024 * 1024 + 3);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
      const r = await worker.request<CallReply>({ cmd: 'channel-call', end: client, requests: [big, new Uint8Array(0)] }, transferables(client));
      const first = r.results[0] as { ok: Uint8Array };
      expect(first.ok.length).toBe(big.length + 1000);
      const expected = new Uint8Array(big.length + 1000);
      for (let i = 0; i < big.length; i++) expected[i] = ((big[i] as number) + 1) & 0xff;
      expect(firstDifference(first.ok, expected)).toBe(-1);
      expect((r.results[1] as { ok: Uint8Array }).ok.length).toBe(1000);
      s.close();
      await serving;
    });
  }

  it('a handler that throws gives the client a remote error; the channel stays usable', async () => {
    const { client, server } = createChannel();
    const serving = new ChannelServer<string, string>(server).serve((req) => {
      if (req === 'boom') throw new Error('handler failed on purpose');
      return req.toUpperCase();
    });
    const r = await worker.request<CallReply>({ cmd: 'channel-call', end: client, requests: ['boom', 'ok'] }, transferables(client));
    expect(r.results).toEqual([{ error: 'remote', message: 'handler failed on purpose' }, { ok: 'OK' }]);
    closeChannel(client);
    await serving;
  });

  it('times out with an error value, then is closed, and the server ends', async () => {
    const { client, server } = createChannel();
    const serving = new ChannelServer<unknown, unknown>(server).serve(() => new Promise(() => {}));
    const t0 = performance.now();
    const r = await worker.request<CallReply>({ cmd: 'channel-call', end: client, requests: ['never', 'after'], timeoutMs: 200 }, transferables(client));
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(r.results[0]).toMatchObject({ error: 'timeout' });
    expect(r.results[1]).toMatchObject({ error: 'closed' });
    expect(r.closed).toBe(true);
    // The server is stuck in its handler (which never settles), so `serve` cannot return;
    // it sees the close as soon as it would reply.
    expect(new ChannelServer(server).closed).toBe(true);
    void serving;
  });

  it('a server that closes while the client waits: the client gets `closed` at once', async () => {
    const { client, server } = createChannel();
    const s = new ChannelServer<unknown, unknown>(server);
    const serving = s.serve(() => new Promise(() => {}));
    setTimeout(() => s.close(), 100);
    const t0 = performance.now();
    const r = await worker.request<CallReply>({ cmd: 'channel-call', end: client, requests: ['x'], timeoutMs: 20_000 }, transferables(client));
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(r.results[0]).toMatchObject({ error: 'closed' });
    void serving;
  });

  it('a reply the server sent just before closing is still read (the last call of an exec, its container exiting)', async () => {
    // The close comes a microtask after the reply, well before the client thread wakes to
    // read it: before the fix the client got `closed` nearly every time.
    for (let i = 0; i < 20; i++) {
      const { client, server } = createChannel();
      const s = new ChannelServer<string, string>(server);
      const serving = s.serve((x) => {
        queueMicrotask(() => closeChannel(server));
        return `${x}!`;
      });
      const r = await worker.request<CallReply>({ cmd: 'channel-call', end: client, requests: ['done', 'again'], timeoutMs: 20_000 }, transferables(client));
      expect(r.results).toEqual([{ ok: 'done!' }, expect.objectContaining({ error: 'closed' })]);
      await serving; // it ends: the channel is closed
    }
  });

  it('closeChannel by the owner (after terminating the server thread) unblocks the client', async () => {
    // Nobody serves this channel: its server "thread" is gone.
    const { client } = createChannel();
    setTimeout(() => closeChannel(client), 100);
    const r = await worker.request<CallReply>({ cmd: 'channel-call', end: client, requests: ['x'], timeoutMs: 20_000 }, transferables(client));
    expect(r.results[0]).toMatchObject({ error: 'closed' });
  });

  it('serves many channels (and threads) at once from one thread', async () => {
    const others = await Promise.all([TestThread.start(nodeThreads), TestThread.start(nodeThreads), TestThread.start(nodeThreads)]);
    try {
      const servings: Promise<void>[] = [];
      const replies = others.map((t, i) => {
        const { client, server } = createChannel({ capacity: 1024 });
        servings.push(new ChannelServer<number, number>(server).serve((n) => n * 10 + i));
        return t.request<CallReply>({ cmd: 'channel-call', end: client, requests: [1, 2, 3, 4, 5] }, transferables(client)).then((r) => {
          closeChannel(client);
          return r;
        });
      });
      const results = await Promise.all(replies);
      results.forEach((r, i) => expect(r.results).toEqual([1, 2, 3, 4, 5].map((n) => ({ ok: n * 10 + i }))));
      await Promise.all(servings);
    } finally {
      await Promise.all(others.map((t) => t.terminate()));
    }
  });

  it('a polled server (a busy thread) serves a blocking client, large payloads included', async () => {
    const { client, server } = createChannel({ doorbell: false, capacity: 4096 });
    const poller = await TestThread.start(nodeThreads);
    try {
      const polling = poller.request<{ served: number }>({ cmd: 'channel-poll', end: server, count: 3 });
      // This thread is the client: Atomics.wait may block Node's main thread.
      const c = new ChannelClient<unknown, { echo: unknown; by: string }>(client);
      const big = new Uint8Array(100_000).fill(9);
      const a = c.call('hello');
      const b = c.call(big);
      const d = c.call({ n: 3 });
      expect(a).toEqual({ echo: 'hello', by: 'poll' });
      expect(b).not.toBeInstanceOf(ChannelError);
      expect(firstDifference((b as { echo: Uint8Array }).echo, big)).toBe(-1);
      expect(d).toEqual({ echo: { n: 3 }, by: 'poll' });
      expect((await polling).served).toBe(3);
    } finally {
      await poller.terminate();
    }
  });

  it('measures one round trip (p50, µs)', async () => {
    for (const doorbell of [false, true]) {
      const { client, server } = createChannel({ doorbell });
      const s = new ChannelServer<unknown, unknown>(server);
      const serving = s.serve(() => ({ ok: true }));
      const r = await worker.request<{ p50: number; p99: number; failure?: string }>({ cmd: 'channel-bench', end: client, n: 5000 }, transferables(client));
      expect(r.failure).toBeUndefined();
      console.log(`channel round trip (${doorbell ? 'doorbell' : 'Atomics.waitAsync'}): p50 ${r.p50.toFixed(1)} µs, p99 ${r.p99.toFixed(1)} µs`);
      expect(r.p50).toBeLessThan(1_000);
      s.close();
      await serving;
    }
  });
});

/**
 * The conformance suite every `Threads` implementation runs (STYLE §3): spawn a thread
 * module, messages both ways (queued before the module listens, transfer moves
 * buffers), shared memory, terminate of a thread that never yields, errors.
 * `echoModule` is the URL of echo-thread.js as the platform runs it.
 */
import { describe, expect, it } from 'vitest';
import type { Thread, ThreadEvents, Threads } from '../threads.js';

interface Harness {
  thread: Thread;
  next(): Promise<unknown>;
  exited: Promise<number>;
  errors: Error[];
}

function start(threads: Threads, module: URL): Harness {
  const inbox: unknown[] = [];
  const wakers: ((m: unknown) => void)[] = [];
  const errors: Error[] = [];
  let onExit: (code: number) => void = () => {};
  const exited = new Promise<number>((r) => (onExit = r));
  const events: ThreadEvents = {
    onMessage: (m) => {
      const w = wakers.shift();
      if (w !== undefined) w(m);
      else inbox.push(m);
    },
    onError: (e) => errors.push(e),
    onExit: (code) => onExit(code),
  };
  const thread = threads.spawn(module, events);
  return {
    thread,
    exited,
    errors,
    next: () => (inbox.length > 0 ? Promise.resolve(inbox.shift()) : new Promise((r) => wakers.push(r))),
  };
}

export function threadsSuite(name: string, threads: Threads, echoModule: URL): void {
  describe(`Threads conformance: ${name}`, () => {
    it('runs the module and carries messages both ways, queued until the module listens', async () => {
      const h = start(threads, echoModule);
      h.thread.post({ hello: 1 });
      h.thread.post({ hello: 2 });
      expect(await h.next()).toEqual({ op: 'ready' });
      expect(await h.next()).toEqual({ hello: 1 });
      expect(await h.next()).toEqual({ hello: 2 });
      await h.thread.terminate();
      await h.exited;
    });

    it('transfer moves an ArrayBuffer', async () => {
      const h = start(threads, echoModule);
      await h.next();
      const buf = new Uint8Array([1, 2, 3]).buffer;
      h.thread.post({ buf }, [buf]);
      expect(buf.byteLength).toBe(0);
      const back = (await h.next()) as { buf: ArrayBuffer };
      expect([...new Uint8Array(back.buf)]).toEqual([1, 2, 3]);
      await h.thread.terminate();
    });

    it('shares memory when it says it does', async () => {
      if (!threads.sharedMemory) return;
      const h = start(threads, echoModule);
      await h.next();
      const sab = new SharedArrayBuffer(4);
      h.thread.post({ op: 'add', sab, n: 5 });
      expect(await h.next()).toEqual({ op: 'added' });
      expect(new Int32Array(sab)[0]).toBe(5);
      await h.thread.terminate();
    });

    it('terminate ends a thread that never yields, and onExit fires once', async () => {
      const h = start(threads, echoModule);
      await h.next();
      h.thread.post({ op: 'spin' });
      expect(await h.next()).toEqual({ op: 'spinning' });
      const t0 = performance.now();
      await h.thread.terminate();
      await h.exited;
      expect(performance.now() - t0).toBeLessThan(1000);
      await h.thread.terminate();
    });

    it('reports an uncaught exception in the thread, which then exits', async () => {
      const h = start(threads, echoModule);
      await h.next();
      h.thread.post({ op: 'throw' });
      await h.exited;
      expect(h.errors.map((e) => e.message)).toEqual(['thrown in the thread']);
    });
  });
}

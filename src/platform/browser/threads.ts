/**
 * `Threads` over Web Workers (module workers). A thread runs thread-main.ts, which
 * receives the thread module's URL in its first message, imports it and calls its
 * `main(port)`. Bundlers must emit thread-main.js and the thread modules as separate
 * files (they are referenced with `new URL('./x.js', import.meta.url)`).
 *
 * SharedArrayBuffer (and so `Atomics.wait` in workers) exists only on a cross-origin
 * isolated page (served with COOP `same-origin` and COEP `require-corp`); without it
 * skiff copies instead of sharing.
 */
import type { Thread, ThreadEvents, Threads } from '../threads.js';

class BrowserThread implements Thread {
  private stopped = false;
  constructor(
    private readonly worker: Worker,
    private readonly events: ThreadEvents,
  ) {}
  post(message: unknown, transfer?: readonly Transferable[]): void {
    this.worker.postMessage(message, transfer === undefined ? [] : [...transfer]);
  }
  terminate(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.worker.terminate();
      this.events.onExit(1);
    }
    return Promise.resolve();
  }
  unref(): void {}
  ref(): void {}
}

const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;

export const browserThreads: Threads = {
  sharedMemory: isolated && typeof SharedArrayBuffer === 'function',
  blockingWait: isolated,
  spawn(module: URL, events: ThreadEvents): Thread {
    const worker = new Worker(new URL('./thread-main.js', import.meta.url), { type: 'module' });
    const thread = new BrowserThread(worker, events);
    worker.onmessage = (e: MessageEvent) => events.onMessage(e.data);
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      events.onError(e.error instanceof Error ? e.error : new Error(e.message));
      void thread.terminate();
    };
    worker.postMessage({ skiffThreadModule: module.href });
    return thread;
  },
};

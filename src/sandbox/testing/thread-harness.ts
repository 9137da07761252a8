/**
 * Drives testing/volume-thread.ts in a real thread from a test: `request(cmd)` posts a
 * command with a fresh id and resolves with the reply of that id. Used by tests only.
 */
import type { Thread, Threads } from '../../platform/threads.js';
import type { Command } from './volume-thread.js';

type Body<C> = C extends { id: number } ? Omit<C, 'id'> : never;

export class TestThread {
  private nextId = 1;
  private readonly waiting = new Map<number, (reply: Record<string, unknown>) => void>();
  private ready!: () => void;
  readonly started = new Promise<void>((r) => (this.ready = r));
  private exit!: (code: number) => void;
  /** Resolves with the exit code when the thread has stopped. */
  readonly exited = new Promise<number>((r) => (this.exit = r));
  private readonly thread: Thread;

  private constructor(threads: Threads) {
    this.thread = threads.spawn(new URL('./volume-thread.js', import.meta.url), {
      onMessage: (m) => {
        const reply = m as Record<string, unknown>;
        if (reply.ready === true) return this.ready();
        const resolve = this.waiting.get(reply.id as number);
        this.waiting.delete(reply.id as number);
        resolve?.(reply);
      },
      onError: (e) => {
        for (const resolve of this.waiting.values()) resolve({ error: e.message });
        this.waiting.clear();
      },
      onExit: (code) => this.exit(code),
    });
  }

  static async start(threads: Threads): Promise<TestThread> {
    const t = new TestThread(threads);
    await t.started;
    return t;
  }

  /** Posts `cmd` and resolves with its reply. A reply with `error` rejects. */
  async request<T = Record<string, unknown>>(cmd: Body<Command>, transfer: readonly Transferable[] = []): Promise<T> {
    const id = this.nextId++;
    const reply = new Promise<Record<string, unknown>>((r) => this.waiting.set(id, r));
    this.thread.post({ ...cmd, id }, transfer);
    const r = await reply;
    if (typeof r.error === 'string' && !('results' in r)) throw new Error(`thread: ${r.error}`);
    return r as T;
  }

  /** Posts `cmd` without waiting for a reply. */
  post(cmd: Body<Command>, transfer: readonly Transferable[] = []): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const reply = new Promise<Record<string, unknown>>((r) => this.waiting.set(id, r));
    this.thread.post({ ...cmd, id }, transfer);
    return reply;
  }

  terminate(): Promise<void> {
    return this.thread.terminate();
  }
}

/**
 * Threads: the platform's worker threads (Node `worker_threads`, Web Workers), the one
 * way skiff runs code off the caller's thread (container threads, later kubelets).
 *
 * Words:
 * - A *thread module* is an ES module that exports `main(port: ThreadPort): void`. It must
 *   be runnable as it is by the platform: compiled JavaScript, not TypeScript.
 * - A `Thread` is the caller's handle on a spawned thread; a `ThreadPort` is the thread's
 *   own end of the same message channel.
 *
 * Lifecycle:
 *   1. `threads.spawn(moduleUrl, events)`: the platform starts a thread, which imports the
 *      module and calls `main(port)`. Messages the caller posts before `main` listens are
 *      queued, never lost. Spawning is asynchronous; the thread module tells the caller it
 *      is ready by a message of its own protocol (the platform adds none).
 *   2. `thread.post(message, transfer)` ↔ `port.post(...)`: structured clone; objects in
 *      `transfer` (ArrayBuffers, MessagePorts) move instead of being copied.
 *   3. `thread.terminate()` ends the thread at once, even in the middle of a computation
 *      (a spinning guest); `events.onExit` then fires once. `onError` reports an uncaught
 *      exception in the thread (which then exits).
 *
 * A spawned thread keeps its process alive (Node) until `unref()`; `ref()` undoes it. A
 * pool of idle threads unrefs them so an idle pool never keeps a program running.
 */

/** The thread's own end of the channel, given to the module's `main`. */
export interface ThreadPort {
  post(message: unknown, transfer?: readonly Transferable[]): void;
  /** Sets the one listener; messages queued before it is set are delivered to it in order. */
  onMessage(listener: (message: unknown) => void): void;
}

/** What the platform's thread entry may ask of a thread module, besides its port (`main(port, hooks)`). */
export interface ThreadHooks {
  /** Called each time the thread has finished its work and is about to sleep for more (must not block). */
  readonly idle?: () => void;
}

export interface ThreadEvents {
  onMessage(message: unknown): void;
  /** An uncaught exception in the thread (or a module that failed to load). The thread exits after it. */
  onError(error: Error): void;
  /** The thread has stopped (by `terminate`, an error, or the module returning control and closing). Fires once. */
  onExit(code: number): void;
}

export interface Thread {
  post(message: unknown, transfer?: readonly Transferable[]): void;
  /** Stops the thread at once. Resolves when it has stopped. Idempotent. */
  terminate(): Promise<void>;
  /** Let the process exit while this thread lives (Node); a no-op in browsers. */
  unref(): void;
  ref(): void;
}

export interface Threads {
  /**
   * SharedArrayBuffer exists and can be posted to threads (always in Node; in a browser
   * only when the page is cross-origin isolated). Without it skiff copies instead of sharing.
   */
  readonly sharedMemory: boolean;
  /** `Atomics.wait` may block a spawned thread (the synchronous volume channel needs it). */
  readonly blockingWait: boolean;
  /** Starts a thread running `module` (see the module comment). */
  spawn(module: URL, events: ThreadEvents): Thread;
}

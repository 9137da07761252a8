/**
 * `whenIdle` for the controllers of this folder that own one work queue: resolves once
 * the queue has nothing queued or running and the watch events already committed by the
 * store have been delivered (a few real macrotask turns with the queue still idle).
 * For tests and deterministic (FakeClock) runs; delayed keys (`addAfter`) do not count.
 */
import type { WorkQueue } from './informer.js';

export async function whenQueueIdle(queue: WorkQueue): Promise<void> {
  for (let quiet = 0; quiet < 3; ) {
    await queue.whenIdle();
    await new Promise<void>((r) => setTimeout(r, 0));
    quiet = queue.idle ? quiet + 1 : 0;
  }
}

/**
 * A thread module for the `Threads` conformance suite (threads-suite.ts): echoes every
 * message with its transfer; `{ op: 'add', sab, n }` adds n to an Int32Array over a
 * SharedArrayBuffer; `{ op: 'spin' }` computes forever; `{ op: 'throw' }` throws.
 */
import type { ThreadPort } from '../threads.js';

export function main(port: ThreadPort): void {
  port.post({ op: 'ready' });
  port.onMessage((m) => {
    const msg = m as { op?: string; sab?: SharedArrayBuffer; n?: number; buf?: ArrayBuffer };
    switch (msg.op) {
      case 'add':
        Atomics.add(new Int32Array(msg.sab as SharedArrayBuffer), 0, msg.n ?? 1);
        Atomics.notify(new Int32Array(msg.sab as SharedArrayBuffer), 0);
        port.post({ op: 'added' });
        return;
      case 'spin':
        port.post({ op: 'spinning' });
        for (;;) {
          // Never yields: only terminate ends it.
        }
      case 'throw':
        setTimeout(() => {
          throw new Error('thrown in the thread');
        });
        return;
      default:
        port.post(m, msg.buf !== undefined ? [msg.buf] : undefined);
    }
  });
}

/**
 * The progress bar of `skiff load`, drawn on stderr when stderr is a terminal:
 *
 *   Verifying [==============----------] 12.3MB/40.1MB
 *
 * It follows the image store's `LoadProgress` (a `verify` phase, then a `commit`
 * phase) and is cleared when it stops, so only the result lines remain.
 */
import { SingleBar } from 'cli-progress';
import type { LoadProgress } from '../layers/image-store.js';
import { humanSize } from './format.js';
import type { Output } from './io.js';

export interface LoadBar {
  readonly onProgress: (p: LoadProgress) => void;
  /** Clears the bar. Idempotent; call it before printing anything else. */
  stop(): void;
}

const PHASE: Record<LoadProgress['phase'], string> = { verify: 'Verifying', commit: 'Writing  ' };

/** A bar on `out`, or `undefined` when `out` is not a terminal (nothing is drawn then). */
export function loadBar(out: Output): LoadBar | undefined {
  if (!out.isTTY) return undefined;
  // cli-progress draws on a Node stream: `write`, `isTTY` and `columns` are all it uses
  // (through node:readline's cursor functions, which only write escape sequences).
  const stream = {
    isTTY: true,
    columns: out.columns,
    write(data: string, cb?: (err?: Error | null) => void): boolean {
      void out.write(data).then(() => cb?.(), cb);
      return true;
    },
  };
  const bar = new SingleBar({
    stream: stream as unknown as NodeJS.WritableStream,
    format: '{phase} [{bar}] {doneH}/{totalH}',
    barsize: 30,
    clearOnComplete: true,
    hideCursor: false,
  });
  let started = false;
  let phase: LoadProgress['phase'] | undefined;
  return {
    onProgress(p) {
      const payload = { phase: PHASE[p.phase], doneH: humanSize(p.done), totalH: humanSize(p.total) };
      if (!started) {
        bar.start(p.total, p.done, payload);
        started = true;
      } else if (p.phase !== phase) {
        bar.setTotal(p.total);
      }
      phase = p.phase;
      bar.update(p.done, payload);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

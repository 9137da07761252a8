/**
 * A container's logs: what its guest wrote to stdout and stderr, as timestamped chunks,
 * kept in a bounded ring (Docker's `json-file` driver with a size cap, in memory).
 *
 * Contracts:
 * - At most `limit` bytes of chunk data are kept, and exactly `limit` once that much was
 *   written: appending past it drops the oldest bytes (whole chunks, and the head of the
 *   oldest one kept). `dropped` counts the bytes dropped. Nothing the guest writes is ever refused or slowed: a
 *   flood only pushes older output out.
 * - Listeners see every chunk as it is appended, dropped or not, in order.
 * - A ring starts open (a created container's output is still to come). `close()` marks
 *   the end of a run's output (the container exited, or was removed); followers waiting
 *   for more then finish. A restart `reopen()`s the same ring: logs persist across
 *   restarts, as Docker's do.
 */

export type LogStream = 'stdout' | 'stderr';

export interface LogEntry {
  readonly stream: LogStream;
  /** Milliseconds since the epoch (fractional) when the thread received the write. */
  readonly time: number;
  readonly bytes: Uint8Array;
}

export const DEFAULT_LOG_LIMIT = 1024 * 1024;

export class LogRing {
  private entries: LogEntry[] = [];
  private head = 0;
  private bytes = 0;
  private droppedBytes = 0;
  private readonly listeners = new Set<(entry: LogEntry | undefined) => void>();
  private closed = false;

  constructor(readonly limit = DEFAULT_LOG_LIMIT) {}

  /** Bytes kept. */
  get size(): number {
    return this.bytes;
  }
  /** Bytes dropped from the front since the container was created. */
  get dropped(): number {
    return this.droppedBytes;
  }
  get open(): boolean {
    return !this.closed;
  }

  append(entry: LogEntry): void {
    let e = entry;
    if (e.bytes.length > this.limit) {
      this.droppedBytes += e.bytes.length - this.limit;
      e = { stream: e.stream, time: e.time, bytes: e.bytes.subarray(e.bytes.length - this.limit) };
    }
    this.entries.push(e);
    this.bytes += e.bytes.length;
    while (this.bytes > this.limit) {
      const old = this.entries[this.head] as LogEntry;
      const excess = this.bytes - this.limit;
      if (old.bytes.length > excess) {
        // Keep the oldest chunk's tail: exactly `limit` bytes stay.
        this.entries[this.head] = { stream: old.stream, time: old.time, bytes: old.bytes.subarray(excess) };
        this.bytes -= excess;
        this.droppedBytes += excess;
        break;
      }
      this.entries[this.head++] = undefined as unknown as LogEntry;
      this.bytes -= old.bytes.length;
      this.droppedBytes += old.bytes.length;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    for (const l of this.listeners) l(entry);
  }

  /** The chunks kept, oldest first (optionally one stream only). */
  list(stream?: LogStream): LogEntry[] {
    const out = this.entries.slice(this.head);
    return stream === undefined ? out : out.filter((e) => e.stream === stream);
  }

  /** The kept bytes of one stream, concatenated. */
  text(stream: LogStream): string {
    const parts = this.list(stream);
    const all = new Uint8Array(parts.reduce((n, p) => n + p.bytes.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p.bytes, at);
      at += p.bytes.length;
    }
    return new TextDecoder().decode(all);
  }

  reopen(): void {
    this.closed = false;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.listeners) l(undefined);
  }

  /** Calls `listener` with each new chunk, and with undefined at `close`. Returns the unsubscribe function. */
  subscribe(listener: (entry: LogEntry | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The kept chunks, then every new one until the run's output ends (`close`), as an
   * async iterator. Breaking out of the loop unsubscribes. When the ring is closed it
   * yields what is kept and ends.
   */
  async *follow(): AsyncGenerator<LogEntry, void, undefined> {
    const queue: (LogEntry | undefined)[] = this.list();
    let wake: (() => void) | undefined;
    if (this.closed) queue.push(undefined);
    const unsubscribe = this.closed
      ? () => {}
      : this.subscribe((e) => {
          queue.push(e);
          wake?.();
        });
    try {
      for (;;) {
        while (queue.length > 0) {
          const e = queue.shift();
          if (e === undefined) return;
          yield e;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      unsubscribe();
    }
  }
}

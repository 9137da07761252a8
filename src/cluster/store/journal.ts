/**
 * The store's durability: an append-only log of committed mutations plus snapshots, over
 * an injected `LogFiles` directory.
 *
 * Files:
 * - `log-<R>`: the records of the mutations after revision R, in revision order. A record
 *   is a frame — u32 length (LE), u32 CRC-32C of the payload, payload — whose payload is
 *   JSON `{"r":revision,"o":object}` (`"d":1` added for a removal; the object is then
 *   the last state). A whole object per record, not a diff: replay needs nothing else.
 * - `snapshot-<R>`: every object at revision R, in the same framing: a header
 *   `{"snapshot":1,"r":R,"n":count}`, one `{"o":object}` per object, a trailer
 *   `{"end":count}`. Written with `writeAtomic`.
 *   (R is zero-padded to 16 digits, so names sort by revision.)
 *
 * Group commit: `append` queues a record and returns at once; the first append of a turn
 * schedules a flush (a microtask later, so the writes issued together in one turn share
 * it). A flush writes every queued frame with one `append` and one `sync`, then reports
 * the highest revision in it as durable (`hooks.durable`), synchronously — the store
 * commits those writes and resolves their promises. Writes queued meanwhile form the
 * next batch. One writer pays one fsync per write; 64 concurrent writers share a few.
 *
 * Snapshots and rotation: after a flush, when the log holds more than
 * max(`minLogBytes`, `ratio` × the last snapshot's size) bytes, the journal (1) opens
 * `log-<R>` (R = the revision just made durable) and sends later records there, (2)
 * writes `snapshot-<R>` from the store's committed state (exactly the state at R, since
 * only durable writes are committed), (3) removes older snapshots and logs. A crash
 * between any two steps leaves a loadable set: open loads the newest snapshot and
 * replays every log in order, skipping records the snapshot already holds.
 *
 * Recovery (open): the newest snapshot, then the logs. A frame that is short or fails
 * its checksum in the last log is a torn tail — the write that was in flight when the
 * process died, never acknowledged — and the log is truncated there (its length is
 * reported as `truncatedBytes`). A bad frame anywhere else, a bad snapshot, or a gap in
 * the revisions is corruption and open throws, naming the file and offset.
 */
import type { KubeObject } from '../api/types.js';
import { crc32c } from './crc32c.js';
import type { AppendFile, LogFiles } from './log-files.js';

/** One committed mutation: the object's new state, or (deleted) its last state. */
export interface LogRecord {
  readonly revision: number;
  readonly object: KubeObject;
  readonly deleted: boolean;
}

export interface JournalHooks {
  /** Every record up to `revision` is durable. Called synchronously, in revision order. */
  durable(revision: number): void;
  /** The log failed (an I/O error): nothing more will become durable. */
  failed(error: unknown): void;
  /** The committed state, for a snapshot. Called right after `durable`, so it is the state at that revision. */
  snapshot(): { revision: number; objects: Iterable<KubeObject> };
}

export interface SnapshotPolicy {
  /** Never snapshot while the log is smaller than this (default 4 MiB). */
  readonly minLogBytes?: number;
  /** Snapshot once the log is larger than this many times the last snapshot (default 1). */
  readonly ratio?: number;
}

export interface Recovered {
  /** The revision of the snapshot loaded (0 if none): the history starts after it. */
  readonly snapshotRevision: number;
  readonly objects: readonly KubeObject[];
  /** Records after the snapshot, in revision order. */
  readonly records: readonly LogRecord[];
  /** Bytes of torn tail cut from the last log. */
  readonly truncatedBytes: number;
}

export interface JournalStats {
  syncs: number;
  records: number;
  snapshots: number;
}

const HEADER = 8;
const MAX_RECORD = 256 * 1024 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

const pad = (r: number): string => String(r).padStart(16, '0');
export const logName = (r: number): string => `log-${pad(r)}`;
export const snapshotName = (r: number): string => `snapshot-${pad(r)}`;
const LOG = /^log-(\d{16})$/;
const SNAPSHOT = /^snapshot-(\d{16})$/;

/** A frame around `payload` (JSON text). */
export function frame(json: string): Uint8Array {
  const payload = encoder.encode(json);
  const out = new Uint8Array(HEADER + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length, true);
  view.setUint32(4, crc32c(payload), true);
  out.set(payload, HEADER);
  return out;
}

/** The frames of `data`, up to the first bad one; `end` is where the good frames stop. */
export function readFrames(data: Uint8Array): { payloads: unknown[]; end: number; bad?: string } {
  const payloads: unknown[] = [];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let off = 0;
  while (off < data.length) {
    if (data.length - off < HEADER) return { payloads, end: off, bad: `a ${data.length - off}-byte fragment of a frame header` };
    const len = view.getUint32(off, true);
    const sum = view.getUint32(off + 4, true);
    if (len > MAX_RECORD || off + HEADER + len > data.length) return { payloads, end: off, bad: `a frame of ${len} bytes with ${data.length - off - HEADER} left` };
    if (crc32c(data, off + HEADER, off + HEADER + len) !== sum) return { payloads, end: off, bad: 'a checksum mismatch' };
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(data.subarray(off + HEADER, off + HEADER + len)));
    } catch {
      return { payloads, end: off, bad: 'a checksummed frame that is not JSON' };
    }
    payloads.push(value);
    off += HEADER + len;
  }
  return { payloads, end: off };
}

export function encodeRecord(r: LogRecord): Uint8Array {
  return frame(r.deleted ? `{"r":${r.revision},"d":1,"o":${JSON.stringify(r.object)}}` : `{"r":${r.revision},"o":${JSON.stringify(r.object)}}`);
}

function decodeRecord(p: unknown): LogRecord | undefined {
  if (typeof p !== 'object' || p === null) return undefined;
  const { r, d, o } = p as { r?: unknown; d?: unknown; o?: unknown };
  if (typeof r !== 'number' || !Number.isSafeInteger(r) || r < 1 || typeof o !== 'object' || o === null) return undefined;
  return { revision: r, object: o as KubeObject, deleted: d === 1 };
}

export function encodeSnapshot(revision: number, objects: Iterable<KubeObject>): Uint8Array {
  const frames: Uint8Array[] = [];
  let n = 0;
  for (const o of objects) {
    frames.push(frame(`{"o":${JSON.stringify(o)}}`));
    n++;
  }
  frames.unshift(frame(JSON.stringify({ snapshot: 1, r: revision, n })));
  frames.push(frame(JSON.stringify({ end: n })));
  return concat(frames);
}

function decodeSnapshot(name: string, data: Uint8Array): { revision: number; objects: KubeObject[] } {
  const { payloads, bad, end } = readFrames(data);
  if (bad !== undefined) throw new Error(`store log: ${name} is corrupt at byte ${end}: ${bad}`);
  const head = payloads[0] as { snapshot?: unknown; r?: unknown; n?: unknown } | undefined;
  const tail = payloads[payloads.length - 1] as { end?: unknown } | undefined;
  if (head?.snapshot !== 1 || typeof head.r !== 'number' || typeof head.n !== 'number' || tail?.end !== head.n || payloads.length !== head.n + 2) {
    throw new Error(`store log: ${name} is not a complete snapshot (header or trailer missing or wrong)`);
  }
  const objects: KubeObject[] = [];
  for (let i = 1; i <= head.n; i++) {
    const o = (payloads[i] as { o?: unknown }).o;
    if (typeof o !== 'object' || o === null) throw new Error(`store log: ${name}: record ${i} has no object`);
    objects.push(o as KubeObject);
  }
  return { revision: head.r, objects };
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** The log, open for appending. See the module comment. */
export class FileJournal {
  readonly stats: JournalStats = { syncs: 0, records: 0, snapshots: 0 };
  private hooks: JournalHooks | undefined;
  private queue: Uint8Array[] = [];
  private queuedRevision = 0;
  private durableRevision: number;
  private scheduled = false;
  private flushing: Promise<void> | undefined;
  private snapshotting: Promise<void> | undefined;
  private failure: unknown;
  private closed = false;
  private logBytes: number;
  private lastSnapshotBytes: number;
  private readonly minLogBytes: number;
  private readonly ratio: number;

  private constructor(
    private readonly files: LogFiles,
    private file: AppendFile,
    revision: number,
    logBytes: number,
    snapshotBytes: number,
    policy: SnapshotPolicy,
  ) {
    this.durableRevision = revision;
    this.queuedRevision = revision;
    this.logBytes = logBytes;
    this.lastSnapshotBytes = snapshotBytes;
    this.minLogBytes = policy.minLogBytes ?? 4 * 1024 * 1024;
    this.ratio = policy.ratio ?? 1;
  }

  /** Loads the newest snapshot and replays the logs (see the module comment), then opens the last log for appending. */
  static async open(files: LogFiles, policy: SnapshotPolicy = {}): Promise<{ journal: FileJournal; recovered: Recovered }> {
    const names = await files.list();
    const snaps = names.filter((n) => SNAPSHOT.test(n)).sort();
    const logs = names.filter((n) => LOG.test(n)).sort();
    let revision = 0;
    let objects: KubeObject[] = [];
    let snapshotBytes = 0;
    const newest = snaps[snaps.length - 1];
    if (newest !== undefined) {
      const data = await files.read(newest);
      if (data === undefined) throw new Error(`store log: ${newest} vanished while opening`);
      const snap = decodeSnapshot(newest, data);
      if (pad(snap.revision) !== newest.slice('snapshot-'.length)) throw new Error(`store log: ${newest} holds revision ${snap.revision}`);
      revision = snap.revision;
      objects = snap.objects;
      snapshotBytes = data.length;
    }
    const snapshotRevision = revision;
    const records: LogRecord[] = [];
    let truncatedBytes = 0;
    let lastSize = 0;
    for (let i = 0; i < logs.length; i++) {
      const name = logs[i] as string;
      const data = (await files.read(name)) ?? new Uint8Array(0);
      const { payloads, end, bad } = readFrames(data);
      if (bad !== undefined) {
        if (i !== logs.length - 1) throw new Error(`store log: ${name} is corrupt at byte ${end} (${bad}), and it is not the last log`);
        truncatedBytes = data.length - end;
        await files.truncate(name, end);
      }
      lastSize = end;
      for (let j = 0; j < payloads.length; j++) {
        const rec = decodeRecord(payloads[j]);
        if (rec === undefined) throw new Error(`store log: ${name}: record ${j} is not a mutation record`);
        if (rec.revision <= revision) continue;
        if (rec.revision !== revision + 1) throw new Error(`store log: ${name}: revision ${rec.revision} follows ${revision} (revisions ${revision + 1}…${rec.revision - 1} are missing)`);
        revision = rec.revision;
        records.push(rec);
      }
    }
    const active = logs[logs.length - 1] ?? logName(revision);
    const file = await files.openAppend(active);
    const journal = new FileJournal(files, file, revision, logs.length > 0 ? lastSize : 0, snapshotBytes, policy);
    return { journal, recovered: { snapshotRevision, objects, records, truncatedBytes } };
  }

  /** Connects the store; records may be appended from then on. */
  start(hooks: JournalHooks): void {
    this.hooks = hooks;
  }

  /** True while some appended record is not yet durable. */
  get pending(): boolean {
    return this.failure === undefined && this.queuedRevision > this.durableRevision;
  }

  /** Queues a record (see group commit in the module comment). Throws if the log has failed or is closed. */
  append(record: LogRecord): void {
    if (this.failure !== undefined) throw new Error('store log failed earlier; reopen the store', { cause: this.failure });
    if (this.closed) throw new Error('store log is closed');
    this.queue.push(encodeRecord(record));
    this.queuedRevision = record.revision;
    if (!this.scheduled && this.flushing === undefined) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        if (this.flushing === undefined) this.flushing = this.flushLoop();
      });
    }
  }

  /** Resolves when nothing appended is waiting (durable, or failed). */
  async flushed(): Promise<void> {
    while (this.flushing !== undefined || this.scheduled) {
      if (this.flushing !== undefined) await this.flushing;
      else await Promise.resolve();
    }
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0 && this.failure === undefined) {
        const batch = concat(this.queue);
        const records = this.queue.length;
        const revision = this.queuedRevision;
        this.queue = [];
        await this.file.append(batch);
        await this.file.sync();
        this.stats.syncs++;
        this.stats.records += records;
        this.logBytes += batch.length;
        this.durableRevision = revision;
        this.hooks?.durable(revision);
        if (this.snapshotting === undefined && this.logBytes > Math.max(this.minLogBytes, this.ratio * this.lastSnapshotBytes)) {
          await this.rotate();
        }
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.flushing = undefined;
    }
  }

  private async rotate(): Promise<void> {
    const hooks = this.hooks;
    if (hooks === undefined) return;
    const { revision, objects } = hooks.snapshot();
    const bytes = encodeSnapshot(revision, objects);
    const next = await this.files.openAppend(logName(revision));
    const old = this.file;
    this.file = next;
    this.logBytes = 0;
    await old.close();
    this.snapshotting = (async () => {
      try {
        await this.files.writeAtomic(snapshotName(revision), bytes);
        this.lastSnapshotBytes = bytes.length;
        this.stats.snapshots++;
        for (const n of await this.files.list()) {
          const m = SNAPSHOT.exec(n) ?? LOG.exec(n);
          if (m !== null && Number(m[1]) < revision) await this.files.remove(n);
        }
      } catch (e) {
        this.fail(e);
      } finally {
        this.snapshotting = undefined;
      }
    })();
  }

  private fail(e: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = e;
    this.queue = [];
    this.hooks?.failed(e);
  }

  /** Waits for queued records and any snapshot in progress, then closes the log file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flushed();
    this.closed = true;
    await this.snapshotting;
    await this.file.close();
  }
}

/**
 * The content store: immutable blobs addressed by their sha256 digest, shaped like
 * containerd's `core/content`. Three small roles, combined:
 *
 * - `Provider` reads committed blobs (`info`, `read`): what an unpacker or a `save` needs.
 * - `Ingester` writes new blobs through a `Writer`: what a load, a pull or a build needs.
 * - `Manager` lists and deletes blobs: what garbage collection needs.
 *
 * Words: a *blob* is committed content, visible to every Provider call. An *ingest* is a
 * write in progress, held by one `Writer`; it is invisible until committed and leaves
 * nothing behind when aborted or rejected.
 *
 * Lifecycle of one blob:
 *   1. `const w = await store.writer({ digest, size })` opens an ingest. `expected` is
 *      optional; each part given is checked. Writing past `size` fails at once.
 *   2. `await w.write(chunk)` any number of times; the store hashes as it goes.
 *   3. `await w.commit()` checks the size (`SizeMismatchError`) and the digest
 *      (`DigestMismatchError`) against `expected`, then makes the blob visible atomically
 *      and returns its `Info`. A rejected commit leaves nothing. Committing content that
 *      is already stored is a no-op success: equal digests mean equal content.
 *      Or `await w.abort()` discards the ingest. A writer is single-use: after commit or
 *      abort, `abort()` is a harmless no-op (use it in `finally`), `write`/`commit` throw.
 *   4. `info`, `read` and `list` see the blob until `delete` removes it.
 *
 * Concurrency: any number of writers may run at once, of the same content too; each
 * commit succeeds and the blob is stored once. Deleting a blob while another writer
 * commits the same digest may leave it deleted: callers that garbage-collect (the image
 * store) serialise their own writes and sweeps.
 *
 * `read` does not re-verify the digest (as containerd): content is checked once, on the
 * way in. The returned bytes belong to the caller to read, never to mutate.
 *
 * Implementations: `MemoryContentStore`, and `LayoutContentStore`, an OCI image-layout
 * directory (`oci-layout`, `blobs/sha256/<hex>`; ingests under `ingest/`, renamed into
 * place on commit) over an injected `Files`. Both pass `testing/content-store-suite.ts`.
 */
import { type Digest, Hasher, encodedPart, isDigest } from './digest.js';
import { DigestMismatchError, InvalidImageError, NotFoundError, SkiffError } from './errors.js';
import type { Files } from './files.js';

/** What the store knows about a committed blob. */
export interface Info {
  readonly digest: Digest;
  readonly size: number;
}

/** What a writer checks on commit. Each part is optional. */
export interface Expected {
  readonly digest?: Digest;
  readonly size?: number;
}

export interface Provider {
  /** The blob's digest and size, or `undefined` if it is not (yet) committed. */
  info(digest: Digest): Promise<Info | undefined>;
  /** The blob's bytes; `NotFoundError` if it is not committed. */
  read(digest: Digest): Promise<Uint8Array>;
}

export interface Writer {
  /** Bytes written so far. */
  readonly offset: number;
  /** Appends a chunk. `SizeMismatchError` (and the ingest is aborted) if it goes past the expected size. */
  write(chunk: Uint8Array): Promise<void>;
  /** Verifies and publishes the blob (see the lifecycle above). */
  commit(): Promise<Info>;
  /** Discards the ingest. Idempotent; a no-op after commit. */
  abort(): Promise<void>;
}

export interface Ingester {
  /** Opens an ingest. Nothing is visible to `Provider` until its writer commits. */
  writer(expected?: Expected): Promise<Writer>;
}

export interface Manager {
  /** Every committed blob, sorted by digest. */
  list(): Promise<Info[]>;
  /** Removes a blob; `false` if it was not there. */
  delete(digest: Digest): Promise<boolean>;
}

export type ContentStore = Provider & Ingester & Manager;

/**
 * Content whose size differs from its descriptor's. A `DigestMismatchError` (the content
 * does not match its descriptor), with the sizes as numbers too.
 */
export class SizeMismatchError extends DigestMismatchError {
  readonly expectedSize: number;
  readonly actualSize: number;
  constructor(what: string, expected: number, actual: number) {
    super(what, `${expected} bytes`, `${actual}${actual > expected ? ' or more' : ''} bytes`);
    this.expectedSize = expected;
    this.actualSize = actual;
  }
}

/** Writes `bytes` as one blob and commits it: the common case of the writer lifecycle. */
export async function writeBlob(store: Ingester, bytes: Uint8Array, expected?: Expected): Promise<Info> {
  const w = await store.writer(expected);
  try {
    await w.write(bytes);
    return await w.commit();
  } finally {
    await w.abort();
  }
}

/**
 * The state machine every writer shares: hashing, size checks, single use. Subclasses
 * say where chunks go and how a verified ingest is published or dropped.
 */
abstract class BaseWriter implements Writer {
  private readonly hasher = new Hasher();
  private state: 'open' | 'committing' | 'done' = 'open';

  constructor(protected readonly expected: Expected) {
    if (expected.digest !== undefined && !isDigest(expected.digest)) {
      throw new TypeError(`expected digest ${JSON.stringify(expected.digest)} is not a sha256 digest`);
    }
    if (expected.size !== undefined && !(Number.isSafeInteger(expected.size) && expected.size >= 0)) {
      throw new TypeError(`expected size ${expected.size} is not a non-negative integer`);
    }
  }

  get offset(): number {
    return this.hasher.size;
  }

  protected abstract append(chunk: Uint8Array): Promise<void>;
  /** Makes the verified content visible as `digest`, unless it already is. */
  protected abstract publish(digest: Digest, size: number): Promise<void>;
  protected abstract discard(): Promise<void>;

  async write(chunk: Uint8Array): Promise<void> {
    this.checkOpen('write');
    const size = this.hasher.size + chunk.length;
    if (this.expected.size !== undefined && size > this.expected.size) {
      const what = this.what();
      await this.abort();
      throw new SizeMismatchError(what, this.expected.size, size);
    }
    this.hasher.update(chunk);
    await this.append(chunk);
  }

  async commit(): Promise<Info> {
    this.checkOpen('commit');
    this.state = 'committing';
    try {
      const size = this.hasher.size;
      const digest = this.hasher.digest();
      if (this.expected.size !== undefined && size !== this.expected.size) {
        throw new SizeMismatchError(this.what(), this.expected.size, size);
      }
      if (this.expected.digest !== undefined && digest !== this.expected.digest) {
        throw new DigestMismatchError(`blob of ${size} bytes`, this.expected.digest, digest);
      }
      await this.publish(digest, size);
      this.state = 'done';
      return { digest, size };
    } catch (e) {
      this.state = 'done';
      await this.discard();
      throw e;
    }
  }

  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'done';
    await this.discard();
  }

  private checkOpen(op: string): void {
    if (this.state !== 'open') throw new Error(`content writer: ${op} after commit or abort`);
  }

  private what(): string {
    return this.expected.digest !== undefined ? `blob ${this.expected.digest}` : 'blob';
  }
}

/** A content store in memory. */
export class MemoryContentStore implements ContentStore {
  private readonly blobs = new Map<Digest, Uint8Array>();

  async info(digest: Digest): Promise<Info | undefined> {
    const b = this.blobs.get(digest);
    return b === undefined ? undefined : { digest, size: b.length };
  }

  async read(digest: Digest): Promise<Uint8Array> {
    const b = this.blobs.get(digest);
    if (b === undefined) throw new NotFoundError(`blob ${digest} not found`);
    return b;
  }

  async writer(expected: Expected = {}): Promise<Writer> {
    const blobs = this.blobs;
    let chunks: Uint8Array[] = [];
    return new (class extends BaseWriter {
      protected async append(chunk: Uint8Array): Promise<void> {
        chunks.push(chunk.slice());
      }
      protected async publish(digest: Digest, size: number): Promise<void> {
        if (!blobs.has(digest)) blobs.set(digest, concat(chunks, size));
        chunks = [];
      }
      protected async discard(): Promise<void> {
        chunks = [];
      }
    })(expected);
  }

  async list(): Promise<Info[]> {
    return [...this.blobs].map(([digest, b]) => ({ digest, size: b.length })).sort(byDigest);
  }

  async delete(digest: Digest): Promise<boolean> {
    return this.blobs.delete(digest);
  }
}

/** The `oci-layout` file's content, as every OCI tool writes it. */
export const OCI_LAYOUT_FILE = 'oci-layout';
export const OCI_LAYOUT_VERSION = '1.0.0';
const BLOB_DIR = 'blobs/sha256';
const INGEST_DIR = 'ingest';
const HEX64 = /^[a-f0-9]{64}$/;

let ingestCounter = 0;

/**
 * A content store that is an OCI image-layout directory (image-spec `image-layout.md`):
 * blobs at `blobs/sha256/<hex>`. Ingests are appended to `ingest/<id>` and renamed into
 * place on commit, so a blob file is always complete. The `index.json` beside it belongs
 * to the image store.
 *
 * `new LayoutContentStore(files)` reads and writes blobs without touching `oci-layout`
 * (to read a layout someone else owns); `LayoutContentStore.open(files)` also checks the
 * `oci-layout` file, writing it if the directory is new.
 */
export class LayoutContentStore implements ContentStore {
  constructor(readonly files: Files) {}

  /** Opens (creating if needed) a layout directory. `InvalidImageError`/UNSUPPORTED for a foreign `oci-layout`. */
  static async open(files: Files): Promise<LayoutContentStore> {
    const existing = await files.readFile(OCI_LAYOUT_FILE);
    if (existing === undefined) {
      await files.writeFile(OCI_LAYOUT_FILE, new TextEncoder().encode(`{"imageLayoutVersion":"${OCI_LAYOUT_VERSION}"}`));
    } else {
      checkLayoutFile(existing, OCI_LAYOUT_FILE);
    }
    return new LayoutContentStore(files);
  }

  async info(digest: Digest): Promise<Info | undefined> {
    const size = await this.files.size(blobPath(digest));
    return size === undefined ? undefined : { digest, size };
  }

  async read(digest: Digest): Promise<Uint8Array> {
    const b = await this.files.readFile(blobPath(digest));
    if (b === undefined) throw new NotFoundError(`blob ${digest} not found`);
    return b;
  }

  async writer(expected: Expected = {}): Promise<Writer> {
    const files = this.files;
    const ingest = `${INGEST_DIR}/${Date.now().toString(36)}-${(ingestCounter++).toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    const w = new (class extends BaseWriter {
      protected async append(chunk: Uint8Array): Promise<void> {
        await files.appendFile(ingest, chunk);
      }
      protected async publish(digest: Digest, size: number): Promise<void> {
        const path = blobPath(digest);
        if ((await files.size(path)) === size) await files.remove(ingest);
        else await files.rename(ingest, path);
      }
      protected async discard(): Promise<void> {
        await files.remove(ingest);
      }
    })(expected);
    await files.appendFile(ingest, new Uint8Array(0));
    return w;
  }

  async list(): Promise<Info[]> {
    const out: Info[] = [];
    for (const name of await this.files.list(BLOB_DIR)) {
      if (!HEX64.test(name)) continue;
      const size = await this.files.size(`${BLOB_DIR}/${name}`);
      if (size !== undefined) out.push({ digest: `sha256:${name}`, size });
    }
    return out.sort(byDigest);
  }

  async delete(digest: Digest): Promise<boolean> {
    return this.files.remove(blobPath(digest));
  }
}

/** Checks an `oci-layout` file's content: JSON with `imageLayoutVersion` "1.0.0". */
export function checkLayoutFile(bytes: Uint8Array, source: string): void {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new InvalidImageError(source, `not valid JSON (${(e as Error).message})`);
  }
  const version = (doc as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
  if (typeof version !== 'string') throw new InvalidImageError(source, 'imageLayoutVersion is missing or not a string');
  if (version !== OCI_LAYOUT_VERSION) {
    throw new SkiffError('UNSUPPORTED', `${source}: imageLayoutVersion ${JSON.stringify(version)} is not supported (want "${OCI_LAYOUT_VERSION}")`);
  }
}

/** Where a blob lives in an OCI layout. */
export function blobPath(digest: Digest): string {
  if (!isDigest(digest)) throw new TypeError(`${JSON.stringify(digest)} is not a sha256 digest`);
  return `${BLOB_DIR}/${encodedPart(digest)}`;
}

function byDigest(a: Info, b: Info): number {
  return a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1 && (chunks[0] as Uint8Array).length === size) return chunks[0] as Uint8Array;
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/**
 * Content digests as the OCI image spec writes them: `algorithm:encoded`. skiff computes
 * and stores sha256 only; other algorithms are recognised and refused with a typed error.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { SkiffError } from './errors.js';

export type Digest = `sha256:${string}`;

const SHA256_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && SHA256_RE.test(value);
}

/** Validates a digest string; throws a typed error naming `what` if it is not `sha256:<64 hex>`. */
export function parseDigest(value: unknown, what = 'digest'): Digest {
  if (isDigest(value)) return value;
  if (typeof value === 'string' && !value.startsWith('sha256:') && /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(value)) {
    throw new SkiffError('UNSUPPORTED', `${what} ${JSON.stringify(value)}: only sha256 digests are supported`);
  }
  throw new SkiffError('INVALID_IMAGE', `${what} ${JSON.stringify(value)} is not a valid digest (want sha256:<64 hex digits>)`);
}

export function digestOf(bytes: Uint8Array): Digest {
  return `sha256:${bytesToHex(sha256(bytes))}`;
}

/** Incremental sha256 for streamed content. */
export class Hasher {
  private readonly h = sha256.create();
  private n = 0;
  update(chunk: Uint8Array): void {
    this.h.update(chunk);
    this.n += chunk.length;
  }
  get size(): number {
    return this.n;
  }
  digest(): Digest {
    return `sha256:${bytesToHex(this.h.digest())}`;
  }
}

/** The hex part of a digest, as used for blob file names (`blobs/sha256/<hex>`). */
export function encodedPart(d: Digest): string {
  return d.slice('sha256:'.length);
}

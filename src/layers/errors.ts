/**
 * Typed errors of the layers package. Each message names the input and what is wrong
 * with it; `code` is a small closed set a caller can branch on.
 *
 * Expected outcomes of filesystem calls are *not* errors: the overlay returns errno
 * values (see `errno.ts`). These classes are for bad input (a corrupt layer, a
 * malformed manifest, a digest mismatch) and for lookups of things that do not exist.
 */
export type ErrorCode =
  | 'INVALID_LAYER' // a layer tar is malformed or unsafe
  | 'INVALID_IMAGE' // a manifest, index, config or layout is malformed
  | 'DIGEST_MISMATCH' // content does not match its descriptor
  | 'NOT_FOUND' // no such blob, image or reference
  | 'LIMIT_EXCEEDED' // a configured cap (decompressed bytes, entries, depth) was hit
  | 'UNSUPPORTED' // valid per spec but not supported here (a media type, a platform)
  | 'CONFLICT'; // the operation conflicts with current state (image in use, ref exists)

export class SkiffError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A layer tar that cannot be imported safely. `layer` names the layer (digest or file), `entry` the tar entry. */
export class InvalidLayerError extends SkiffError {
  readonly layer: string;
  readonly entry: string | undefined;
  constructor(layer: string, entry: string | undefined, reason: string, code: ErrorCode = 'INVALID_LAYER') {
    super(code, `layer ${layer}${entry !== undefined ? `, entry ${JSON.stringify(entry)}` : ''}: ${reason}`);
    this.layer = layer;
    this.entry = entry;
  }
}

/** An image document (index, manifest, config, layout file, docker manifest.json) that is malformed. */
export class InvalidImageError extends SkiffError {
  readonly source: string;
  constructor(source: string, reason: string) {
    super('INVALID_IMAGE', `${source}: ${reason}`);
    this.source = source;
  }
}

export class DigestMismatchError extends SkiffError {
  readonly expected: string;
  readonly actual: string;
  constructor(what: string, expected: string, actual: string) {
    super('DIGEST_MISMATCH', `${what}: expected ${expected}, got ${actual}`);
    this.expected = expected;
    this.actual = actual;
  }
}

export class NotFoundError extends SkiffError {
  constructor(what: string) {
    super('NOT_FOUND', what);
  }
}

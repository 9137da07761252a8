/**
 * Docker-style image references (distribution/reference's grammar):
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path-component { "/" path-component }
 *
 * `parseReference` normalises as `docker` does: `web` → `docker.io/library/web:latest`,
 * `team/web:v2` → `docker.io/team/web:v2`, `localhost:5000/team/web:1` keeps its domain
 * (a first component is a domain if it has a `.` or `:`, is `localhost`, or has an
 * upper-case letter), `web@sha256:…` is pinned by digest and gets no default tag.
 * `formatReference` gives the full form (what the image store keys on) and
 * `familiarReference` the short one without `docker.io/library/` (what users see).
 * Invalid input throws `InvalidReferenceError` naming it.
 */
import { type Digest, parseDigest } from './digest.js';
import { SkiffError } from './errors.js';

export interface Reference {
  /** Registry host[:port], `docker.io` by default. */
  readonly domain: string;
  /** Repository path in the registry, e.g. `library/web`. */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

/** A string that is not a valid image reference (code INVALID_IMAGE). */
export class InvalidReferenceError extends SkiffError {
  readonly input: string;
  constructor(input: string, reason: string) {
    super('INVALID_IMAGE', `invalid image reference ${JSON.stringify(input)}: ${reason}`);
    this.input = input;
  }
}

export const DEFAULT_DOMAIN = 'docker.io';
export const DEFAULT_TAG = 'latest';
const LEGACY_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
const NAME_MAX = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const HEX64 = /^[a-f0-9]{64}$/;

/** Parses and normalises a reference. Adds the `latest` tag when there is neither tag nor digest. */
export function parseReference(input: string): Reference {
  const fail = (reason: string): never => {
    throw new InvalidReferenceError(input, reason);
  };
  if (input === '') fail('it is empty');
  if (HEX64.test(input)) fail('a 64-digit hex string is an image ID, not a name (use sha256:<hex> to refer to a digest)');

  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    const d = rest.slice(at + 1);
    try {
      digest = parseDigest(d, 'digest');
    } catch (e) {
      // digest.ts calls any malformed `alg:x` unsupported; a short sha256 is just invalid
      if ((e as SkiffError).code === 'UNSUPPORTED' && !d.startsWith('sha256:')) throw new SkiffError('UNSUPPORTED', `image reference ${JSON.stringify(input)}: ${(e as Error).message}`);
      fail(`${JSON.stringify(d)} is not a valid digest (want sha256:<64 hex digits>)`);
    }
    rest = rest.slice(0, at);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) fail(`tag ${JSON.stringify(tag)} is invalid (want letters, digits, "_", "." or "-", not starting with "." or "-", at most 128)`);
  }
  if (rest === '') fail('the repository name is missing');

  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash !== -1) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (!DOMAIN.test(domain)) fail(`registry ${JSON.stringify(domain)} is not a valid host[:port]`);
  if (domain === LEGACY_DOMAIN) domain = DEFAULT_DOMAIN;
  if (path !== path.toLowerCase()) fail('the repository name must be lowercase');
  for (const c of path.split('/')) {
    if (!PATH_COMPONENT.test(c)) {
      fail(
        c === ''
          ? 'the repository name has an empty path component'
          : `path component ${JSON.stringify(c)} is invalid (want lowercase letters and digits, separated by ".", "_", "__" or "-")`,
      );
    }
  }
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_PREFIX + path;
  if (domain.length + 1 + path.length > NAME_MAX) fail(`the repository name is longer than ${NAME_MAX} characters`);
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;

  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** `docker.io/library/web:latest`: the full, normalised form. */
export function formatReference(ref: Reference): string {
  return `${ref.domain}/${ref.path}${suffix(ref)}`;
}

/** `web:latest`, `team/web:v2`, `localhost:5000/web:1`: the form `docker` shows. */
export function familiarReference(ref: Reference): string {
  return `${familiarName(ref)}${suffix(ref)}`;
}

/** The repository without tag or digest, in familiar form (`web`, `localhost:5000/web`). */
export function familiarName(ref: Reference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return `${ref.domain}/${ref.path}`;
  const rest = ref.path.slice(OFFICIAL_PREFIX.length);
  return ref.path.startsWith(OFFICIAL_PREFIX) && !rest.includes('/') ? rest : ref.path;
}

/** Parses, then formats: the full form of any accepted input. */
export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}

function suffix(ref: Reference): string {
  return `${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

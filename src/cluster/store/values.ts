/**
 * Objects in the store are plain JSON data, deep-frozen, and shared: what `get`, `list`
 * and `watch` hand out is the stored value itself, never a copy (reads cost nothing, and
 * a reader cannot change what another reader sees). On the way in, a value is copied and
 * frozen once (`freezeCopy`), which also checks that it is JSON: plain objects, arrays,
 * strings, finite numbers, booleans and null. `undefined` properties are dropped (as
 * JSON.stringify drops them); anything else (a function, a Date, a Map, a class instance,
 * NaN, a cycle) is refused with the path of the offending field.
 *
 * Structural sharing: every object this module froze carries a non-enumerable symbol
 * mark (invisible to JSON, Object.keys, spread, structuredClone and msgpackr, so it never
 * leaves the process), and a marked subtree is reused as is instead of being copied again.
 * (A WeakSet did the same at four times the cost per write: its add is ~0.8 µs.) So
 * `{ ...stored, status: next }` costs a copy of `status` and nothing else — the common
 * shape of a controller's write.
 *
 * Why freeze-and-share instead of copy-in-and-out: bench/cluster/store.bench.ts measures
 * both (`value handling`); reads dominate in a cluster (informers, list, watch fan-out to
 * 100 watchers), and a frozen value is also safe to hand to msgpackr for a thread hop.
 */

export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

const MARK: unique symbol = Symbol('skiff.frozen');

function mark<T extends object>(o: T): T {
  Object.defineProperty(o, MARK, { value: true });
  return Object.freeze(o);
}

function marked(v: object): boolean {
  return (v as { [MARK]?: boolean })[MARK] === true;
}
const MAX_DEPTH = 100;

/** Why a value is not plain JSON data: where (a field path like `spec.containers[0].env`) and what. */
export interface NotJson {
  readonly path: string;
  readonly reason: string;
}

class NotJsonError {
  constructor(
    readonly segments: (string | number)[],
    readonly reason: string,
  ) {}
}

/**
 * A deep-frozen copy of `value` (or `value` itself where it is already a frozen value of
 * this module), or why it is not plain JSON data. `base` prefixes the reported path.
 */
export function freezeCopy<T>(value: T, base = ''): { ok: true; value: T } | { ok: false; error: NotJson } {
  const stack: (string | number)[] = [];
  try {
    return { ok: true, value: copy(value, stack, 0) as T };
  } catch (e) {
    if (!(e instanceof NotJsonError)) throw e;
    return { ok: false, error: { path: fieldPath(base, e.segments), reason: e.reason } };
  }
}

function copy(v: unknown, stack: (string | number)[], depth: number): unknown {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      if (!Number.isFinite(v)) throw new NotJsonError([...stack], `${String(v)} is not a JSON number`);
      return v;
    case 'object': {
      if (v === null) return null;
      if (marked(v)) return v;
      if (depth >= MAX_DEPTH) throw new NotJsonError([...stack], `nested more than ${MAX_DEPTH} levels deep (or cyclic)`);
      if (Array.isArray(v)) {
        const out = new Array<unknown>(v.length);
        for (let i = 0; i < v.length; i++) {
          stack.push(i);
          const item: unknown = v[i];
          if (item === undefined) throw new NotJsonError([...stack], 'undefined is not a JSON value');
          out[i] = copy(item, stack, depth + 1);
          stack.pop();
        }
        return mark(out);
      }
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        const name = (v as { constructor?: { name?: string } }).constructor?.name ?? 'object';
        throw new NotJsonError([...stack], `a ${name} is not plain JSON data (use plain objects, arrays, strings, numbers, booleans, null)`);
      }
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v)) {
        const item = (v as Record<string, unknown>)[k];
        if (item === undefined) continue;
        stack.push(k);
        out[k] = copy(item, stack, depth + 1);
        stack.pop();
      }
      return mark(out);
    }
    default:
      throw new NotJsonError([...stack], `a ${typeof v} is not a JSON value`);
  }
}

/**
 * Freezes freshly parsed JSON (JSON.parse output: plain data, no cycles) in place and
 * marks it as this module's, without copying. For values read back from the log.
 */
export function adoptParsed<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !marked(value)) {
    for (const k of Object.keys(value)) adoptParsed((value as Record<string, unknown>)[k]);
    mark(value);
  }
  return value;
}

/** True if `v` is a value frozen by this module (safe to share). */
export function isFrozenValue(v: unknown): boolean {
  return typeof v === 'object' && v !== null && marked(v);
}

/** Deep equality of JSON values (identical references short-circuit, so shared subtrees are free). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  if (ak.length !== bk.length) return false;
  for (const k of ak) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/**
 * JSON merge patch (RFC 7386): objects merge key by key, `null` removes a key, anything
 * else (arrays included) replaces. Returns a new value sharing unchanged subtrees with
 * `target`; neither argument is modified.
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const k of Object.keys(patch)) {
    const p = patch[k];
    if (p === null) delete out[k];
    else if (p !== undefined) out[k] = mergePatch(out[k], p);
  }
  return out;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `spec.containers[0].name` from a base and segments. */
export function fieldPath(base: string, segments: readonly (string | number)[]): string {
  let out = base;
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

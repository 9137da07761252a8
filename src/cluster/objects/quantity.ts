/**
 * Kubernetes resource quantities (`100m`, `500Mi`, `1.5`, `2e3`, `1Gi`) and int-or-string
 * values (`maxSurge: 25%` or `1`), as apimachinery's `resource.Quantity` and
 * `intstr.IntOrString` read them.
 *
 * A quantity is `<signedNumber><suffix>`: a binary suffix (Ki Mi Gi Ti Pi Ei), a decimal
 * suffix (n u m "" k M G T P E) or a decimal exponent (e3, E-2). In JSON it may also be a
 * plain number. Kubernetes rounds up when it reads a quantity as an integer (`Value()`,
 * `MilliValue()`); so do `quantityValue` and `quantityMilliValue`, with integer
 * arithmetic so that `100m` is exactly 100 millicores.
 */

/** A quantity as it appears in a manifest: `"500Mi"`, `"0.5"`, or a JSON number. */
export type Quantity = string | number;

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei)|[eE]([+-]?\d+)|(n|u|m|k|M|G|T|P|E))?$/;
const DECIMAL_EXP: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_EXP: Readonly<Record<string, number>> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };

/** The message Kubernetes gives for a malformed quantity (apimachinery `ErrFormatWrong`). */
export const QUANTITY_FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

export function isQuantity(q: unknown): q is Quantity {
  if (typeof q === 'number') return Number.isFinite(q);
  return typeof q === 'string' && QUANTITY.test(q);
}

/**
 * The quantity scaled by 10^`scale` and rounded up (away from zero), or undefined when
 * it is not a quantity. `scale` 0 is Kubernetes' `Value()`, 3 its `MilliValue()`.
 * Values past 2^53 lose precision (far beyond any node's memory in bytes).
 */
function scaled(q: Quantity, scale: number): number | undefined {
  const s = typeof q === 'number' ? (Number.isFinite(q) ? numberToString(q) : '') : q;
  const m = QUANTITY.exec(s);
  if (!m) return undefined;
  const [, sign, num = '', binary, exponent, decimal] = m;
  const dot = num.indexOf('.');
  const digits = dot < 0 ? num : num.slice(0, dot) + num.slice(dot + 1);
  let exp10 = (dot < 0 ? 0 : -(num.length - dot - 1)) + scale;
  if (exponent !== undefined) exp10 += Number(exponent);
  if (decimal !== undefined) exp10 += DECIMAL_EXP[decimal] ?? 0;
  let mantissa = Number(digits.replace(/^0+(?=\d)/, '') || '0');
  if (binary !== undefined) mantissa *= 2 ** (10 * (BINARY_EXP[binary] ?? 0));
  let v: number;
  if (exp10 >= 0) v = mantissa * 10 ** exp10;
  else {
    const div = 10 ** -exp10;
    // Both operands are exact integers below 2^53, so the quotient is correctly rounded
    // and an exact integer result stays exact; ceil is then Kubernetes' round-up.
    v = Math.ceil(mantissa / div);
  }
  return sign === '-' ? -v : v;
}

function numberToString(n: number): string {
  // JSON numbers: 1e21 and up print with an exponent, which the grammar accepts.
  return String(n).replace('e+', 'e');
}

/**
 * Parsed quantities by string, per scale: manifests repeat a few (`100m`, `500Mi`) over
 * thousands of pods, and the scheduler reads every pod's. Bounded: cleared when full.
 */
const parsed = [new Map<string, number | undefined>(), new Map<string, number | undefined>()];
const PARSED_MAX = 4096;

function cachedScaled(q: Quantity, scale: 0 | 3): number | undefined {
  if (typeof q !== 'string') return scaled(q, scale);
  const cache = parsed[scale === 0 ? 0 : 1] as Map<string, number | undefined>;
  let v = cache.get(q);
  if (v === undefined && !cache.has(q)) {
    v = scaled(q, scale);
    if (cache.size >= PARSED_MAX) cache.clear();
    cache.set(q, v);
  }
  return v;
}

/** `Value()`: the quantity in whole units, rounded up (`1.5` → 2, `1Gi` → 1073741824). */
export function quantityValue(q: Quantity): number | undefined {
  return cachedScaled(q, 0);
}

/** `MilliValue()`: the quantity in thousandths, rounded up (`100m` → 100, `2` → 2000). */
export function quantityMilliValue(q: Quantity): number | undefined {
  return cachedScaled(q, 3);
}

/** A resource list (`requests`, `limits`, `capacity`, `allocatable`): name → quantity. */
export type ResourceList = Readonly<Record<string, Quantity>>;

/** An int-or-string (`intstr.IntOrString`): a port number or name, a count or a percentage. */
export type IntOrString = number | string;

const PERCENT = /^(\d+)%$/;

/** Whether `v` is an integer or a string of the form `N%`. */
export function isIntOrPercent(v: IntOrString): boolean {
  return typeof v === 'number' ? Number.isInteger(v) : PERCENT.test(v);
}

/**
 * `intstr.GetScaledValueFromIntOrPercent`: an integer as is; `N%` of `total`, rounded up
 * or down. Undefined for a string that is not a percentage.
 */
export function scaledValueFromIntOrPercent(v: IntOrString, total: number, roundUp: boolean): number | undefined {
  if (typeof v === 'number') return v;
  const m = PERCENT.exec(v);
  if (!m) return undefined;
  const n = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(n) : Math.floor(n);
}

/**
 * Field-level validation errors as apimachinery reports them (`util/validation/field`):
 * a type, the field path (`spec.template.spec.containers[0].image`) and a message whose
 * text is Kubernetes' own, e.g. `spec.replicas: Invalid value: -1: must be greater than
 * or equal to 0`. An unknown field reads as the API server's strict decoding reports it:
 * `unknown field "spec.containers[0].imagePullPolcy"`.
 */

export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueNotFound'
  | 'FieldValueUnknown';

export interface FieldError {
  readonly type: FieldErrorType;
  /** The path, in Kubernetes' notation: `spec.containers[0].ports[1].containerPort`, `data[key]`. */
  readonly field: string;
  readonly badValue?: unknown;
  readonly detail?: string;
  /** The whole line, as `kubectl apply` prints it. */
  readonly message: string;
}

const TITLES: Readonly<Record<FieldErrorType, string>> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueNotFound: 'Not found',
  FieldValueUnknown: 'Unknown field',
};

/** Go's rendering of a bad value in a field error (`%q` for strings, `%v` for numbers, `%#v` for maps). */
export function renderValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')) {
    const entries = Object.entries(v as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[string]string{${entries.map(([k, x]) => `${JSON.stringify(k)}:${JSON.stringify(x)}`).join(', ')}}`;
  }
  return JSON.stringify(v);
}

function make(type: FieldErrorType, field: string, withValue: boolean, badValue: unknown, detail: string | undefined): FieldError {
  let body = TITLES[type];
  if (withValue) body += `: ${renderValue(badValue)}`;
  if (detail) body += `: ${detail}`;
  const message = type === 'FieldValueUnknown' ? `unknown field ${JSON.stringify(field)}` : `${field}: ${body}`;
  return { type, field, ...(withValue ? { badValue } : {}), ...(detail ? { detail } : {}), message };
}

export const fieldErrors = {
  required: (field: string, detail?: string): FieldError => make('FieldValueRequired', field, false, undefined, detail),
  invalid: (field: string, value: unknown, detail?: string): FieldError => make('FieldValueInvalid', field, true, value, detail),
  notSupported: (field: string, value: unknown, supported: readonly string[]): FieldError =>
    make('FieldValueNotSupported', field, true, value, supported.length ? `supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}` : undefined),
  duplicate: (field: string, value: unknown): FieldError => make('FieldValueDuplicate', field, true, value, undefined),
  forbidden: (field: string, detail: string): FieldError => make('FieldValueForbidden', field, false, undefined, detail),
  tooLong: (field: string, detail: string): FieldError => make('FieldValueTooLong', field, false, undefined, detail),
  tooMany: (field: string, count: number, max: number): FieldError => make('FieldValueTooMany', field, true, count, `must have at most ${max} items`),
  notFound: (field: string, value: unknown): FieldError => make('FieldValueNotFound', field, true, value, undefined),
  unknown: (field: string): FieldError => make('FieldValueUnknown', field, false, undefined, undefined),
};

/** `a.b`, `a[0]`, `a[key]`: Kubernetes' field.Path notation. */
export const path = {
  child: (parent: string, name: string): string => (parent === '' ? name : `${parent}.${name}`),
  index: (parent: string, i: number): string => `${parent}[${i}]`,
  key: (parent: string, k: string): string => `${parent}[${k}]`,
};

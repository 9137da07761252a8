/**
 * Label and field selectors, parsed and matched by Kubernetes' rules
 * (k8s.io/apimachinery pkg/labels/selector.go and pkg/fields/selector.go).
 *
 * Label selectors, string form — requirements separated by commas, all must hold:
 *
 *   app=web          app==web       the label exists and equals
 *   tier!=db                        the label is absent or differs
 *   env in (a,b)                    the label exists and is one of
 *   env notin (a,b)                 the label is absent or is none of
 *   release          !canary        the label exists / is absent
 *   replicas>2       replicas<5     the label exists and is an integer greater / less
 *
 * Identifiers are everything up to whitespace or one of `=!(),<>`; `in` and `notin` are
 * operators after a key and plain values inside parentheses. Keys must be qualified
 * names (`[prefix/]name`, name ≤ 63 characters) and values label values (≤ 63, may be
 * empty), as Kubernetes validates them. The empty string selects everything.
 *
 * Field selectors: `key=value`, `key==value`, `key!=value`, comma-separated; `\`
 * escapes `,`, `=`, `!` and `\` in values. An absent field reads as the empty string, so
 * `spec.nodeName=` selects the pods not yet bound to a node (the scheduler's query).
 * Which field labels a kind supports is the store's business (see `FieldLabels`).
 *
 * A malformed selector is an expected outcome: `parse…` returns a BadRequest `ApiError`
 * whose message quotes the selector and says what was found and what was expected.
 */
import { ApiError, type LabelSelector } from '../api/types.js';

export type LabelOperator = 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

/** One requirement; `=`/`==` parse to `in` with one value and `!=` to `notin` with one value. */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** Sorted and de-duplicated; empty for exists and `!`; one integer for gt and lt. */
  readonly values: readonly string[];
}

/** A parsed label selector: requirements, ANDed. `nothing` selects no object at all. */
export interface LabelSelectorRequirements {
  readonly requirements: readonly LabelRequirement[];
  readonly nothing?: boolean;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ApiError };

const everything: LabelSelectorRequirements = Object.freeze({ requirements: Object.freeze([]) });
const nothing: LabelSelectorRequirements = Object.freeze({ requirements: Object.freeze([]), nothing: true });

/** Selects every object (the empty selector). */
export function selectEverything(): LabelSelectorRequirements {
  return everything;
}

// ---------------------------------------------------------------------------------------
// Lexer

type Token =
  | { t: 'id'; v: string }
  | { t: 'in' | 'notin' | '(' | ')' | ',' | '!' | '=' | '==' | '!=' | '>' | '<' | 'end'; v: string }
  | { t: 'error'; v: string };

const SPECIAL = new Set(['=', '!', '(', ')', ',', '>', '<']);
const SYMBOLS = new Set(['=', '==', '!', '!=', '(', ')', ',', '>', '<']);
const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';

function lex(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  for (;;) {
    while (i < s.length && isSpace(s[i] as string)) i++;
    if (i >= s.length) {
      out.push({ t: 'end', v: '' });
      return out;
    }
    const c = s[i] as string;
    if (SPECIAL.has(c)) {
      // Longest symbol: `!=`, `==`, else one character.
      const two = s.slice(i, i + 2);
      if (two === '!=' || two === '==') {
        out.push({ t: two, v: two });
        i += 2;
      } else if (SYMBOLS.has(c)) {
        out.push({ t: c as '=', v: c });
        i += 1;
      } else {
        out.push({ t: 'error', v: c });
        return out;
      }
      continue;
    }
    let j = i;
    while (j < s.length && !SPECIAL.has(s[j] as string) && !isSpace(s[j] as string)) j++;
    const word = s.slice(i, j);
    i = j;
    if (word === 'in' || word === 'notin') out.push({ t: word, v: word });
    else out.push({ t: 'id', v: word });
  }
}

// ---------------------------------------------------------------------------------------
// Parser

class SelectorSyntaxError {
  constructor(readonly message: string) {}
}

/** Parses the string form of a label selector (see the module comment). */
export function parseLabelSelector(selector: string): ParseResult<LabelSelectorRequirements> {
  const tokens = lex(selector);
  let pos = 0;
  const peek = (values = false): Token => {
    const tok = tokens[pos] as Token;
    return values && (tok.t === 'in' || tok.t === 'notin') ? { t: 'id', v: tok.v } : tok;
  };
  const next = (values = false): Token => {
    const tok = peek(values);
    pos++;
    return tok;
  };
  const shown = (tok: Token): string => (tok.t === 'end' ? 'the end' : `'${tok.v}'`);
  const fail = (msg: string): never => {
    throw new SelectorSyntaxError(msg);
  };

  const requirement = (): LabelRequirement => {
    let tok = next(true);
    let negated = false;
    if (tok.t === '!') {
      negated = true;
      tok = next(true);
    }
    if (tok.t !== 'id') return fail(`found ${shown(tok)}, expected: a label key`);
    const key = tok.v;
    const keyProblem = qualifiedNameProblem(key);
    if (keyProblem !== undefined) fail(`invalid label key "${key}": ${keyProblem}`);
    const after = peek(true);
    if (after.t === ',' || after.t === 'end') return { key, operator: negated ? '!' : 'exists', values: [] };
    if (negated) return fail(`found ${shown(after)} after "!${key}", expected: ',' or the end ("!key" takes no operator)`);
    const op = next();
    switch (op.t) {
      case '=':
      case '==':
      case '!=': {
        const v = peek(true);
        let value = '';
        if (v.t === 'id') {
          value = v.v;
          pos++;
        } else if (v.t !== ',' && v.t !== 'end') return fail(`found ${shown(v)} after "${key}${op.v}", expected: a value`);
        checkValue(value);
        return { key, operator: op.t === '!=' ? 'notin' : 'in', values: [value] };
      }
      case 'in':
      case 'notin': {
        const open = next(true);
        if (open.t !== '(') return fail(`found ${shown(open)} after "${key} ${op.v}", expected: '('`);
        const values = new Set<string>();
        // Kubernetes accepts empty members ("(a,,b)", "(,)") as the empty value.
        let expectValue = true;
        for (;;) {
          const t = next(true);
          if (t.t === ')') {
            // "(a,)" and "()" end with an empty member, as in Kubernetes.
            if (expectValue) values.add('');
            break;
          }
          if (t.t === ',') {
            if (expectValue) values.add('');
            expectValue = true;
            continue;
          }
          if (t.t === 'id' && expectValue) {
            checkValue(t.v);
            values.add(t.v);
            expectValue = false;
            continue;
          }
          return fail(`found ${shown(t)} in the values of "${key} ${op.v}", expected: a value, ',' or ')'`);
        }
        return { key, operator: op.t, values: [...values].sort() };
      }
      case '>':
      case '<': {
        const v = next(true);
        if (v.t !== 'id' || !/^-?\d+$/.test(v.v)) return fail(`found ${shown(v)} after "${key}${op.v}", expected: an integer`);
        return { key, operator: op.t === '>' ? 'gt' : 'lt', values: [v.v] };
      }
      default:
        return fail(`found ${shown(op)} after "${key}", expected: '=', '==', '!=', 'in', 'notin', '>', '<', ',' or the end`);
    }
  };

  try {
    const reqs: LabelRequirement[] = [];
    if (peek().t === 'end') return { ok: true, value: everything };
    for (;;) {
      reqs.push(requirement());
      const sep = next();
      if (sep.t === 'end') break;
      if (sep.t !== ',') fail(`found ${shown(sep)}, expected: ',' or the end`);
      if (peek(true).t === 'end') fail(`found the end after ',', expected: a requirement`);
    }
    reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { ok: true, value: { requirements: reqs } };
  } catch (e) {
    if (!(e instanceof SelectorSyntaxError)) throw e;
    return { ok: false, error: new ApiError('BadRequest', `invalid label selector ${JSON.stringify(selector)}: ${e.message}`) };
  }
}

function checkValue(v: string): void {
  const problem = labelValueProblem(v);
  if (problem !== undefined) throw new SelectorSyntaxError(`invalid label value "${v}": ${problem}`);
}

/**
 * A metav1.LabelSelector (`{matchLabels, matchExpressions}`) as requirements. `undefined`
 * selects nothing and `{}` everything, as in Kubernetes (`LabelSelectorAsSelector`).
 * `field` names where the selector sits, for the error (e.g. `spec.selector`).
 */
export function labelSelectorRequirements(sel: LabelSelector | undefined, field = 'selector'): ParseResult<LabelSelectorRequirements> {
  if (sel === undefined || sel === null) return { ok: true, value: nothing };
  const reqs: LabelRequirement[] = [];
  const bad = (f: string, msg: string): ParseResult<LabelSelectorRequirements> => ({ ok: false, error: new ApiError('Invalid', `${f}: ${msg}`, f) });
  for (const [key, value] of Object.entries(sel.matchLabels ?? {})) {
    const f = `${field}.matchLabels[${JSON.stringify(key)}]`;
    const kp = qualifiedNameProblem(key);
    if (kp !== undefined) return bad(f, `invalid label key: ${kp}`);
    const vp = labelValueProblem(value);
    if (vp !== undefined) return bad(f, `invalid label value ${JSON.stringify(value)}: ${vp}`);
    reqs.push({ key, operator: 'in', values: [value] });
  }
  const exprs = sel.matchExpressions ?? [];
  for (let i = 0; i < exprs.length; i++) {
    const e = exprs[i] as (typeof exprs)[number];
    const f = `${field}.matchExpressions[${i}]`;
    const kp = qualifiedNameProblem(e.key);
    if (kp !== undefined) return bad(`${f}.key`, `invalid label key ${JSON.stringify(e.key)}: ${kp}`);
    const values = [...new Set(e.values ?? [])].sort();
    for (const v of values) {
      const vp = labelValueProblem(v);
      if (vp !== undefined) return bad(`${f}.values`, `invalid label value ${JSON.stringify(v)}: ${vp}`);
    }
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) return bad(`${f}.values`, `must be non-empty when operator is ${e.operator}`);
        reqs.push({ key: e.key, operator: e.operator === 'In' ? 'in' : 'notin', values });
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) return bad(`${f}.values`, `must be empty when operator is ${e.operator}`);
        reqs.push({ key: e.key, operator: e.operator === 'Exists' ? 'exists' : '!', values: [] });
        break;
      default:
        return bad(`${f}.operator`, `unsupported operator ${JSON.stringify(e.operator)}: want In, NotIn, Exists or DoesNotExist`);
    }
  }
  return { ok: true, value: { requirements: reqs } };
}

/** True if `labels` satisfy every requirement. */
export function matchesLabels(sel: LabelSelectorRequirements, labels: Readonly<Record<string, string>> | undefined): boolean {
  if (sel.nothing === true) return false;
  for (const r of sel.requirements) {
    const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
    const value = has ? (labels as Record<string, string>)[r.key] : undefined;
    switch (r.operator) {
      case 'in':
        if (!has || !r.values.includes(value as string)) return false;
        break;
      case 'notin':
        if (has && r.values.includes(value as string)) return false;
        break;
      case 'exists':
        if (!has) return false;
        break;
      case '!':
        if (has) return false;
        break;
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(value as string)) return false;
        const a = Number(value);
        const b = Number(r.values[0]);
        if (r.operator === 'gt' ? !(a > b) : !(a < b)) return false;
        break;
      }
    }
  }
  return true;
}

/** The canonical string form (sorted by key), e.g. `app=web,env in (a,b),!canary`. */
export function formatLabelSelector(sel: LabelSelectorRequirements): string {
  return sel.requirements
    .map((r) => {
      switch (r.operator) {
        case 'in':
          return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values.join(',')})`;
        case 'notin':
          return r.values.length === 1 ? `${r.key}!=${r.values[0]}` : `${r.key} notin (${r.values.join(',')})`;
        case 'exists':
          return r.key;
        case '!':
          return `!${r.key}`;
        case 'gt':
          return `${r.key}>${r.values[0]}`;
        case 'lt':
          return `${r.key}<${r.values[0]}`;
      }
      return '';
    })
    .join(',');
}

// ---------------------------------------------------------------------------------------
// Field selectors

export interface FieldRequirement {
  readonly field: string;
  readonly operator: '=' | '!=';
  readonly value: string;
}

/** Parses a field selector (see the module comment); the empty string selects everything. */
export function parseFieldSelector(selector: string): ParseResult<readonly FieldRequirement[]> {
  const out: FieldRequirement[] = [];
  if (selector.trim() === '') return { ok: true, value: out };
  const bad = (msg: string): ParseResult<readonly FieldRequirement[]> => ({
    ok: false,
    error: new ApiError('BadRequest', `invalid field selector ${JSON.stringify(selector)}: ${msg}`),
  });
  for (const term of splitUnescaped(selector, ',')) {
    // The operator is the first unescaped `!=`, `==` or `=`.
    let i = 0;
    let op: '=' | '==' | '!=' | undefined;
    for (; i < term.length; i++) {
      const c = term[i];
      if (c === '\\') {
        i++;
        continue;
      }
      if (c === '!' && term[i + 1] === '=') op = '!=';
      else if (c === '=' && term[i + 1] === '=') op = '==';
      else if (c === '=') op = '=';
      if (op !== undefined) break;
    }
    if (op === undefined) return bad(`${JSON.stringify(term)} has no operator, expected: field=value, field==value or field!=value`);
    const field = term.slice(0, i).trim();
    if (field === '') return bad(`${JSON.stringify(term)} has no field name before ${op}`);
    const raw = term.slice(i + op.length);
    const value = unescapeFieldValue(raw);
    if (value === undefined) return bad(`${JSON.stringify(raw)}: a '\\' must be followed by ',', '=', '!' or '\\'`);
    out.push({ field, operator: op === '!=' ? '!=' : '=', value });
  }
  return { ok: true, value: out };
}

function splitUnescaped(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + (s[i + 1] as string);
      i++;
    } else if (c === sep) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

function unescapeFieldValue(s: string): string | undefined {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '\\') {
      const n = s[i + 1];
      if (n !== ',' && n !== '=' && n !== '!' && n !== '\\') return undefined;
      out += n;
      i++;
    } else out += c;
  }
  return out;
}

/** The value of a field label on an object: a dotted path, absent → '', numbers and booleans as text. */
export function fieldValue(obj: unknown, field: string): string {
  let cur: unknown = obj;
  for (const part of field.split('.')) {
    if (typeof cur !== 'object' || cur === null) return '';
    cur = (cur as Record<string, unknown>)[part];
  }
  if (typeof cur === 'string') return cur;
  if (typeof cur === 'number' || typeof cur === 'boolean') return String(cur);
  return '';
}

export function matchesFields(reqs: readonly FieldRequirement[], obj: unknown): boolean {
  for (const r of reqs) {
    const v = fieldValue(obj, r.field);
    if (r.operator === '=' ? v !== r.value : v === r.value) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Kubernetes name rules (apimachinery validation), shared with the store's validation.

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Why `s` is not a qualified name (`[prefix/]name`, a label key or a finalizer), or undefined. */
export function qualifiedNameProblem(s: string): string | undefined {
  const parts = s.split('/');
  let name = s;
  if (parts.length === 2) {
    const prefix = parts[0] as string;
    name = parts[1] as string;
    if (prefix === '') return 'the prefix before "/" must not be empty';
    const p = dns1123SubdomainProblem(prefix);
    if (p !== undefined) return `prefix ${JSON.stringify(prefix)}: ${p}`;
  } else if (parts.length > 2) {
    return 'a qualified name has at most one "/" (prefix/name)';
  }
  if (name === '') return 'the name part must not be empty';
  if (name.length > 63) return 'the name part must be no more than 63 characters';
  if (!QUALIFIED_NAME.test(name)) {
    return "the name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', 'my.name' or '123-abc')";
  }
  return undefined;
}

/** Why `s` is not a label value (≤ 63 characters, may be empty), or undefined. */
export function labelValueProblem(s: string): string | undefined {
  if (s === '') return undefined;
  if (s.length > 63) return 'must be no more than 63 characters';
  if (!QUALIFIED_NAME.test(s)) {
    return "a label value must be empty or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

/** Why `s` is not a lowercase RFC 1123 subdomain (most object names), or undefined. */
export function dns1123SubdomainProblem(s: string): string | undefined {
  if (s.length > 253) return 'must be no more than 253 characters';
  if (!DNS1123_SUBDOMAIN.test(s)) {
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')";
  }
  return undefined;
}

/** Why `s` is not a lowercase RFC 1123 label (namespace names), or undefined. */
export function dns1123LabelProblem(s: string): string | undefined {
  if (s.length > 63) return 'must be no more than 63 characters';
  if (!DNS1123_LABEL.test(s)) {
    return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name' or '123-abc')";
  }
  return undefined;
}

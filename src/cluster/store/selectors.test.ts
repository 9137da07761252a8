import { describe, expect, it } from 'vitest';
import {
  fieldValue,
  formatLabelSelector,
  labelSelectorRequirements,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.js';

const parse = (s: string) => {
  const r = parseLabelSelector(s);
  if (!r.ok) throw r.error;
  return r.value;
};
const matches = (sel: string, labels?: Record<string, string>): boolean => matchesLabels(parse(sel), labels);

describe('label selectors', () => {
  it('parses to the canonical form, sorted by key', () => {
    expect(formatLabelSelector(parse('tier!=db, app = web,env in (b,a,b),!canary,release,n>2,m<-1'))).toBe('app=web,!canary,env in (a,b),m<-1,n>2,release,tier!=db');
    expect(formatLabelSelector(parse('x notin (a)'))).toBe('x!=a');
    expect(parse('')).toEqual({ requirements: [] });
    expect(parse('   ')).toEqual({ requirements: [] });
  });

  it('follows Kubernetes on the corner cases', () => {
    // "in" and "notin" are values inside parentheses and keys before an operator.
    expect(parse('in in (in,notin)').requirements).toEqual([{ key: 'in', operator: 'in', values: ['in', 'notin'] }]);
    // Empty members are the empty value.
    expect(parse('x in ()').requirements[0]?.values).toEqual(['']);
    expect(parse('x in (a,)').requirements[0]?.values).toEqual(['', 'a']);
    expect(parse('x in (,a)').requirements[0]?.values).toEqual(['', 'a']);
    expect(parse('x=').requirements[0]).toEqual({ key: 'x', operator: 'in', values: [''] });
    expect(parse('example.com/app=web').requirements[0]?.key).toBe('example.com/app');
  });

  it('matches as Kubernetes does: != and notin match an absent label', () => {
    expect(matches('app=web', { app: 'web' })).toBe(true);
    expect(matches('app=web', {})).toBe(false);
    expect(matches('app!=web', {})).toBe(true);
    expect(matches('app!=web', undefined)).toBe(true);
    expect(matches('app notin (a,b)', { app: 'c' })).toBe(true);
    expect(matches('app notin (a,b)', { app: 'a' })).toBe(false);
    expect(matches('app in (a,b)', {})).toBe(false);
    expect(matches('x=', { x: '' })).toBe(true);
    expect(matches('!app', { app: '' })).toBe(false);
    expect(matches('n>2', { n: '3' })).toBe(true);
    expect(matches('n>2', { n: 'three' })).toBe(false);
    expect(matches('n<2', {})).toBe(false);
    expect(matches('', undefined)).toBe(true);
  });

  it('reports what it found and what it expected, quoting the selector', () => {
    const cases: [string, RegExp][] = [
      ['app in (a', /found the end in the values of "app in", expected: a value, ',' or '\)'/],
      ['app in a', /found 'a' after "app in", expected: '\('/],
      ['app=web,', /found the end after ',', expected: a requirement/],
      ['!app=web', /"!key" takes no operator/],
      ['app x', /found 'x' after "app", expected: '='/],
      ['a/b/c=1', /invalid label key "a\/b\/c"/],
      ['-app=1', /invalid label key "-app"/],
      ['app=web!', /found '!'/],
      ['app=' + 'x'.repeat(64), /no more than 63 characters/],
      ['n>x', /expected: an integer/],
      ['app=a b', /found 'b', expected: ',' or the end/],
    ];
    for (const [sel, msg] of cases) {
      const r = parseLabelSelector(sel);
      expect(r.ok, sel).toBe(false);
      if (!r.ok) {
        expect(r.error.reason).toBe('BadRequest');
        expect(r.error.message).toContain(`invalid label selector ${JSON.stringify(sel)}`);
        expect(r.error.message).toMatch(msg);
      }
    }
  });

  it('converts a metav1.LabelSelector: {} selects everything, undefined nothing', () => {
    const sel = labelSelectorRequirements({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }, { key: 'canary', operator: 'DoesNotExist' }] }, 'spec.selector');
    if (!sel.ok) throw sel.error;
    expect(formatLabelSelector(sel.value)).toBe('app=web,tier!=db,!canary');
    expect(matchesLabels(sel.value, { app: 'web', tier: 'fe' })).toBe(true);
    const all = labelSelectorRequirements({});
    const none = labelSelectorRequirements(undefined);
    expect(all.ok && matchesLabels(all.value, {})).toBe(true);
    expect(none.ok && matchesLabels(none.value, { app: 'web' })).toBe(false);
    const bad = labelSelectorRequirements({ matchExpressions: [{ key: 'x', operator: 'In', values: [] }] }, 'spec.selector');
    expect(bad.ok || [bad.error.reason, bad.error.field]).toEqual(['Invalid', 'spec.selector.matchExpressions[0].values']);
    const op = labelSelectorRequirements({ matchExpressions: [{ key: 'x', operator: 'Gt' as 'In', values: ['1'] }] });
    expect(op.ok || op.error.message).toMatch(/unsupported operator "Gt"/);
  });
});

describe('field selectors', () => {
  it('parses =, ==, != with escapes', () => {
    const r = parseFieldSelector('spec.nodeName=n1,metadata.name!=a\\,b,x==c\\=d\\\\');
    expect(r.ok && r.value).toEqual([
      { field: 'spec.nodeName', operator: '=', value: 'n1' },
      { field: 'metadata.name', operator: '!=', value: 'a,b' },
      { field: 'x', operator: '=', value: 'c=d\\' },
    ]);
    expect(parseFieldSelector('').ok).toBe(true);
    const bad = parseFieldSelector('spec.nodeName');
    expect(bad.ok || bad.error.message).toMatch(/invalid field selector "spec.nodeName": .* no operator/);
    const esc = parseFieldSelector('a=b\\c');
    expect(esc.ok || esc.error.message).toMatch(/must be followed by/);
  });

  it('reads an absent field as "" and scalars as text', () => {
    const obj = { spec: { nodeName: 'n1', unschedulable: true, replicas: 3 }, metadata: { name: 'x' } };
    expect(fieldValue(obj, 'spec.nodeName')).toBe('n1');
    expect(fieldValue(obj, 'spec.unschedulable')).toBe('true');
    expect(fieldValue(obj, 'spec.replicas')).toBe('3');
    expect(fieldValue(obj, 'status.phase')).toBe('');
    const unbound = parseFieldSelector('spec.nodeName=');
    expect(unbound.ok && matchesFields(unbound.value, { spec: {} })).toBe(true);
    expect(unbound.ok && matchesFields(unbound.value, obj)).toBe(false);
  });
});

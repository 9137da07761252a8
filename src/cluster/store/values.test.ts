import { describe, expect, it } from 'vitest';
import { adoptParsed, freezeCopy, isFrozenValue, jsonEqual, mergePatch } from './values.js';

describe('freezeCopy', () => {
  it('copies and deep-freezes plain JSON, dropping undefined properties', () => {
    const input = { a: 1, b: [{ c: 'x' }, null, true], d: undefined };
    const r = freezeCopy(input);
    if (!r.ok) throw new Error(r.error.reason);
    expect(r.value).toEqual({ a: 1, b: [{ c: 'x' }, null, true] });
    expect('d' in r.value).toBe(false);
    expect(r.value).not.toBe(input);
    expect(Object.isFrozen(r.value.b[0])).toBe(true);
    expect(isFrozenValue(r.value.b)).toBe(true);
  });

  it('shares subtrees it froze before instead of copying them', () => {
    const first = freezeCopy({ spec: { big: [1, 2, 3] }, status: { n: 1 } });
    if (!first.ok) throw new Error();
    const next = freezeCopy({ ...first.value, status: { n: 2 } });
    if (!next.ok) throw new Error();
    expect(next.value.spec).toBe(first.value.spec);
    expect(next.value.status).not.toBe(first.value.status);
  });

  it('refuses what is not JSON, with the path', () => {
    const cases: [unknown, string, RegExp][] = [
      [{ spec: { at: new Date() } }, 'spec.at', /Date is not plain JSON/],
      [{ spec: { list: [1, undefined] } }, 'spec.list[1]', /undefined/],
      [{ spec: { f: () => 1 } }, 'spec.f', /function/],
      [{ metadata: { labels: { 'a.b/c': Number.POSITIVE_INFINITY } } }, 'metadata.labels["a.b/c"]', /Infinity/],
      [{ m: new Map() }, 'm', /Map/],
      [{ n: 1n }, 'n', /bigint/],
    ];
    for (const [v, path, reason] of cases) {
      const r = freezeCopy(v);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.path).toBe(path);
        expect(r.error.reason).toMatch(reason);
      }
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const r = freezeCopy(cyclic);
    expect(r.ok || r.error.reason).toMatch(/cyclic/);
  });

  it('adopts parsed JSON in place', () => {
    const v = adoptParsed(JSON.parse('{"a":{"b":[1]}}') as { a: { b: number[] } });
    expect(Object.isFrozen(v.a.b)).toBe(true);
    const again = freezeCopy({ x: v.a });
    expect(again.ok && again.value.x).toBe(v.a);
  });
});

describe('mergePatch (RFC 7386)', () => {
  // The examples of RFC 7386 appendix A.
  const cases: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  it('passes the RFC examples', () => {
    for (const [target, patch, result] of cases) expect(mergePatch(target, patch)).toEqual(result);
  });
});

describe('jsonEqual', () => {
  it('compares JSON values structurally', () => {
    expect(jsonEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(jsonEqual({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual([1], { 0: 1 })).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { parseDuration, parseSize } from './units.js';

describe('units', () => {
  it('sizes', () => {
    expect(parseSize('64m')).toBe(64 * 1024 * 1024);
    expect(parseSize('64MiB')).toBe(64 * 1024 * 1024);
    expect(parseSize('512k')).toBe(512 * 1024);
    expect(parseSize('1.5g')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('100')).toBe(100);
    expect(parseSize(7)).toBe(7);
    expect(() => parseSize('64x')).toThrow(/invalid size "64x"/);
  });
  it('durations', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2s')).toBe(2000);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(parseDuration('30')).toBe(30_000);
    expect(parseDuration(250)).toBe(250);
    expect(() => parseDuration('soon')).toThrow(/invalid duration/);
  });
});

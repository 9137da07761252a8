import { describe, expect, it } from 'vitest';
import { Mailbox } from './mailbox.js';

const V = 7;

describe('Mailbox', () => {
  it('a letter is taken once, decoded, and empties the slot', () => {
    const box = Mailbox.create(1024);
    expect(box.put({ v: V, type: 'start', run: 1, argv: ['a', 'ü'] })).toBe(true);
    expect(box.take('test', V)).toEqual({ kind: 'message', message: { v: V, type: 'start', run: 1, argv: ['a', 'ü'] } });
    // Empty now: a second take would block; a new letter is taken instead.
    expect(box.put({ v: V, type: 'start', run: 2 })).toBe(true);
    expect(box.take('test', V)).toMatchObject({ message: { run: 2 } });
  });

  it('a message too large for the slot is refused whole (it must be posted)', () => {
    const box = Mailbox.create(64);
    expect(box.put({ v: V, blob: 'x'.repeat(100) })).toBe(false);
    expect(box.put({ v: V, small: 1 })).toBe(true);
    expect(box.take('test', V)).toEqual({ kind: 'message', message: { v: V, small: 1 } });
  });

  it('ring counts posted messages and leaves a port letter', () => {
    const box = Mailbox.create(64);
    expect(box.posted()).toBe(0);
    box.ring();
    box.ring();
    expect(box.posted()).toBe(2);
    expect(box.take('test', V)).toEqual({ kind: 'port' });
  });

  it('refuses a letter of another protocol version', () => {
    const box = Mailbox.create(64);
    box.put({ v: V + 1 });
    expect(() => box.take('test', V)).toThrow(/test: version 8, expected 7/);
  });
});

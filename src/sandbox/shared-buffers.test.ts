import { describe, expect, it } from 'vitest';
import { createChannel } from './channel.js';
import { Mailbox } from './mailbox.js';
import { Arena } from './net/arena.js';
import { OutputRing } from './output.js';

describe('the shared memory of threads and runs (layers/shared-memory.ts)', () => {
  // Growable with a maximum of their length: V8 maps them and the OS zeroes each page at
  // first touch. A plain SharedArrayBuffer is calloc'ed, which memsets it all once glibc's
  // mmap threshold has risen: 16 MiB and about 9 ms of CPU per run for a network arena.
  it.each([
    ['a network arena', () => Arena.create({ ports: [80], slots: 256, ringBytes: 32 * 1024, backlog: 128 }).buffer],
    ['an output ring', () => OutputRing.create().buffer],
    ['a mailbox', () => Mailbox.create().buffer],
    ['a channel', () => createChannel({ capacity: 64 * 1024 }).client.buffer],
  ])('%s is committed as it is touched', (_what, make) => {
    const buffer = make() as SharedArrayBuffer & { growable: boolean; maxByteLength: number };
    expect(buffer.growable).toBe(true);
    expect(buffer.maxByteLength).toBe(buffer.byteLength);
  });
});

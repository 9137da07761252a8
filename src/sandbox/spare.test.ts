import { describe, expect, it } from 'vitest';
import { counterModule, printModule } from '../../test/helpers/wasm.js';
import { SpareInstance } from './spare.js';

/** fd_write that records the one byte written (iovec 0 at address 0) and says 1 byte was written. */
function recorder(memory: () => WebAssembly.Memory): { written: string[]; imports: Record<string, Record<string, unknown>> } {
  const written: string[] = [];
  const fd_write = (_fd: number, iovs: number, _n: number, nwritten: number): number => {
    const view = new DataView(memory().buffer);
    const ptr = view.getUint32(iovs, true);
    written.push(String.fromCharCode(new Uint8Array(memory().buffer)[ptr] ?? 0));
    view.setUint32(nwritten, 1, true);
    return 0;
  };
  return { written, imports: { wasi_snapshot_preview1: { fd_write } } };
}

describe('SpareInstance', () => {
  it('is pristine until taken, then its imports call the taker\'s', () => {
    const module = new WebAssembly.Module(counterModule());
    const spare = SpareInstance.make('k', module, undefined);
    expect(spare).toBeDefined();
    const held: { memory?: WebAssembly.Memory } = {};
    const r = recorder(() => held.memory as WebAssembly.Memory);
    const taken = spare?.take(r.imports);
    expect(taken).toBeDefined();
    held.memory = taken?.instance.exports.memory as WebAssembly.Memory;
    (taken?.instance.exports._start as () => void)();
    // "1": nothing ran before (a used instance would say "2").
    expect(r.written).toEqual(['1']);
  });

  it('is not made for a module whose start function calls an import (it would run with no target)', () => {
    const module = new WebAssembly.Module(counterModule({ startFunction: true }));
    expect(SpareInstance.make('k', module, undefined)).toBeUndefined();
  });

  it('is refused when the taker lacks one of its imports (the usual instantiation reports it)', () => {
    const spare = SpareInstance.make('k', new WebAssembly.Module(counterModule()), undefined);
    expect(spare?.take({ wasi_snapshot_preview1: {} })).toBeUndefined();
  });

  it('makes the imported memory with the run\'s limits', () => {
    const module = new WebAssembly.Module(printModule('hi', { importMemory: true, maxPages: 4 }));
    const spare = SpareInstance.make('k', module, { module: 'env', name: 'memory', initial: 1, maximum: 2 });
    const memory = spare?.take(recorder(() => new WebAssembly.Memory({ initial: 1 })).imports)?.memory;
    expect(memory?.buffer.byteLength).toBe(65536);
    expect(memory?.grow(1)).toBe(1);
    expect(() => memory?.grow(1)).toThrow(RangeError);
  });
});

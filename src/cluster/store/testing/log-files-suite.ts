/**
 * The conformance suite of `LogFiles` (log-files.ts), run by `MemoryLogFiles` and
 * `NodeLogFiles`: the behaviour the journal relies on, short of crashing (the crash test,
 * test/store-crash.test.ts, covers durability on a real disk).
 */
import { describe, expect, it } from 'vitest';
import type { LogFiles } from '../log-files.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

export function logFilesSuite(name: string, make: () => LogFiles | Promise<LogFiles>): void {
  describe(`LogFiles conformance: ${name}`, () => {
    it('lists nothing and reads undefined before anything is written', async () => {
      const f = await make();
      expect(await f.list()).toEqual([]);
      expect(await f.read('log-1')).toBeUndefined();
      expect(await f.remove('log-1')).toBe(false);
    });

    it('appends, syncs, and reopens at the end', async () => {
      const f = await make();
      const a = await f.openAppend('log-1');
      await a.append(enc('one,'));
      await a.append(enc('two,'));
      await a.sync();
      await a.close();
      const b = await f.openAppend('log-1');
      await b.append(enc('three'));
      await b.sync();
      await b.close();
      expect(dec(await f.read('log-1'))).toBe('one,two,three');
      const empty = await f.openAppend('log-2');
      await empty.close();
      expect(await f.list()).toEqual(['log-1', 'log-2']);
      expect(await f.read('log-2')).toEqual(new Uint8Array(0));
    });

    it('writes atomically, replacing, and shows no temporary files', async () => {
      const f = await make();
      await f.writeAtomic('snapshot-1', enc('first'));
      await f.writeAtomic('snapshot-1', enc('second'));
      expect(dec(await f.read('snapshot-1'))).toBe('second');
      expect(await f.list()).toEqual(['snapshot-1']);
    });

    it('truncates and removes', async () => {
      const f = await make();
      const a = await f.openAppend('log-1');
      await a.append(enc('0123456789'));
      await a.sync();
      await a.close();
      await f.truncate('log-1', 4);
      expect(dec(await f.read('log-1'))).toBe('0123');
      const b = await f.openAppend('log-1');
      await b.append(enc('ab'));
      await b.sync();
      await b.close();
      expect(dec(await f.read('log-1'))).toBe('0123ab');
      expect(await f.remove('log-1')).toBe(true);
      expect(await f.list()).toEqual([]);
    });

    it('refuses names that are paths', async () => {
      const f = await make();
      for (const bad of ['', '.', '..', 'a/b', 'a\\b']) {
        await expect(f.read(bad)).rejects.toBeInstanceOf(TypeError);
        await expect(f.openAppend(bad)).rejects.toBeInstanceOf(TypeError);
      }
    });
  });
}

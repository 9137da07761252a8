/**
 * The conformance suites every `ContentStore` and every `Files` implementation runs
 * (STYLE §3). A test file calls `contentStoreSuite('memory', () => new MemoryContentStore())`
 * at top level; the suite registers its own `describe` block.
 *
 * `contentStoreSuite` checks the lifecycle documented in content-store.ts; `filesSuite`
 * checks the contracts of files.ts that `LayoutContentStore` and the image store rely on.
 */
import { describe, expect, it } from 'vitest';
import { type ContentStore, SizeMismatchError, writeBlob } from '../content-store.js';
import { type Digest, digestOf } from '../digest.js';
import { DigestMismatchError, NotFoundError } from '../errors.js';
import type { Files } from '../files.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * @param make a fresh, empty store per test
 * @param ingests optional: lists the store's ingest leftovers (temp files), which must
 *   be empty whenever no writer is open
 */
export function contentStoreSuite<S extends ContentStore>(
  name: string,
  make: () => S | Promise<S>,
  ingests?: (store: S) => Promise<readonly string[]>,
): void {
  describe(`ContentStore conformance: ${name}`, () => {
    const leftovers = async (s: S): Promise<readonly string[]> => (ingests ? ingests(s) : []);

    it('writes in chunks, commits, then reads the blob back', async () => {
      const s = await make();
      const data = enc('hello, content store');
      const w = await s.writer({ digest: digestOf(data), size: data.length });
      await w.write(data.subarray(0, 5));
      await w.write(data.subarray(5));
      expect(w.offset).toBe(data.length);
      const info = await w.commit();
      expect(info).toEqual({ digest: digestOf(data), size: data.length });
      expect(await s.info(info.digest)).toEqual(info);
      expect(await s.read(info.digest)).toEqual(data);
      expect(await leftovers(s)).toEqual([]);
    });

    it('commits without expectations and with an empty blob', async () => {
      const s = await make();
      const a = await writeBlob(s, enc('no expectations'));
      expect(a.digest).toBe(digestOf(enc('no expectations')));
      const e = await writeBlob(s, new Uint8Array(0), { size: 0 });
      expect(e).toEqual({ digest: digestOf(new Uint8Array(0)), size: 0 });
      expect(await s.read(e.digest)).toEqual(new Uint8Array(0));
    });

    it('keeps an ingest invisible until it is committed', async () => {
      const s = await make();
      const data = enc('not yet');
      const d = digestOf(data);
      const w = await s.writer({ digest: d });
      await w.write(data);
      expect(await s.info(d)).toBeUndefined();
      await expect(s.read(d)).rejects.toBeInstanceOf(NotFoundError);
      expect(await s.list()).toEqual([]);
      await w.commit();
      expect(await s.info(d)).toEqual({ digest: d, size: data.length });
    });

    it('abort leaves nothing, is idempotent, and closes the writer', async () => {
      const s = await make();
      const w = await s.writer();
      await w.write(enc('discard me'));
      await w.abort();
      await w.abort();
      expect(await s.list()).toEqual([]);
      expect(await s.info(digestOf(enc('discard me')))).toBeUndefined();
      expect(await leftovers(s)).toEqual([]);
      await expect(w.write(enc('x'))).rejects.toThrow(/after commit or abort/);
      await expect(w.commit()).rejects.toThrow(/after commit or abort/);
    });

    it('rejects a digest mismatch on commit and leaves nothing', async () => {
      const s = await make();
      const wrong = digestOf(enc('something else'));
      const w = await s.writer({ digest: wrong });
      await w.write(enc('actual content'));
      const err = await w.commit().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DigestMismatchError);
      expect((err as DigestMismatchError).expected).toBe(wrong);
      expect((err as DigestMismatchError).actual).toBe(digestOf(enc('actual content')));
      expect(await s.list()).toEqual([]);
      expect(await leftovers(s)).toEqual([]);
      await w.abort();
    });

    it('rejects a short write on commit and a long one on write, leaving nothing', async () => {
      const s = await make();
      const data = enc('twelve bytes');
      const short = await s.writer({ size: 20 });
      await short.write(data);
      const e1 = await short.commit().catch((e: unknown) => e);
      expect(e1).toBeInstanceOf(SizeMismatchError);
      expect(e1).toMatchObject({ code: 'DIGEST_MISMATCH', expectedSize: 20, actualSize: 12 });
      expect(e1).toBeInstanceOf(DigestMismatchError);

      const long = await s.writer({ digest: digestOf(data), size: 4 });
      const e2 = await long.write(data).catch((e: unknown) => e);
      expect(e2).toBeInstanceOf(SizeMismatchError);
      await long.abort();
      expect(await s.list()).toEqual([]);
      expect(await leftovers(s)).toEqual([]);
    });

    it('re-committing existing content is a no-op success, but still verified', async () => {
      const s = await make();
      const data = enc('same twice');
      const a = await writeBlob(s, data, { digest: digestOf(data), size: data.length });
      const b = await writeBlob(s, data, { digest: digestOf(data) });
      expect(b).toEqual(a);
      expect(await s.list()).toEqual([a]);
      await expect(writeBlob(s, data, { digest: digestOf(enc('other')) })).rejects.toBeInstanceOf(DigestMismatchError);
      expect(await s.read(a.digest)).toEqual(data);
      expect(await leftovers(s)).toEqual([]);
    });

    it('does not let the caller mutate a committed blob through its chunk', async () => {
      const s = await make();
      const chunk = enc('immutable');
      const info = await writeBlob(s, chunk);
      chunk.fill(0);
      expect(await s.read(info.digest)).toEqual(enc('immutable'));
    });

    it('deletes a blob; deleting again reports false', async () => {
      const s = await make();
      const keep = await writeBlob(s, enc('keep'));
      const gone = await writeBlob(s, enc('gone'));
      expect(await s.delete(gone.digest)).toBe(true);
      expect(await s.delete(gone.digest)).toBe(false);
      expect(await s.info(gone.digest)).toBeUndefined();
      await expect(s.read(gone.digest)).rejects.toBeInstanceOf(NotFoundError);
      expect(await s.list()).toEqual([keep]);
    });

    it('lists every committed blob, sorted by digest', async () => {
      const s = await make();
      const infos = [];
      for (let i = 0; i < 5; i++) infos.push(await writeBlob(s, enc(`blob ${i} `.repeat(i + 1))));
      infos.sort((a, b) => (a.digest < b.digest ? -1 : 1));
      expect(await s.list()).toEqual(infos);
    });

    it('lets concurrent writers of the same content all commit; the blob is stored once', async () => {
      const s = await make();
      const data = enc('x'.repeat(1000));
      const d: Digest = digestOf(data);
      const writers = await Promise.all([0, 1, 2, 3].map(() => s.writer({ digest: d, size: data.length })));
      for (let off = 0; off < data.length; off += 250) {
        await Promise.all(writers.map((w) => w.write(data.subarray(off, off + 250))));
      }
      const infos = await Promise.all(writers.map((w) => w.commit()));
      for (const info of infos) expect(info).toEqual({ digest: d, size: data.length });
      expect(await s.list()).toEqual([{ digest: d, size: data.length }]);
      expect(await s.read(d)).toEqual(data);
      expect(await leftovers(s)).toEqual([]);
    });

    it('keeps concurrent ingests of different content apart', async () => {
      const s = await make();
      const a = enc('a'.repeat(300));
      const b = enc('b'.repeat(300));
      const [wa, wb] = await Promise.all([s.writer({ digest: digestOf(a) }), s.writer({ digest: digestOf(b) })]);
      for (let off = 0; off < 300; off += 100) {
        await Promise.all([wa.write(a.subarray(off, off + 100)), wb.write(b.subarray(off, off + 100))]);
      }
      await Promise.all([wa.commit(), wb.abort()]);
      expect(await s.read(digestOf(a))).toEqual(a);
      expect(await s.info(digestOf(b))).toBeUndefined();
      expect(await leftovers(s)).toEqual([]);
    });

    it('a writer is single use: abort after commit keeps the blob', async () => {
      const s = await make();
      const w = await s.writer();
      await w.write(enc('once'));
      const info = await w.commit();
      await w.abort();
      expect(await s.info(info.digest)).toEqual(info);
      await expect(w.commit()).rejects.toThrow(/after commit or abort/);
    });
  });
}

/** The `Files` contracts of files.ts. `make` returns a fresh, empty base per test. */
export function filesSuite(name: string, make: () => Files | Promise<Files>): void {
  describe(`Files conformance: ${name}`, () => {
    it('reads a missing file as undefined and a written one back', async () => {
      const f = await make();
      expect(await f.readFile('nope')).toBeUndefined();
      expect(await f.size('nope')).toBeUndefined();
      await f.writeFile('a/b/c.json', enc('{}'));
      expect(await f.readFile('a/b/c.json')).toEqual(enc('{}'));
      expect(await f.size('a/b/c.json')).toBe(2);
      await f.writeFile('a/b/c.json', enc('[1]'));
      expect(await f.readFile('a/b/c.json')).toEqual(enc('[1]'));
    });

    it('appends, creating the file', async () => {
      const f = await make();
      await f.appendFile('t/x', enc('ab'));
      await f.appendFile('t/x', enc('cd'));
      await f.appendFile('t/x', new Uint8Array(0));
      expect(await f.readFile('t/x')).toEqual(enc('abcd'));
      expect(await f.size('t/x')).toBe(4);
    });

    it('renames over an existing file, into a new directory too', async () => {
      const f = await make();
      await f.writeFile('from', enc('new'));
      await f.writeFile('d/to', enc('old'));
      await f.rename('from', 'd/to');
      expect(await f.readFile('d/to')).toEqual(enc('new'));
      expect(await f.readFile('from')).toBeUndefined();
      await f.appendFile('g', enc('x'));
      await f.rename('g', 'e/f/g');
      expect(await f.readFile('e/f/g')).toEqual(enc('x'));
      await expect(f.rename('missing', 'd/to')).rejects.toThrow();
      expect(await f.readFile('d/to')).toEqual(enc('new'));
    });

    it('removes files, reporting whether one was there', async () => {
      const f = await make();
      await f.writeFile('r', enc('1'));
      expect(await f.remove('r')).toBe(true);
      expect(await f.remove('r')).toBe(false);
      expect(await f.remove('no/such/dir/file')).toBe(false);
    });

    it('lists names in a directory, sorted; a missing directory is empty', async () => {
      const f = await make();
      await f.writeFile('top', enc('1'));
      await f.writeFile('dir/b', enc('1'));
      await f.writeFile('dir/a', enc('1'));
      await f.writeFile('dir/sub/c', enc('1'));
      expect(await f.list('dir')).toEqual(['a', 'b', 'sub']);
      expect(await f.list('')).toEqual(['dir', 'top']);
      expect(await f.list('none')).toEqual([]);
    });

    it('refuses paths that are not plain relative paths', async () => {
      const f = await make();
      for (const bad of ['/abs', '../up', 'a/../b', 'a//b', './a', 'a/', '']) {
        await expect(f.readFile(bad), bad).rejects.toBeInstanceOf(TypeError);
        await expect(f.writeFile(bad, enc('x')), bad).rejects.toBeInstanceOf(TypeError);
      }
    });
  });
}

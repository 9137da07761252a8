import { packTar } from 'modern-tar';
import { describe, expect, it } from 'vitest';
import { InvalidLayerError } from './errors.js';
import { defaultLayerLimits } from './layer-index.js';
import { readTar, type TarEntry } from './tar.js';
import { concat, paxGlobal, rawTar, tarHeader } from './testing/tar-fixtures.js';

const text = new TextEncoder();
const read = (bytes: Uint8Array, limits = defaultLayerLimits): TarEntry[] => [...readTar(bytes, 'L1', limits)];
const content = (bytes: Uint8Array, e: TarEntry): string => new TextDecoder().decode(bytes.subarray(e.dataOffset, e.dataOffset + e.size));

/** Runs `f`, expecting an InvalidLayerError with `code` whose message names the layer and `entry`. */
function refused(f: () => unknown, code: string, entry: string | RegExp): InvalidLayerError {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(InvalidLayerError);
  const err = caught as InvalidLayerError;
  expect(err.code).toBe(code);
  expect(err.message).toContain('layer L1');
  if (typeof entry === 'string') expect(err.message).toContain(entry);
  else expect(err.message).toMatch(entry);
  return err;
}

describe('readTar', () => {
  it('reads what a real packer writes, with content referenced in place', async () => {
    const tar = await packTar([
      { header: { name: 'etc/', type: 'directory', size: 0, mode: 0o755 } },
      { header: { name: 'etc/hosts', size: 9, mode: 0o644, uid: 1000, gid: 100, mtime: new Date(1_700_000_000_000) }, body: '127.0.0.1' },
      { header: { name: 'etc/link', type: 'symlink', size: 0, linkname: 'hosts' } },
      { header: { name: 'etc/hard', type: 'link', size: 0, linkname: 'etc/hosts' } },
      { header: { name: 'empty', size: 0 }, body: '' },
    ]);
    const entries = read(tar);
    expect(entries.map((e) => [e.name, e.type, e.linkname])).toEqual([
      ['etc/', 'dir', ''],
      ['etc/hosts', 'file', ''],
      ['etc/link', 'symlink', 'hosts'],
      ['etc/hard', 'hardlink', 'etc/hosts'],
      ['empty', 'file', ''],
    ]);
    const hosts = entries[1] as TarEntry;
    expect(hosts).toMatchObject({ mode: 0o644, uid: 1000, gid: 100, mtime: 1_700_000_000_000_000_000n, size: 9, headerOffset: 512, dataOffset: 1024 });
    expect(content(tar, hosts)).toBe('127.0.0.1');
  });

  it('joins the ustar prefix and name', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(90)}`;
    const tar = await packTar([{ header: { name: long, size: 1 }, body: 'x' }]);
    expect(read(tar)[0]?.name).toBe(long);
    const raw = rawTar([{ name: 'file', prefix: 'some/dir', data: 'y' }]);
    expect(read(raw)[0]?.name).toBe('some/dir/file');
  });

  it('reads pax long names, link paths, xattrs, big ids and fractional mtimes', () => {
    const longName = `${'a/'.repeat(200)}file`;
    const longLink = `/${'t/'.repeat(150)}target`;
    const tar = rawTar([
      {
        name: 'short',
        data: 'abc',
        pax: {
          path: longName,
          mtime: '1700000000.123456789123',
          uid: '4000000000',
          gid: '70000',
          'SCHILY.xattr.user.note': 'héllo',
          'SCHILY.xattr.security.capability': new Uint8Array([1, 0, 0, 2, 0xff, 0x80, 0, 0]),
        },
      },
      { name: 'sl', type: '2', linkname: 'ignored', pax: { linkpath: longLink, mtime: '-1.5' } },
    ]);
    const [file, link] = read(tar) as [TarEntry, TarEntry];
    expect(file.name).toBe(longName);
    expect(file.mtime).toBe(1_700_000_000_123_456_789n);
    expect(file.uid).toBe(4_000_000_000);
    expect(file.gid).toBe(70_000);
    expect(content(tar, file)).toBe('abc');
    // Values are byte strings: one char per byte.
    expect(file.xattrs?.['user.note']).toBe(String.fromCharCode(...text.encode('héllo')));
    expect([...(file.xattrs?.['security.capability'] ?? '')].map((c) => c.charCodeAt(0))).toEqual([1, 0, 0, 2, 0xff, 0x80, 0, 0]);
    expect(link.linkname).toBe(longLink);
    expect(link.mtime).toBe(-1_500_000_000n);
    expect(link.headerOffset).toBeGreaterThan(file.dataOffset);
  });

  it('lets a pax size override the header size', () => {
    const tar = rawTar([{ name: 'f', data: 'hello world', size: 0, pax: { size: '11' } }, { name: 'g', data: 'x' }]);
    const [f, g] = read(tar) as [TarEntry, TarEntry];
    expect(content(tar, f)).toBe('hello world');
    expect(content(tar, g)).toBe('x');
  });

  it('applies global pax headers to later entries, overridden by per-entry ones', () => {
    const tar = rawTar([
      { name: 'before', data: '' },
      paxGlobal({ uid: '42', mtime: '5', 'SCHILY.xattr.user.g': 'global', comment: 'git archive writes this' }),
      { name: 'after', data: '' },
      { name: 'own', data: '', pax: { uid: '7', 'SCHILY.xattr.user.o': 'own' } },
    ]);
    const [before, after, own] = read(tar) as [TarEntry, TarEntry, TarEntry];
    expect(before.uid).toBe(0);
    expect(after).toMatchObject({ uid: 42, mtime: 5_000_000_000n, xattrs: { 'user.g': 'global' } });
    expect(own).toMatchObject({ uid: 7, mtime: 5_000_000_000n, xattrs: { 'user.g': 'global', 'user.o': 'own' } });
    // `own` starts at its pax header, right after the empty `after`.
    expect(own.headerOffset).toBe(after.dataOffset);
    expect(tar[own.headerOffset + 156]).toBe(0x78 /* x */);
  });

  it('refuses a global pax header that sets a path', () => {
    refused(() => read(rawTar([paxGlobal({ path: 'everything' }), { name: 'a' }])), 'INVALID_LAYER', 'global pax header');
  });

  it('reads GNU long names and long link names', () => {
    const name = `${'n'.repeat(300)}/file`;
    const target = `${'t'.repeat(300)}/target`;
    const tar = rawTar([
      { name: 'trunc', format: 'gnu', data: 'x', gnuLongName: name },
      { name: 'trunc2', format: 'gnu', type: '2', linkname: 'trunc', gnuLongName: `${name}2`, gnuLongLink: target },
    ]);
    const [f, l] = read(tar) as [TarEntry, TarEntry];
    expect(f.name).toBe(name);
    expect(f.headerOffset).toBe(0);
    expect(content(tar, f)).toBe('x');
    expect(l.name).toBe(`${name}2`);
    expect(l.linkname).toBe(target);
  });

  it('prefers a pax path over a GNU long name', () => {
    const tar = rawTar([{ name: 'h', gnuLongName: 'gnu-name', pax: { path: 'pax-name' } }]);
    expect(read(tar)[0]?.name).toBe('pax-name');
  });

  it('reads base-256 sizes, ids and times', () => {
    const size = 600;
    const tar = rawTar([
      { name: 'big', data: new Uint8Array(size).fill(7), base256: ['size', 'uid', 'gid', 'mtime'], uid: 5_000_000_000n - 1_000_000_000n, gid: 3, mtime: -100n },
    ]);
    const [e] = read(tar) as [TarEntry];
    expect(e).toMatchObject({ size, uid: 4_000_000_000, gid: 3, mtime: -100_000_000_000n });
    expect(tar[e.dataOffset + size - 1]).toBe(7);
  });

  it('reads v7 headers, where a trailing slash marks a directory', () => {
    const tar = rawTar([
      { name: 'dir/', type: '\0', format: 'v7' },
      { name: 'dir/file', type: '\0', format: 'v7', data: 'v7' },
      { name: 'contig', type: '7', data: 'c' },
    ]);
    expect(read(tar).map((e) => [e.name, e.type])).toEqual([
      ['dir/', 'dir'],
      ['dir/file', 'file'],
      ['contig', 'file'],
    ]);
  });

  it('accepts the historic signed checksum', () => {
    const tar = rawTar([{ name: 'caf\u00e9', checksum: 'signed', data: 'x' }]);
    expect(read(tar)[0]?.name).toBe('café');
  });

  it('loads an archive without end-of-archive blocks or final padding (umoci insert)', () => {
    const tar = rawTar(
      [
        { name: 'a', data: 'first' },
        { name: 'b', data: 'last file, unpadded' },
      ],
      { eof: 0, padLast: false },
    );
    const entries = read(tar);
    expect(entries.map((e) => e.name)).toEqual(['a', 'b']);
    expect(content(tar, entries[1] as TarEntry)).toBe('last file, unpadded');
    expect(entries[1]?.dataOffset).toBe(tar.length - 'last file, unpadded'.length);
  });

  it('accepts a single zero block, or a partial one, at the end', () => {
    expect(read(rawTar([{ name: 'a', data: 'x' }], { eof: 1 }))).toHaveLength(1);
    const partial = concat([rawTar([{ name: 'a', data: 'x' }], { eof: 0 }), new Uint8Array(100)]);
    expect(read(partial)).toHaveLength(1);
  });

  it('ignores whatever follows two zero blocks', () => {
    const tar = concat([rawTar([{ name: 'a' }]), text.encode('trailing junk after the end')]);
    expect(read(tar)).toHaveLength(1);
  });

  it('reads an empty archive', () => {
    expect(read(new Uint8Array(0))).toEqual([]);
    expect(read(new Uint8Array(1024))).toEqual([]);
  });

  it('gives header-only entries no data, ignoring their size field (as Go archive/tar)', () => {
    const tar = rawTar([{ name: 'd/', type: '5', size: 512 }, { name: 'd/f', data: 'x' }]);
    const entries = read(tar);
    expect(entries.map((e) => [e.name, e.size])).toEqual([
      ['d/', 0],
      ['d/f', 1],
    ]);
  });

  it('yields devices and fifos for the importer to judge', () => {
    expect(read(rawTar([{ name: 'c', type: '3' }, { name: 'b', type: '4' }, { name: 'p', type: '6' }])).map((e) => e.type)).toEqual(['char', 'block', 'fifo']);
  });

  describe('refuses', () => {
    it('a bad header checksum, naming the offset', () => {
      const tar = rawTar([{ name: 'ok', data: 'x' }, { name: 'bad', checksum: 'bad' }]);
      const err = refused(() => read(tar), 'INVALID_LAYER', 'at byte offset 1024');
      expect(err.message).toContain('checksum');
    });

    it('garbage instead of a header', () => {
      const tar = concat([rawTar([{ name: 'ok', data: 'x' }], { eof: 0 }), text.encode('garbage'.repeat(100))]);
      refused(() => read(tar), 'INVALID_LAYER', /checksum.*at byte offset 1024/);
    });

    it('data running past the end (truncated), naming the entry', () => {
      const tar = rawTar([{ name: 'cut', data: 'x'.repeat(100), size: 5000 }], { eof: 0 });
      refused(() => read(tar), 'INVALID_LAYER', /entry "cut".*truncated/);
    });

    it('a header running past the end', () => {
      const tar = concat([rawTar([{ name: 'ok' }], { eof: 0 }), tarHeader({ name: 'cut' }).subarray(0, 300)]);
      refused(() => read(tar), 'INVALID_LAYER', /truncated header.*at byte offset 512/);
    });

    it('a size field that is not a number', () => {
      refused(() => read(rawTar([{ name: 'junk', rawFields: { size: '12x4' } }])), 'INVALID_LAYER', /entry "junk".*size/);
    });

    it('a negative size', () => {
      refused(() => read(rawTar([{ name: 'neg', size: -1n, base256: ['size'] }])), 'INVALID_LAYER', /entry "neg".*size.*out of range/);
    });

    it('a uid beyond 32 bits', () => {
      refused(() => read(rawTar([{ name: 'u', uid: 2n ** 40n, base256: ['uid'] }])), 'INVALID_LAYER', /entry "u".*uid/);
    });

    it('a zero block followed by a non-zero block', () => {
      const tar = concat([rawTar([{ name: 'a' }], { eof: 1 }), rawTar([{ name: 'hidden' }])]);
      refused(() => read(tar), 'INVALID_LAYER', /zero block.*at byte offset 512/);
    });

    it('an extended header at the end of the archive', () => {
      const tar = rawTar([{ name: 'a' }, { name: 'b', pax: { path: 'c' } }]).subarray(0, 512 * 3);
      refused(() => read(tar), 'INVALID_LAYER', /extended header.*at byte offset 512/);
    });

    it('malformed pax records', () => {
      const bad = text.encode('99 path=x\n');
      const tar = rawTar([{ name: 'PaxHeader', type: 'x', data: bad }, { name: 'a' }]);
      refused(() => read(tar), 'INVALID_LAYER', /malformed pax record.*at byte offset 0/);
      const noEq = rawTar([{ name: 'PaxHeader', type: 'x', data: text.encode('9 pathx\n') }, { name: 'a' }]);
      refused(() => read(noEq), 'INVALID_LAYER', 'malformed pax record');
    });

    it('a pax size that is not a number', () => {
      refused(() => read(rawTar([{ name: 'a', pax: { size: '-5' } }])), 'INVALID_LAYER', 'pax size');
    });

    it('sparse files, typed UNSUPPORTED', () => {
      refused(() => read(rawTar([{ name: 'sparse', type: 'S' }])), 'UNSUPPORTED', /entry "sparse".*sparse/);
      refused(() => read(rawTar([{ name: 'a', pax: { 'GNU.sparse.major': '1' } }])), 'UNSUPPORTED', 'sparse');
    });

    it('multi-volume and unknown member types, typed UNSUPPORTED', () => {
      refused(() => read(rawTar([{ name: 'vol', type: 'M' }])), 'UNSUPPORTED', /entry "vol".*multi-volume/);
      refused(() => read(rawTar([{ name: 'odd', type: 'Z' }])), 'UNSUPPORTED', /entry "odd".*unknown member type "Z"/);
    });

    it('names that are not UTF-8, typed UNSUPPORTED', () => {
      const h = tarHeader({ name: 'x' });
      h.set([0x66, 0xff, 0x66], 0);
      // Recompute the checksum over the edited header.
      h.fill(0x20, 148, 156);
      const sum = h.reduce((a, b) => a + b, 0);
      h.set(text.encode(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
      refused(() => read(concat([h, new Uint8Array(1024)])), 'UNSUPPORTED', 'UTF-8');
    });

    it('names longer than the path limit, typed LIMIT_EXCEEDED', () => {
      const limits = { ...defaultLayerLimits, maxPathBytes: 64 };
      refused(() => read(rawTar([{ name: 'a', pax: { path: 'p'.repeat(65) } }]), limits), 'LIMIT_EXCEEDED', 'limit of 64');
      refused(() => read(rawTar([{ name: 'a', gnuLongName: 'g'.repeat(100) }]), limits), 'LIMIT_EXCEEDED', 'limit of 64');
      // ustar fields are short; the importer checks the normalised path.
      expect(read(rawTar([{ name: 'n'.repeat(80) }]), limits)).toHaveLength(1);
    });
  });
});

// This test drives the zstd CLI and native zlib to make its inputs (tests may import
// Node built-ins; the library code they test may not).
import { execFileSync } from 'node:child_process';
import { createGzip, gunzipSync } from 'node:zlib';
import { packTar } from 'modern-tar';
import { beforeAll, describe, expect, it } from 'vitest';
import { decompressLayer, gzipLayer, LAYER_MEDIA_TYPES } from './decompress.js';
import { InvalidLayerError, SkiffError } from './errors.js';
import { concat } from './testing/tar-fixtures.js';

const MiB = 1024 * 1024;
const OCI_TAR = 'application/vnd.oci.image.layer.v1.tar';
const OCI_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const OCI_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

let tar: Uint8Array;
beforeAll(async () => {
  const big = new Uint8Array(300_000).map((_, i) => (i * 7919) % 251);
  tar = await packTar([
    { header: { name: 'etc/', type: 'directory', size: 0 } },
    { header: { name: 'etc/os-release', size: 11 }, body: 'ID=skiff\n\n\n' },
    { header: { name: 'blob', size: big.length }, body: big },
  ]);
});

function zstdAvailable(): boolean {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    console.log('decompress.test: the zstd CLI is not installed (apt-get install zstd); skipping zstd tests');
    return false;
  }
}
const hasZstd = zstdAvailable();
const zstd = (input: Uint8Array, ...args: string[]): Uint8Array => new Uint8Array(execFileSync('zstd', ['-q', '-c', ...args], { input }));

async function rejected(p: Promise<unknown>): Promise<SkiffError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SkiffError);
  return err as SkiffError;
}

/** Byte equality (vitest's deep equality is slow on large typed arrays). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sharedBacked(bytes: Uint8Array): boolean {
  return bytes.buffer instanceof SharedArrayBuffer;
}

describe('decompressLayer', () => {
  it('refuses an unknown media type as UNSUPPORTED, naming it', async () => {
    const err = await rejected(decompressLayer(tar, 'application/vnd.oci.image.layer.v1.tar+lz4', 'L1', 100 * MiB));
    expect(err).not.toBeInstanceOf(InvalidLayerError);
    expect(err.code).toBe('UNSUPPORTED');
    expect(err.message).toContain('layer L1');
    expect(err.message).toContain('"application/vnd.oci.image.layer.v1.tar+lz4"');
  });

  it('returns plain tar bytes, in a shared buffer', async () => {
    const out = await decompressLayer(tar, OCI_TAR, 'L1', 100 * MiB);
    expect(same(out, tar)).toBe(true);
    expect(sharedBacked(out)).toBe(true);
    // Already shared: returned as is, no copy.
    expect(await decompressLayer(out, 'application/vnd.docker.image.rootfs.diff.tar', 'L1', 100 * MiB)).toBe(out);
  });

  it('refuses plain tar over the cap', async () => {
    const err = await rejected(decompressLayer(tar, OCI_TAR, 'L1', tar.length - 1));
    expect(err).toBeInstanceOf(InvalidLayerError);
    expect(err.code).toBe('LIMIT_EXCEEDED');
    expect(err.message).toContain('layer L1');
  });

  it.each(Object.entries(LAYER_MEDIA_TYPES).filter(([, c]) => c === 'gzip'))('gunzips %s into an exactly sized shared buffer', async (mediaType) => {
    const out = await decompressLayer(gzipLayer(tar), mediaType, 'L1', 100 * MiB);
    expect(same(out, tar)).toBe(true);
    expect(sharedBacked(out)).toBe(true);
    expect(out.buffer.byteLength).toBe(tar.length); // the ISIZE hint was exact: no regrowth, no copy
  });

  it('gunzips a multi-member stream (the ISIZE hint is wrong; the buffer grows)', async () => {
    const half = tar.length >> 1;
    const gz = concat([gzipLayer(tar.subarray(0, half)), gzipLayer(tar.subarray(half))]);
    expect(same(await decompressLayer(gz, OCI_GZIP, 'L1', 100 * MiB), tar)).toBe(true);
  });

  it('decompresses gzip bytes labelled as plain tar (sniffed by magic)', async () => {
    expect(same(await decompressLayer(gzipLayer(tar), OCI_TAR, 'L1', 100 * MiB), tar)).toBe(true);
    expect(same(await decompressLayer(gzipLayer(tar), 'application/vnd.docker.image.rootfs.diff.tar', 'L1', 100 * MiB), tar)).toBe(true);
  });

  it('refuses a compressed media type whose bytes are not compressed', async () => {
    const err = await rejected(decompressLayer(tar, OCI_GZIP, 'L1', 100 * MiB));
    expect(err.code).toBe('INVALID_LAYER');
    expect(err.message).toMatch(/layer L1: media type .*\+gzip declares gzip compression, but the bytes are not gzip/);
  });

  it('refuses corrupt gzip', async () => {
    const gz = gzipLayer(tar);
    const corrupt = gz.slice();
    for (let i = 20; i < 60; i++) corrupt[i] = 0xa5;
    const err = await rejected(decompressLayer(corrupt, OCI_GZIP, 'L1', 100 * MiB));
    expect(err.code).toBe('INVALID_LAYER');
    expect(err.message).toMatch(/layer L1: not a valid gzip stream/);
  });

  it('refuses truncated gzip', async () => {
    const gz = gzipLayer(tar);
    const err = await rejected(decompressLayer(gz.subarray(0, gz.length >> 1), OCI_GZIP, 'L1', 100 * MiB));
    expect(err.code).toBe('INVALID_LAYER');
    expect(err.message).toContain('not a valid gzip stream');
  });

  it('stops a gzip bomb at the cap without materialising it', async () => {
    // 100 MiB of zeros, compressed by streaming (the bomb itself is never in memory here).
    const parts: Uint8Array[] = [];
    const gz = createGzip({ level: 9 });
    gz.on('data', (chunk: Buffer) => parts.push(chunk));
    const ended = new Promise((resolve) => gz.on('end', resolve));
    const zeros = new Uint8Array(MiB);
    for (let i = 0; i < 100; i++) gz.write(zeros);
    gz.end();
    await ended;
    const bomb = concat(parts);
    expect(bomb.length).toBeLessThan(150 * 1024);

    const before = process.memoryUsage();
    let peakBuffers = before.arrayBuffers;
    let peakRss = before.rss;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
      peakRss = Math.max(peakRss, m.rss);
    }, 1);
    const started = performance.now();
    const err = await rejected(decompressLayer(bomb, OCI_GZIP, 'bomb-layer', MiB));
    clearInterval(sampler);
    const m = process.memoryUsage();
    peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
    peakRss = Math.max(peakRss, m.rss);

    expect(err).toBeInstanceOf(InvalidLayerError);
    expect(err.code).toBe('LIMIT_EXCEEDED');
    expect(err.message).toContain('layer bomb-layer');
    // The cap is 1 MiB; allow for stream buffers and noise, far below the bomb's 100 MiB.
    expect(peakBuffers - before.arrayBuffers).toBeLessThan(16 * MiB);
    expect(peakRss - before.rss).toBeLessThan(64 * MiB);
    expect(performance.now() - started).toBeLessThan(10_000); // stopped early, not after inflating it all
  });

  describe.skipIf(!hasZstd)('zstd', () => {
    it('round-trips through the zstd CLI (frame content size known)', async () => {
      const out = await decompressLayer(zstd(tar, '-19'), OCI_ZSTD, 'L1', 100 * MiB);
      expect(same(out, tar)).toBe(true);
      expect(sharedBacked(out)).toBe(true);
    });

    it('decodes a stream without a content size, and several frames', async () => {
      const noSize = zstd(tar, '--no-content-size');
      expect(same(await decompressLayer(noSize, OCI_ZSTD, 'L1', 100 * MiB), tar)).toBe(true);
      const half = tar.length >> 1;
      const frames = concat([zstd(tar.subarray(0, half)), zstd(tar.subarray(half))]);
      expect(same(await decompressLayer(frames, 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd', 'L1', 100 * MiB), tar)).toBe(true);
    });

    it('follows the magic when the media type names the other compression', async () => {
      expect(same(await decompressLayer(zstd(tar), OCI_GZIP, 'L1', 100 * MiB), tar)).toBe(true);
      expect(same(await decompressLayer(zstd(tar), OCI_TAR, 'L1', 100 * MiB), tar)).toBe(true);
      expect(same(await decompressLayer(gzipLayer(tar), OCI_ZSTD, 'L1', 100 * MiB), tar)).toBe(true);
    });

    it('stops a zstd bomb at the cap, declared size or not', async () => {
      const zeros = new Uint8Array(100 * MiB);
      for (const args of [[], ['--no-content-size']]) {
        const bomb = zstd(zeros, ...args);
        expect(bomb.length).toBeLessThan(64 * 1024);
        const err = await rejected(decompressLayer(bomb, OCI_ZSTD, 'zbomb', MiB));
        expect(err.code).toBe('LIMIT_EXCEEDED');
        expect(err.message).toContain('layer zbomb');
      }
    });

    it('refuses corrupt zstd', async () => {
      const z = zstd(tar).slice();
      for (let i = 12; i < z.length - 8; i++) z[i] = (z[i] as number) ^ 0x5a;
      const err = await rejected(decompressLayer(z, OCI_ZSTD, 'L1', 100 * MiB));
      expect(err.code).toBe('INVALID_LAYER');
      expect(err.message).toMatch(/layer L1: not a valid zstd stream/);
    });
  });

  it('refuses a zstd frame whose window is too large, before allocating it', async () => {
    // Magic, a header with no content size and a 1 GiB window (exponent 20), one empty last raw block.
    const frame = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, 20 << 3, 0x01, 0x00, 0x00]);
    const err = await rejected(decompressLayer(frame, OCI_ZSTD, 'L1', 8 * 1024 * MiB));
    expect(err.code).toBe('LIMIT_EXCEEDED');
    expect(err.message).toMatch(/layer L1: a zstd frame needs a 1073741824-byte window/);
  });

  it('refuses truncated zstd framing', async () => {
    const frame = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, 10 << 3, 0x00, 0x01]);
    const err = await rejected(decompressLayer(frame, OCI_ZSTD, 'L1', MiB));
    expect(err.code).toBe('INVALID_LAYER');
    expect(err.message).toContain('truncated');
  });
});

describe('gzipLayer', () => {
  it('is deterministic: no timestamp, no file name', () => {
    const a = gzipLayer(tar);
    const b = gzipLayer(tar.slice());
    expect(same(a, b)).toBe(true);
    expect([...a.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    expect(same(new Uint8Array(gunzipSync(a)), tar)).toBe(true);
  });
});

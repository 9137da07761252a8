/**
 * Layer import throughput: skiff's `indexLayer` (and `decompressLayer` + `indexLayer`
 * for the gzip form) beside tar-stream extracting every entry into a memfs Volume, on
 * the same realistic ~94 MB layer (fixtures.ts), uncompressed and gzipped. Both sides
 * gunzip with the web `DecompressionStream('gzip')` (node's zlib underneath), fed in
 * 64 KiB pieces. MB/s counts the uncompressed tar bytes for every row. Reference rows
 * split the costs: tar-stream parsing alone, DecompressionStream alone, and node:zlib's
 * gunzip with 1 MiB output chunks (what a Node-specific gunzip could reach).
 */
import { createGunzip } from 'node:zlib';
import { decompressLayer, gzipLayer } from '../../src/layers/decompress.js';
import { indexLayer } from '../../src/layers/layer-import.js';
import { compare } from '../harness.js';
import { drainTar, extractToMemfs, gunzipStream, mb, realisticLayer } from './fixtures.js';

const TAR = 'application/vnd.oci.image.layer.v1.tar';
const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const MAX = 8 * 1024 ** 3;

const t0 = performance.now();
const layer = await realisticLayer();
const tar = layer.tar;
const gz = gzipLayer(tar);
console.log(
  `layer: ${mb(tar.length)} tar (${layer.files} files, ${layer.dirs} dirs, ${layer.symlinks} symlinks, ${mb(layer.contentBytes)} of content), ` +
    `${mb(gz.length)} gzip (${(tar.length / gz.length).toFixed(2)}×); built in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);

// Both importers see the same layer.
const index = indexLayer(tar, 'bench');
const vol = await extractToMemfs(tar);
const count = (dir: string): number => {
  let n = 0;
  for (const e of vol.readdirSync(dir, { withFileTypes: true }) as unknown as { name: string; isDirectory(): boolean }[]) {
    n++;
    if (e.isDirectory()) n += count(`${dir === '/' ? '' : dir}/${e.name}`);
  }
  return n;
};
const inMemfs = count('/');
if (inMemfs !== index.entryCount) throw new Error(`memfs holds ${inMemfs} entries, skiff indexed ${index.entryCount}`);
if (index.contentSize !== layer.contentBytes) throw new Error('content size mismatch');

const opts = { timeMs: 2000, warmupMs: 300, iterations: 8, warmupIterations: 2 };
const bytes = tar.length;

await compare(
  `import, uncompressed tar (${mb(tar.length)}, ${index.entryCount} entries)`,
  [
    { name: 'skiff indexLayer (tar in memory)', fn: () => indexLayer(tar, 'bench'), bytes },
    { name: 'skiff decompressLayer(tar) + indexLayer', fn: async () => indexLayer(await decompressLayer(tar, TAR, 'bench', MAX), 'bench'), bytes },
    { name: 'tar-stream → memfs', fn: () => extractToMemfs(tar), bytes, baseline: true },
    { name: 'tar-stream parse only (no memfs)', fn: () => drainTar(tar), bytes },
  ],
  opts,
);

await compare(
  `import, gzip (${mb(gz.length)} → ${mb(tar.length)}); both gunzip with DecompressionStream`,
  [
    { name: 'skiff decompressLayer(gzip) + indexLayer', fn: async () => indexLayer(await decompressLayer(gz, GZIP, 'bench', MAX), 'bench'), bytes },
    { name: 'DecompressionStream → tar-stream → memfs', fn: () => extractToMemfs(gunzipStream(gz)), bytes, baseline: true },
    {
      name: 'DecompressionStream alone (drained)',
      fn: async () => {
        const reader = gunzipStream(gz).getReader();
        for (;;) if ((await reader.read()).done) break;
      },
      bytes,
    },
    { name: 'node:zlib gunzip, 1 MiB chunks, alone (reference)', fn: () => zlibDrain(gz), bytes },
  ],
  opts,
);

/** node:zlib's streaming gunzip with 1 MiB output chunks (DecompressionStream uses zlib's default, 16 KiB), drained. */
async function zlibDrain(data: Uint8Array): Promise<number> {
  const z = createGunzip({ chunkSize: 1024 * 1024 });
  let n = 0;
  z.on('data', (c: Buffer) => {
    n += c.length;
  });
  const done = new Promise<void>((resolve, reject) => {
    z.on('end', resolve);
    z.on('error', reject);
  });
  z.end(data);
  await done;
  return n;
}

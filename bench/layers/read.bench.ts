/**
 * Sequential read throughput of a 64 MiB file in 64 KiB pieces: through `Overlay.read`
 * for a lower file (a view of the layer bytes), for the same file copied up with one
 * byte written in every 16th chunk and in every chunk (chunked copy-on-write content),
 * beside memfs `readSync` of the same file (the baseline) and node:fs `readSync` of a
 * copy on /dev/shm (tmpfs), every piece into one reused 64 KiB buffer.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Volume } from 'memfs';
import { indexLayer } from '../../src/layers/layer-import.js';
import { Overlay, type Node } from '../../src/layers/overlay.js';
import { compare } from '../harness.js';
import { KiB, MiB, TarWriter, fillBinary } from './fixtures.js';

const SIZE = 64 * MiB;
const PIECE = 64 * KiB;

const w = new TarWriter(TarWriter.memberBytes(SIZE) + 4096);
w.dir('data');
const content = w.file('data/big.bin', SIZE);
fillBinary(content, 64);
const layer = indexLayer(w.finish(), 'read');

const lowerOv = new Overlay([layer]);
const lower = lowerOv.open(lowerOv.root, 'data/big.bin') as Node;

const sparseOv = new Overlay([layer]);
const sparse = sparseOv.open(sparseOv.root, 'data/big.bin') as Node;
const denseOv = new Overlay([layer]);
const dense = denseOv.open(denseOv.root, 'data/big.bin') as Node;
for (let c = 0; c < SIZE / PIECE; c++) {
  const byte = new Uint8Array([(content[c * PIECE + 7] as number) ^ 0xff]);
  if (c % 16 === 0) sparseOv.write(sparse, c * PIECE + 7, byte);
  denseOv.write(dense, c * PIECE + 7, byte);
}

const vol = new Volume();
vol.writeFileSync('/big.bin', content);
const memfsFd = vol.openSync('/big.bin', 'r');

let shmDir: string | undefined;
let shmFd: number | undefined;
try {
  shmDir = mkdtempSync('/dev/shm/skiff-bench-');
  writeFileSync(join(shmDir, 'big.bin'), content);
  shmFd = openSync(join(shmDir, 'big.bin'), 'r');
} catch {
  console.log('/dev/shm is not available: no node:fs row');
}

const buf = new Uint8Array(PIECE);
function overlayRead(ov: Overlay, node: Node): number {
  let total = 0;
  for (let pos = 0; ; ) {
    const n = ov.read(node, pos, buf) as number;
    if (n === 0) break;
    pos += n;
    total += n;
  }
  return total;
}
function fdRead(read: (fd: number, b: Uint8Array, off: number, len: number, pos: number) => number, fd: number): number {
  let total = 0;
  for (let pos = 0; ; ) {
    const n = read(fd, buf, 0, PIECE, pos);
    if (n === 0) break;
    pos += n;
    total += n;
  }
  return total;
}
const memfsRead = (fd: number, b: Uint8Array, off: number, len: number, pos: number): number => vol.readSync(fd, b, off, len, pos);

for (const n of [overlayRead(lowerOv, lower), overlayRead(sparseOv, sparse), overlayRead(denseOv, dense), fdRead(memfsRead, memfsFd)]) {
  if (n !== SIZE) throw new Error(`read ${n} bytes`);
}

await compare(
  `sequential read of a 64 MiB file in 64 KiB pieces`,
  [
    { name: 'skiff overlay.read, lower file', fn: () => overlayRead(lowerOv, lower), bytes: SIZE },
    { name: 'skiff overlay.read, copied up, 1/16 chunks written', fn: () => overlayRead(sparseOv, sparse), bytes: SIZE },
    { name: 'skiff overlay.read, copied up, every chunk written', fn: () => overlayRead(denseOv, dense), bytes: SIZE },
    { name: 'memfs readSync', fn: () => fdRead(memfsRead, memfsFd), bytes: SIZE, baseline: true },
    ...(shmFd !== undefined ? [{ name: 'node:fs readSync, /dev/shm', fn: () => fdRead(readSync, shmFd as number), bytes: SIZE }] : []),
  ],
  { timeMs: 2000, warmupMs: 300, iterations: 20, warmupIterations: 5 },
);

if (shmFd !== undefined) closeSync(shmFd);
if (shmDir !== undefined) rmSync(shmDir, { recursive: true, force: true });

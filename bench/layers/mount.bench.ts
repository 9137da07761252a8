/**
 * Mount time: from indexed layers to the first read of a file, for images of 1 MB,
 * 100 MB and 1 GB (100, 10k and 100k files). skiff mounts with `new Overlay(layers)`
 * (O(number of layers)), then resolves `usr/bin/app` and reads its 64 KiB. The baseline
 * is what a runtime that flattens the image has to do per container before the same
 * read: walk every layer's tree into one path → entry Map, applying whiteouts and
 * opaque directories (the work is O(entries), whatever is read afterwards). A second
 * reference row copies an already flattened Map (`new Map(flat)`), the least a
 * "flatten at import" design pays per container to get its own mutable tree.
 *
 * Each image is three layers: the bulk (small 1 KiB files 100 to a directory, a few
 * large files making up the size, the 64 KiB `usr/bin/app`), a small layer that changes
 * /etc and whites out one file, and a one-file top layer. Images are built with a plain
 * ustar writer and indexed once, outside the timed part.
 */
import { indexLayer } from '../../src/layers/layer-import.js';
import type { LayerDir, LayerIndex, LayerNode } from '../../src/layers/layer-index.js';
import { Overlay } from '../../src/layers/overlay.js';
import { compare, type Row } from '../harness.js';
import { KiB, MiB, TarWriter, fillBinary, mb } from './fixtures.js';

interface Image {
  label: string;
  layers: LayerIndex[];
  bytes: number;
  entries: number;
}

const SMALL = 1 * KiB;
const APP = 64 * KiB;
const MAX_LARGE = 128 * MiB;

function bulkLayer(total: number, smallFiles: number): Uint8Array {
  const dirs = Math.ceil(smallFiles / 100);
  const fixed = 4 * 512 + dirs * 512 * 2 + smallFiles * TarWriter.memberBytes(SMALL) + TarWriter.memberBytes(APP) + 1024;
  const rest = Math.max(0, total - fixed);
  const largeCount = Math.max(1, Math.ceil(rest / MAX_LARGE));
  const largeSize = Math.floor(rest / largeCount / 512) * 512 - 512;
  const w = new TarWriter(fixed + largeCount * TarWriter.memberBytes(largeSize) + 512 * 4);
  w.dir('usr');
  w.dir('usr/bin');
  fillBinary(w.file('usr/bin/app', APP, 0o755), 1);
  w.dir('usr/share');
  w.dir('opt');
  for (let d = 0; d < dirs; d++) {
    w.dir(`usr/share/pkg-${d}`);
    for (let f = d * 100; f < Math.min(smallFiles, (d + 1) * 100); f++) w.file(`usr/share/pkg-${d}/file-${f}.txt`, SMALL).fill(0x61 + (f % 26));
  }
  for (let i = 0; i < largeCount; i++) w.file(`opt/blob-${i}.bin`, largeSize).fill(i + 1);
  return w.finish();
}

function smallLayer(): Uint8Array {
  const w = new TarWriter(64 * KiB);
  w.dir('etc');
  w.file('etc/hostname', 8).set(new TextEncoder().encode('skiff\n'));
  w.file('etc/passwd', 64).fill(0x78);
  w.file('usr/share/pkg-0/.wh.file-0.txt', 0);
  w.symlink('usr/bin/sh', 'app');
  return w.finish();
}

function topLayer(): Uint8Array {
  const w = new TarWriter(16 * KiB);
  w.dir('srv');
  w.file('srv/config.json', 100).fill(0x7b);
  return w.finish();
}

function image(label: string, total: number, smallFiles: number): Image {
  const t0 = performance.now();
  const tars = [bulkLayer(total, smallFiles), smallLayer(), topLayer()];
  const t1 = performance.now();
  const layers = tars.map((t, i) => indexLayer(t, `${label}#${i}`));
  const t2 = performance.now();
  const bytes = tars.reduce((n, t) => n + t.length, 0);
  const entries = layers.reduce((n, l) => n + l.entryCount, 0);
  console.log(`${label}: ${mb(bytes)}, ${entries} entries in 3 layers; built in ${(t1 - t0).toFixed(0)} ms, indexed in ${(t2 - t1).toFixed(0)} ms`);
  return { label, layers, bytes, entries };
}

const images = [image('1 MB', 1e6, 100), image('100 MB', 100e6, 10_000), image('1 GB', 1e9, 100_000)];

const buf = new Uint8Array(APP);
const TARGET = 'usr/bin/app';

function skiffFirstRead(layers: readonly LayerIndex[]): number {
  const ov = new Overlay(layers);
  const node = ov.resolve(ov.root, TARGET);
  const n = ov.read(node as Parameters<Overlay['read']>[0], 0, buf);
  if (n !== APP) throw new Error(`read ${String(n)}`);
  return n;
}

/** A flattened image: every visible path (no leading /) → its layer node and layer. */
type Flat = Map<string, { node: LayerNode; layer: number }>;

/** Merges the layers bottom first into one Map, as a flattening runtime does. */
function flatten(layers: readonly LayerIndex[]): Flat {
  const flat: Flat = new Map();
  const removeUnder = (prefix: string): void => {
    for (const k of flat.keys()) if (k.startsWith(prefix)) flat.delete(k);
  };
  layers.forEach((l, layer) => {
    const walk = (dir: LayerDir, prefix: string): void => {
      if (dir.opaque && prefix !== '') removeUnder(prefix);
      for (const name of dir.whiteouts) {
        flat.delete(prefix + name);
        removeUnder(`${prefix}${name}/`);
      }
      for (const [name, node] of dir.children) {
        const path = prefix + name;
        const prev = flat.get(path);
        if (prev !== undefined && prev.node.kind === 'dir' && node.kind !== 'dir') removeUnder(`${path}/`);
        flat.set(path, { node, layer });
        if (node.kind === 'dir') walk(node, `${path}/`);
      }
    };
    walk(l.root, '');
  });
  return flat;
}

function readFlat(flat: Flat, layers: readonly LayerIndex[]): number {
  const e = flat.get(TARGET);
  if (e === undefined || e.node.kind !== 'file') throw new Error('not found');
  const bytes = (layers[e.layer] as LayerIndex).bytes;
  buf.set(bytes.subarray(e.node.offset, e.node.offset + e.node.size));
  return e.node.size;
}

const results: { image: Image; rows: Row[] }[] = [];
for (const img of images) {
  const pre = flatten(img.layers);
  if (readFlat(pre, img.layers) !== skiffFirstRead(img.layers)) throw new Error('mismatch');
  const rows = await compare(
    `mount to first read (64 KiB), ${img.label} image, ${img.entries} entries`,
    [
      { name: 'skiff new Overlay + resolve + read', fn: () => skiffFirstRead(img.layers) },
      { name: 'flatten layers to a Map + read', fn: () => readFlat(flatten(img.layers), img.layers), baseline: true },
      { name: 'copy a pre-flattened Map + read', fn: () => readFlat(new Map(pre), img.layers) },
    ],
    { timeMs: 1500, warmupMs: 300, iterations: 10, warmupIterations: 3 },
  );
  results.push({ image: img, rows });
}

// Flatness: p50 per image size, and the growth from the smallest image to the largest.
console.log('\nmount to first read, p50 by image size');
const names = (results[0] as (typeof results)[0]).rows.map((r) => r.name);
const fmtMs = (v: number): string => (v < 1 ? `${(v * 1000).toFixed(1)} µs` : `${v.toFixed(2)} ms`);
const header = ['case', ...results.map((r) => r.image.label), `${images[2]?.label} / ${images[0]?.label}`];
const body = names.map((name, i) => {
  const p = results.map((r) => (r.rows[i] as Row).p50Ms);
  return [name, ...p.map(fmtMs), `${((p[2] as number) / (p[0] as number)).toFixed(1)}×`];
});
const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
console.log(line(header));
for (const b of body) console.log(line(b));

/**
 * Copy-up cost: a 1-byte write into the middle of a lower file of 4 KiB, 1 MiB and
 * 64 MiB. skiff: a fresh `Overlay` over the same indexed layer each call, then open +
 * write of one byte (copy-up is O(1) and the write copies one 64 KiB chunk at most, so
 * the cost should not depend on the file's size). Baseline: a memfs copy-on-write
 * emulation, the whole file copied to the upper path then the byte written
 * (`vol.writeFileSync(copy, vol.readFileSync(src))`, open, `writeSync`, close), which is
 * what a whole-file copy-up costs. A reference row times skiff's fresh overlay + open
 * without the write, the part of the skiff row that is not copy-up.
 */
import { Volume } from 'memfs';
import { indexLayer } from '../../src/layers/layer-import.js';
import { Overlay, type Node } from '../../src/layers/overlay.js';
import { compare, type Row } from '../harness.js';
import { KiB, MiB, TarWriter, fillBinary } from './fixtures.js';

const SIZES: [string, number][] = [
  ['4 KiB', 4 * KiB],
  ['1 MiB', 1 * MiB],
  ['64 MiB', 64 * MiB],
];

const w = new TarWriter(SIZES.reduce((n, [, s]) => n + TarWriter.memberBytes(s), 0) + 4096);
w.dir('data');
const vol = new Volume();
vol.mkdirSync('/lower/data', { recursive: true });
vol.mkdirSync('/upper/data', { recursive: true });
for (const [label, size] of SIZES) {
  const name = `data/f-${label.replace(' ', '')}`;
  const body = w.file(name, size);
  fillBinary(body, size);
  vol.writeFileSync(`/lower/${name}`, body);
}
const layer = indexLayer(w.finish(), 'copyup');
const one = new Uint8Array([0x42]);

const results: { label: string; rows: Row[] }[] = [];
for (const [label, size] of SIZES) {
  const name = `data/f-${label.replace(' ', '')}`;
  const pos = Math.floor(size / 2);
  const skiff = (write: boolean): void => {
    const ov = new Overlay([layer]);
    const node = ov.open(ov.root, name) as Node;
    if (write && ov.write(node, pos, one) !== 1) throw new Error('write failed');
  };
  const memfs = (): void => {
    vol.writeFileSync(`/upper/${name}`, vol.readFileSync(`/lower/${name}`));
    const fd = vol.openSync(`/upper/${name}`, 'r+');
    vol.writeSync(fd, one, 0, 1, pos);
    vol.closeSync(fd);
  };
  // Check both do what they claim once.
  const ov = new Overlay([layer]);
  const node = ov.open(ov.root, name) as Node;
  ov.write(node, pos, one);
  const back = new Uint8Array(size);
  ov.read(node, 0, back);
  memfs();
  const copy = vol.readFileSync(`/upper/${name}`) as Buffer;
  if (back[pos] !== 0x42 || !copy.equals(back)) throw new Error(`${label}: skiff and memfs disagree`);

  const rows = await compare(
    `copy-up: 1-byte write into a ${label} lower file`,
    [
      { name: 'skiff new Overlay + open + write 1 B', fn: () => skiff(true) },
      { name: 'memfs whole-file copy + write 1 B', fn: memfs, baseline: true },
      { name: 'skiff new Overlay + open (no write)', fn: () => skiff(false) },
    ],
    { timeMs: 1500, warmupMs: 300, iterations: 10, warmupIterations: 3 },
  );
  results.push({ label, rows });
}

console.log('\ncopy-up, p50 by file size');
const fmtMs = (v: number): string => (v < 1 ? `${(v * 1000).toFixed(1)} µs` : `${v.toFixed(2)} ms`);
const header = ['case', ...results.map((r) => r.label), `${SIZES[2]?.[0]} / ${SIZES[0]?.[0]}`];
const body = (results[0] as (typeof results)[0]).rows.map((row0, i) => {
  const p = results.map((r) => (r.rows[i] as Row).p50Ms);
  return [row0.name, ...p.map(fmtMs), `${((p[2] as number) / (p[0] as number)).toFixed(1)}×`];
});
const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
console.log(line(header));
for (const b of body) console.log(line(b));

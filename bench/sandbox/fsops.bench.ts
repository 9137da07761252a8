/**
 * A syscall-heavy run: the `manyfiles` guest (guests/c/manyfiles.c) creates N files of
 * 128 bytes in 16 directories, stats them, reads them back, renames half of them, lists
 * the directories and unlinks everything — about 10 WASI calls per file. The same module
 * with the same arguments (`manyfiles /tmp N 128`) runs:
 *
 * - skiff as a container: `Sandbox.run` on a warm pool, the files in the container's own
 *   root overlay (`/tmp`, made by the guest), including the hand-off to the container's
 *   thread and back;
 * - skiff's `Preview1` in this thread over a fresh overlay root (the same WASI layer and
 *   filesystem without the thread hop);
 * - node:wasi in this thread, with `/tmp` a directory on tmpfs (/dev/shm): real syscalls
 *   into the kernel's in-memory filesystem;
 * - @bjorn3/browser_wasi_shim in this thread, `/tmp` a `PreopenDirectory` over an
 *   in-memory tree (the shim's own implementation of every call).
 *
 * Every run's stdout (counts and checksums) must be the same on all four: this is checked
 * for one run of each before anything is timed, and again for every timed run. The guest
 * also reports its phases' durations (MANYFILES_TIMES, on stderr); the medians are printed
 * after each table.
 *
 * N = 1,000 and 10,000 go through the harness (tinybench). N = 100,000 is timed here with
 * a fixed number of runs (a warm-up and 3 timed runs each), because the shim needs about a
 * minute for one run (its `fd_readdir` copies the whole directory for every entry): it is
 * run once, and that run is both checked and timed.
 */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { WASI as NodeWASI } from 'node:wasi';
import { ConsoleStdout, PreopenDirectory, WASI as ShimWASI } from '@bjorn3/browser_wasi_shim';
import { Runtime, Sandbox, nodePlatform } from '../../src/index.js';
import { Overlay } from '../../src/layers/overlay.js';
import { OverlayFs } from '../../src/sandbox/overlay-fs.js';
import { Vfs } from '../../src/sandbox/vfs.js';
import { Preview1 } from '../../src/sandbox/wasi/preview1.js';
import { compare, printTable, type Case, type Row } from '../harness.js';

const SIZE = 128;
const bytes = await readFile(new URL('../../../guests/wasm/manyfiles.wasm', import.meta.url));
const module = await WebAssembly.compile(bytes);
const runtime = new Runtime({ platform: nodePlatform });
await runtime.warm();
// tmpfs on Linux; elsewhere the temp dir (whatever filesystem that is).
const shm = mkdtempSync(`${existsSync('/dev/shm') ? '/dev/shm' : tmpdir()}/skiff-fsops-`);
const hostRoot = `${shm}/root`;
mkdirSync(hostRoot);
const decoder = new TextDecoder();
const PHASES = ['create', 'stat', 'read', 'rename', 'list', 'unlink'] as const;

interface Outcome {
  exitCode: number;
  stdout: string;
  stderr: string;
}

const args = (n: number): string[] => ['/tmp', String(n), String(SIZE)];

const runners: { name: string; run: (n: number) => Outcome | Promise<Outcome> }[] = [
  {
    name: 'skiff Sandbox.run (own thread)',
    run: async (n) => {
      const r = await Sandbox.run(module, { name: 'manyfiles', args: args(n), env: { MANYFILES_TIMES: '1' }, runtime });
      return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
    },
  },
  {
    name: 'skiff Preview1 (caller thread)',
    run: (n) => {
      const vfs = new Vfs(new OverlayFs(new Overlay([])));
      const out: Uint8Array[] = [];
      const err: Uint8Array[] = [];
      const wasi = new Preview1({
        args: ['manyfiles', ...args(n)],
        env: ['MANYFILES_TIMES=1'],
        vfs,
        preopens: [{ name: '/', dir: vfs.root }],
        stdio: { stdout: (c) => out.push(c), stderr: (c) => err.push(c) },
      });
      const exitCode = wasi.start(new WebAssembly.Instance(module, wasi.imports) as unknown as Parameters<Preview1['start']>[0]);
      return { exitCode, stdout: text(out), stderr: text(err) };
    },
  },
  {
    name: 'node:wasi (caller thread, tmpfs)',
    run: (n) => {
      const outFile = `${shm}/stdout`;
      const errFile = `${shm}/stderr`;
      const stdout = openSync(outFile, 'w');
      const stderr = openSync(errFile, 'w');
      try {
        const wasi = new NodeWASI({
          version: 'preview1',
          args: ['manyfiles', ...args(n)],
          env: { MANYFILES_TIMES: '1' },
          preopens: { '/tmp': hostRoot },
          stdout,
          stderr,
          returnOnExit: true,
        });
        const exitCode = wasi.start(new WebAssembly.Instance(module, wasi.getImportObject() as WebAssembly.Imports));
        return { exitCode, stdout: readFileSync(outFile, 'utf8'), stderr: readFileSync(errFile, 'utf8') };
      } finally {
        closeSync(stdout);
        closeSync(stderr);
      }
    },
  },
  {
    name: 'browser_wasi_shim (caller thread, in memory)',
    run: (n) => {
      const out: Uint8Array[] = [];
      const err: Uint8Array[] = [];
      // ConsoleStdout hands over a view of guest memory: copy it.
      const stdout = new ConsoleStdout((b) => out.push(b.slice()));
      const stderr = new ConsoleStdout((b) => err.push(b.slice()));
      const wasi = new ShimWASI(['manyfiles', ...args(n)], ['MANYFILES_TIMES=1'], [stdout, stdout, stderr, new PreopenDirectory('/tmp', new Map())], { debug: false });
      const exitCode = wasi.start(new WebAssembly.Instance(module, { wasi_snapshot_preview1: wasi.wasiImport }) as unknown as Parameters<ShimWASI['start']>[0]);
      return { exitCode, stdout: text(out), stderr: text(err) };
    },
  },
];

function text(parts: Uint8Array[]): string {
  return parts.map((p) => decoder.decode(p, { stream: true })).join('') + decoder.decode();
}

/** Phase durations (ms) of every run, per case. */
const phases = new Map<string, Record<string, number[]>>();

/** Runs one case and checks its outcome against the expected stdout; records the phase times. */
async function checked(name: string, run: () => Outcome | Promise<Outcome>, expected: string | undefined): Promise<Outcome> {
  const r = await run();
  if (r.exitCode !== 0 || (expected !== undefined && r.stdout !== expected) || !/^checksum [0-9a-f]{16}$/m.test(r.stdout)) {
    throw new Error(`${name}: unexpected run (exit ${r.exitCode}):\n${r.stdout}${r.stderr}\nexpected:\n${expected ?? '(any)'}`);
  }
  if (readdirSync(hostRoot).length !== 0) throw new Error(`${name}: files left in ${hostRoot}`);
  const rec = phases.get(name) ?? {};
  phases.set(name, rec);
  for (const m of r.stderr.matchAll(/^time (\w+) ([\d.]+)$/gm)) (rec[m[1] as string] ??= []).push(Number(m[2]));
  return r;
}

/** One run of each case; all must print the same. Returns that output. */
async function reference(n: number, skip: readonly string[] = []): Promise<string> {
  let expected: string | undefined;
  for (const r of runners) {
    if (skip.includes(r.name)) continue;
    const out = await checked(r.name, () => r.run(n), expected);
    expected ??= out.stdout;
  }
  return expected as string;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function printPhases(title: string): void {
  const header = ['phase (median ms)', ...runners.map((r) => r.name)];
  const rows = [...PHASES, 'total'].map((p) => [
    p,
    ...runners.map((r) => {
      const rec = phases.get(r.name);
      if (rec === undefined) return '';
      const v = p === 'total' ? PHASES.reduce((t, q) => t + median(rec[q] ?? [0]), 0) : median(rec[p] ?? [NaN]);
      return v.toFixed(1);
    }),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  phases.clear();
}

const cases = (n: number, expected: string): Case[] =>
  runners.map((r) => ({
    name: r.name,
    baseline: r.name.startsWith('node:wasi'),
    fn: () => checked(r.name, () => r.run(n), expected),
  }));

/** p50 per case and N, for the summary. */
const summary = new Map<string, Map<number, number>>();
const record = (n: number, rows: readonly Row[]): void => {
  for (const row of rows) {
    const m = summary.get(row.name) ?? new Map<number, number>();
    summary.set(row.name, m);
    m.set(n, row.p50Ms);
  }
};

try {
  for (const n of [1_000, 10_000]) {
    const expected = await reference(n);
    phases.clear();
    const title = `manyfiles ${n.toLocaleString('en-US')} files of ${SIZE} B (create, stat, read, rename half, list, unlink)`;
    record(n, await compare(title, cases(n, expected), { timeMs: n < 10_000 ? 2000 : 4000, warmupMs: 200, iterations: 5, warmupIterations: 2 }));
    printPhases(`phases, ${n.toLocaleString('en-US')} files`);
  }

  // 100,000 files: a warm-up and 3 timed runs each; the shim once (checked and timed).
  const n = 100_000;
  const shim = runners[3] as (typeof runners)[number];
  const expected = await reference(n, [shim.name]);
  const rows: Row[] = [];
  for (const r of runners) {
    const times: number[] = [];
    const runs = r === shim ? 1 : 3;
    if (r !== shim) await checked(r.name, () => r.run(n), expected); // warm-up (already checked once above)
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await checked(r.name, () => r.run(n), expected);
      times.push(performance.now() - t0);
    }
    rows.push(row(r.name, times));
  }
  const title = `manyfiles ${n.toLocaleString('en-US')} files of ${SIZE} B (3 timed runs after a warm-up; browser_wasi_shim: 1 run)`;
  const caseList: Case[] = runners.map((r) => ({ name: r.name, baseline: r.name.startsWith('node:wasi'), fn: () => undefined }));
  printTable(title, rows, caseList);
  record(n, rows);
  printPhases(`phases, ${n.toLocaleString('en-US')} files`);

  // Summary: p50 by N, and the cost per file at the largest N.
  const ns = [1_000, 10_000, 100_000];
  const header = ['case (p50)', ...ns.map((x) => `${x / 1000}k files`), 'µs per file at 100k'];
  const body = runners.map((r) => {
    const m = summary.get(r.name) ?? new Map<number, number>();
    return [r.name, ...ns.map((x) => fmtMs(m.get(x))), (((m.get(100_000) ?? NaN) * 1000) / 100_000).toFixed(1)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  console.log('\nmanyfiles, p50 by number of files');
  console.log(line(header));
  for (const b of body) console.log(line(b));
} finally {
  await runtime.close();
  rmSync(shm, { recursive: true, force: true });
}

/** A harness row from timed runs (ops/s as tinybench: the mean of 1000/ms; percentiles interpolated). */
function row(name: string, ms: readonly number[]): Row {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number): number => {
    const at = (s.length - 1) * p;
    const lo = Math.floor(at);
    const a = s[lo] as number;
    const b = s[Math.min(lo + 1, s.length - 1)] as number;
    return a + (at - lo) * (b - a);
  };
  return { name, opsPerSec: s.reduce((t, x) => t + 1000 / x, 0) / s.length, p50Ms: q(0.5), p99Ms: q(0.99), samples: s.length };
}

function fmtMs(v: number | undefined): string {
  if (v === undefined) return '';
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`;
}

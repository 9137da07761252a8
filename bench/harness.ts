/**
 * The benchmark harness: every benchmark runs skiff and at least one baseline in the same
 * process and prints them side by side, with the ratio to the first baseline. Numbers
 * from tinybench (latency percentiles from its samples). `npm run bench` runs every
 * `bench/**\/*.bench.ts` (compiled to dist/bench); `npm run bench -- NAME` runs those
 * whose file name contains NAME.
 */
import { Bench, type Task } from 'tinybench';

export interface Case {
  /** `skiff …` or the baseline's name (`node:wasi`, `memfs`, …). */
  name: string;
  fn: () => unknown;
  /** Marks the case the ratios are computed against (default: the first non-skiff case). */
  baseline?: boolean;
}

export interface Row {
  name: string;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  samples: number;
}

/** Runs the cases for about `timeMs` each and prints a table; returns the rows. */
export async function compare(title: string, cases: Case[], options: { timeMs?: number; warmupMs?: number } = {}): Promise<Row[]> {
  const bench = new Bench({ time: options.timeMs ?? 1000, warmupTime: options.warmupMs ?? 200 });
  for (const c of cases) bench.add(c.name, c.fn);
  await bench.run();
  const rows = bench.tasks.map((t: Task): Row => {
    const r = t.result;
    if (r.state !== 'completed') throw new Error(`${title}: ${t.name} did not complete: ${r.state === 'errored' ? String(r.error) : r.state}`);
    return { name: t.name, opsPerSec: r.throughput.mean, p50Ms: r.latency.p50, p99Ms: r.latency.p99, samples: r.latency.samplesCount };
  });
  printTable(title, rows, cases);
  return rows;
}

export function printTable(title: string, rows: Row[], cases: Case[]): void {
  const baseIndex = Math.max(0, cases.findIndex((c) => c.baseline) >= 0 ? cases.findIndex((c) => c.baseline) : cases.findIndex((c) => !c.name.startsWith('skiff')));
  const base = rows[baseIndex] as Row;
  console.log(`\n${title}`);
  const header = ['case', 'ops/s', 'p50', 'p99', 'samples', `vs ${base.name}`];
  const body = rows.map((r) => [r.name, fmt(r.opsPerSec), ms(r.p50Ms), ms(r.p99Ms), String(r.samples), `${(r.opsPerSec / base.opsPerSec).toFixed(2)}×`]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  console.log(line(header));
  for (const b of body) console.log(line(b));
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

function ms(v: number): string {
  return v < 1 ? `${(v * 1000).toFixed(1)} µs` : `${v.toFixed(2)} ms`;
}

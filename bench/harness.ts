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
  /** Bytes one call processes: when any case sets it, the table gets an MB/s column (10^6 bytes/s). */
  bytes?: number;
  /** Runs before each call, outside the timed window (a pause between calls, a reset). */
  beforeEach?: () => unknown;
}

export interface Row {
  name: string;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  samples: number;
}

/** Runs the cases for about `timeMs` each and prints a table; returns the rows. ops/s counts only the timed calls. */
export async function compare(
  title: string,
  cases: Case[],
  options: {
    timeMs?: number;
    warmupMs?: number;
    /** Minimum samples per case (tinybench's default, 64, is too many for calls of 100 ms or more). */
    iterations?: number;
    /** Minimum warmup calls per case (tinybench's default: 16). */
    warmupIterations?: number;
  } = {},
): Promise<Row[]> {
  const bench = new Bench({
    time: options.timeMs ?? 1000,
    warmupTime: options.warmupMs ?? 200,
    ...(options.iterations !== undefined ? { iterations: options.iterations } : {}),
    ...(options.warmupIterations !== undefined ? { warmupIterations: options.warmupIterations } : {}),
  });
  for (const c of cases) {
    const before = c.beforeEach;
    bench.add(c.name, c.fn, before !== undefined ? { beforeEach: async () => void (await before()) } : {});
  }
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
  const withBytes = cases.some((c) => c.bytes !== undefined);
  const header = ['case', 'ops/s', ...(withBytes ? ['MB/s'] : []), 'p50', 'p99', 'samples', `vs ${base.name}`];
  const body = rows.map((r, i) => [
    r.name,
    fmt(r.opsPerSec),
    ...(withBytes ? [mbps(cases[i]?.bytes, r.opsPerSec)] : []),
    ms(r.p50Ms),
    ms(r.p99Ms),
    String(r.samples),
    `${(r.opsPerSec / base.opsPerSec).toFixed(2)}×`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  console.log(line(header));
  for (const b of body) console.log(line(b));
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

/** Throughput in MB/s (10^6 bytes) of a case that processes `bytes` per call; '' without. */
function mbps(bytes: number | undefined, opsPerSec: number): string {
  return bytes === undefined ? '' : fmt((bytes * opsPerSec) / 1e6);
}

function ms(v: number): string {
  return v < 1 ? `${(v * 1000).toFixed(1)} µs` : `${v.toFixed(2)} ms`;
}

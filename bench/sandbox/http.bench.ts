/**
 * HTTP load on a published port (issue #5): the `http` guest (guests/c/http.c) in a skiff
 * container with port 80 published on 127.0.0.1, against the same http.c compiled
 * natively (`gcc -O2`) and run on the host, under the same load generator: Debian's `wrk`
 * at concurrency 100 (2 threads, keep-alive), `GET /` (the web example's 388-byte
 * index.html; every request also counts a hit in HITS_FILE: open, pread, pwrite,
 * ftruncate, close). wrk runs for a duration, not a number of requests (its Lua
 * `wrk.thread:stop()` stops sending but not the clock), so each round's duration is
 * chosen from the warm-up's rate to make at least 10,000 requests, and the round fails
 * if it made fewer. Any socket error, timeout or non-2xx response fails the benchmark.
 *
 * The native server gets its listening socket as the guest does, at fd 3: it is started
 * by `systemd-socket-activate -l 127.0.0.1:PORT`, so the server code is the same file.
 *
 * Each side gets a warm-up round of 1 s, then 5 measured rounds of 3 s (alternating);
 * the table shows the median round by requests/s. A third row, for reference, is the
 * in-process path (`runtime.fetch`, no TCP, one connection per request, 100 at once).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImageStore, MemoryFiles, Runtime, createImage, nodePlatform } from '../../src/index.js';
import { printTable, type Case, type Row } from '../harness.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const REQUESTS = 10_000;
const CONNECTIONS = 100;
const THREADS = 2;
const ROUNDS = 5;

for (const tool of ['wrk', 'gcc', 'systemd-socket-activate']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.log(`http.bench: skipped: ${tool} is not installed (Debian: apt-get install wrk gcc systemd)`);
    process.exit(0);
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'skiff-http-bench-'));
const www = join(root, 'examples/apps/web/www');

// ---------------------------------------------------------------- load generator

interface WrkResult {
  /** CPU time the server used per request (µs; user + system, all its threads). */
  cpuUsPerRequest?: number;
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: string[];
}

/** Runs wrk against `url` for `seconds` (rounded up: wrk takes whole seconds). */
function wrk(url: string, seconds: number): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const args = [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${Math.ceil(seconds)}s`, '--timeout', '5s', '--latency', url];
    const p = spawn('wrk', args);
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited ${code}:\n${out}`));
      const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? NaN);
      const latency = (pct: string): number => {
        const m = new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out);
        if (m === null) return NaN;
        return Number(m[1]) * (m[2] === 'us' ? 1e-3 : m[2] === 's' ? 1e3 : 1);
      };
      const errors: string[] = [];
      const socket = /Socket errors: (.*)/.exec(out);
      if (socket !== null) errors.push(`socket errors: ${socket[1] as string}`);
      const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
      if (non2xx !== null) errors.push(`${non2xx[1] as string} non-2xx responses`);
      const m = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(out);
      const seconds = m === null ? NaN : Number(m[2]) * (m[3] === 'ms' ? 1e-3 : m[3] === 'm' ? 60 : 1);
      resolve({ requests: Number(m?.[1] ?? NaN), seconds, rps: num(/Requests\/sec:\s+([\d.]+)/), p50Ms: latency('50'), p99Ms: latency('99'), errors });
    });
  });
}

// ---------------------------------------------------------------- the two servers

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function startNative(): Promise<{ port: number; process: ChildProcess }> {
  const binary = join(tmp, 'http-native');
  const cc = spawnSync('gcc', ['-O2', '-Wall', '-o', binary, join(root, 'guests/c/http.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`gcc failed:\n${cc.stderr}`);
  mkdirSync(join(tmp, 'data'));
  const port = await freePort();
  // systemd-socket-activate listens, then execs the server with the socket at fd 3 (LISTEN_FD unset: 3).
  const p = spawn('systemd-socket-activate', ['-E', `DOCROOT=${www}`, '-E', `HITS_FILE=${join(tmp, 'data/hits')}`, '-l', `127.0.0.1:${port}`, binary], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    p.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('Listening on')) resolve();
    });
    p.on('exit', (code) => reject(new Error(`systemd-socket-activate exited ${code}: ${err}`)));
  });
  return { port, process: p };
}

const store = await ImageStore.open(new MemoryFiles());
const files: Record<string, Uint8Array> = {};
for (const name of readdirSync(www)) files[`www/${name}`] = readFileSync(join(www, name));
await createImage(store, {
  ref: 'web:bench',
  layers: [files, { 'server.wasm': { content: await readFile(join(root, 'guests/wasm/http.wasm')), mode: 0o755 }, 'data/': { dir: true } }],
  config: { Entrypoint: ['/server.wasm'], Env: ['DOCROOT=/www', 'HITS_FILE=/data/hits'], ExposedPorts: { '80/tcp': {} } },
});
const runtime = new Runtime({ platform: nodePlatform, store });
await runtime.create({ image: 'web:bench', name: 'web', publish: [{ containerPort: 80, hostPort: 0 }] });
await runtime.start('web');
const skiffPort = runtime.inspect('web').ports[0]?.published[0]?.hostPort as number;
const native = await startNative();

// ---------------------------------------------------------------- rounds

/** CPU seconds (user + system) a process has used: /proc/PID/stat fields 14 and 15, in clock ticks (100 Hz on Linux). */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
const selfCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const targets = [
  // skiff's server is this process: its main thread forwards the TCP connections, a worker thread runs the guest.
  { name: `skiff, published port (wrk -t${THREADS} -c${CONNECTIONS})`, url: `http://127.0.0.1:${skiffPort}/`, cpu: selfCpu },
  // systemd-socket-activate execs the server: same pid.
  { name: `native gcc -O2 (wrk -t${THREADS} -c${CONNECTIONS})`, url: `http://127.0.0.1:${native.port}/`, cpu: () => cpuOf(native.process.pid as number) },
];
const results = new Map<string, WrkResult[]>(targets.map((t) => [t.name, []]));
const durations = new Map<string, number>();
try {
  for (const t of targets) {
    const warm = await wrk(t.url, 1);
    if (warm.errors.length > 0) throw new Error(`${t.name}, warm-up: ${warm.errors.join('; ')}`);
    // At least 3 s (a steadier p99), and enough for 10,000 requests at the warm-up's rate.
    durations.set(t.name, Math.max(3, (1.5 * REQUESTS) / warm.rps));
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of targets) {
      const cpu0 = t.cpu();
      const r = await wrk(t.url, durations.get(t.name) as number);
      r.cpuUsPerRequest = ((t.cpu() - cpu0) * 1e6) / r.requests;
      if (r.errors.length > 0) throw new Error(`${t.name}: ${r.errors.join('; ')}`);
      if (!(r.requests >= REQUESTS)) throw new Error(`${t.name}: ${r.requests} requests, fewer than ${REQUESTS}`);
      (results.get(t.name) as WrkResult[]).push(r);
      console.log(`  round ${round + 1}: ${t.name}: ${Math.round(r.rps)} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.requests} requests in ${r.seconds} s, server CPU ${(r.cpuUsPerRequest as number).toFixed(1)} µs/request, 0 errors`);
    }
  }

  // In process, for reference: runtime.fetch, 100 requests in flight, each on its own virtual connection.
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next++ < REQUESTS) {
        const s = performance.now();
        const res = await runtime.fetch('web', '/');
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`runtime.fetch: status ${res.status}`);
        latencies.push(performance.now() - s);
      }
    }),
  );
  const fetchSeconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] as number;

  const median = (rs: WrkResult[]): WrkResult => [...rs].sort((a, b) => a.rps - b.rps)[Math.floor(rs.length / 2)] as WrkResult;
  const rows: Row[] = targets.map((t) => {
    const m = median(results.get(t.name) as WrkResult[]);
    return { name: t.name, opsPerSec: m.rps, p50Ms: m.p50Ms, p99Ms: m.p99Ms, samples: m.requests };
  });
  rows.push({ name: `skiff runtime.fetch in process (${CONNECTIONS} at once)`, opsPerSec: REQUESTS / fetchSeconds, p50Ms: pct(50), p99Ms: pct(99), samples: REQUESTS });
  const cases: Case[] = rows.map((r, i) => ({ name: r.name, fn: () => undefined, baseline: i === 1 }));
  printTable(`GET / (388 B + a hit counted), at least ${REQUESTS.toLocaleString('en-US')} requests a round at concurrency ${CONNECTIONS}, median of ${ROUNDS} rounds; ops/s = requests/s`, rows, cases);
  const [s, n] = rows as [Row, Row];
  console.log(`p99 latency: skiff ${s.p99Ms.toFixed(2)} ms, native ${n.p99Ms.toFixed(2)} ms (${(s.p99Ms / n.p99Ms).toFixed(1)}× native)`);
  const cpu = (name: string): number => median(results.get(name) as WrkResult[]).cpuUsPerRequest as number;
  const [sc, nc] = [cpu(s.name), cpu(n.name)];
  console.log(`server CPU per request (median round): skiff ${sc.toFixed(1)} µs, native ${nc.toFixed(1)} µs (${(sc / nc).toFixed(1)}× native)`);
  for (let i = 0; i < 100 && runtime.connections('web').virtual > 0; i++) await new Promise((r) => setTimeout(r, 10));
  const conns = runtime.connections('web');
  console.log(`after the runs: ${conns.virtual} virtual and ${conns.forwarded} forwarded connections open; 0 errors in ${ROUNDS * 2 + 2} wrk runs`);
} finally {
  native.process.kill('SIGTERM');
  await runtime.close();
  rmSync(tmp, { recursive: true, force: true });
}

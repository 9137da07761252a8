/**
 * The API store (issue #6, item 8): writes/s in memory and with the file log, and API
 * mutation latency with 100 watchers attached — each beside a baseline measured in this
 * run. Every write is an `update` of one of 1,000 pods (a ~1 KB Pod, spec changed each
 * time, so every write bumps generation and is a real log record), the steady state of a
 * cluster; creates are measured once too.
 *
 * - In memory: skiff's store vs a plain `Map` holding the same objects (what a store with
 *   no validation, history, events or freezing costs), and a `Map` that copies each object
 *   in with structuredClone (the copy-in half of a "copy in and out" store).
 * - File log: skiff's store (append + fdatasync per group commit) with 1 and 64
 *   concurrent writers vs the raw floor: `FileHandle.write` + `datasync` per write, with
 *   1 and 64 concurrent writers, on the same disk (the OS temp dir).
 * - Latency with 100 watchers: each watcher a `for await` loop; p50/p99 of the update's
 *   own latency, and of the time until all 100 watchers have the event; beside the same
 *   store with no watcher.
 * - Value handling: what it costs to take a Pod in (freezeCopy, skiff's choice) vs
 *   structuredClone and a JSON round trip (the alternatives), once per write or read.
 *
 * Each case runs for a fixed time after a warm-up; ops/s is completed writes over wall
 * time, latencies are per write (from the call to its promise resolving).
 */
import { open } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../src/cluster/api/types.js';
import { openStore, unwrap, type Store } from '../../src/cluster/store/index.js';
import { freezeCopy } from '../../src/cluster/store/values.js';
import { NodeLogFiles } from '../../src/platform/node/log-files.js';
import { compare, printTable, type Case, type Row } from '../harness.js';

const PODS = 1000;
const RUN_MS = Number(process.env.STORE_BENCH_MS ?? 2000);
const WARM_MS = 300;
const scratch = mkdtempSync(join(tmpdir(), 'skiff-store-bench-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;

function makePod(i: number, gen = 0): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `web-${i}`,
      namespace: 'default',
      labels: { app: 'web', tier: 'frontend', 'pod-template-hash': '7d4b9c8f5' },
      annotations: { 'skiff.dev/revision': String(gen), 'kubectl.kubernetes.io/restartedAt': '2026-01-01T00:00:00Z' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9c8f5', uid: '4b6a1c2e-0d9f-4a51-9a57-2f0c8e1d3b7a', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      nodeName: `node-${i % 5}`,
      restartPolicy: 'Always',
      containers: [
        {
          name: 'web',
          image: `registry.example.com/web:1.${gen}`,
          ports: [{ containerPort: 80, protocol: 'TCP' }],
          env: [
            { name: 'MODE', value: 'production' },
            { name: 'GENERATION', value: String(gen) },
          ],
          resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } },
          readinessProbe: { httpGet: { path: '/healthz', port: 80 }, periodSeconds: 5 },
        },
      ],
      volumes: [{ name: 'data', emptyDir: {} }],
    },
    status: { phase: 'Running', podIP: `10.0.${i >> 8}.${i & 255}`, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

interface Op {
  (worker: number, i: number): unknown;
}

/** Runs `concurrency` loops of `op` for RUN_MS (after WARM_MS of warm-up) and reports writes/s and per-write latency. */
async function measure(name: string, op: Op, concurrency = 1, runMs = RUN_MS): Promise<Row> {
  const run = async (ms: number, record: boolean): Promise<{ n: number; lat: number[]; wall: number }> => {
    const lat: number[] = [];
    let n = 0;
    const start = performance.now();
    const end = start + ms;
    await Promise.all(
      Array.from({ length: concurrency }, async (_, w) => {
        for (let i = 0; performance.now() < end; i++) {
          const t0 = performance.now();
          await op(w, i);
          if (record) lat.push(performance.now() - t0);
          n++;
        }
      }),
    );
    return { n, lat, wall: performance.now() - start };
  };
  await run(WARM_MS, false);
  (globalThis as { gc?: () => void }).gc?.();
  const r = await run(runMs, true);
  r.lat.sort((a, b) => a - b);
  const pct = (p: number): number => r.lat[Math.min(r.lat.length - 1, Math.floor(r.lat.length * p))] ?? 0;
  return { name, opsPerSec: (r.n / r.wall) * 1000, p50Ms: pct(0.5), p99Ms: pct(0.99), samples: r.n };
}

/** An op that updates pod `(worker, i)`'s spec: each worker owns its own slice of the pods, so writers never conflict. */
function updater(store: Store, concurrency: number): Op {
  const per = Math.floor(PODS / concurrency);
  const gens = new Array<number>(PODS).fill(0);
  return async (w, i) => {
    const idx = w * per + (i % per);
    const cur = unwrap(store.get({ kind: 'Pod', namespace: 'default', name: `web-${idx}` }));
    const gen = ++gens[idx]!;
    const next = makePod(idx, gen);
    unwrap(await store.update({ ...next, metadata: { ...next.metadata, resourceVersion: cur.metadata.resourceVersion } }));
  };
}

async function seeded(log?: NodeLogFiles): Promise<Store> {
  const store = await openStore({ garbageCollector: false, ...(log ? { log } : {}) });
  for (let i = 0; i < PODS; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => store.create(makePod(i + j))));
  return store;
}

const table = (title: string, rows: Row[], baseline: string): void => {
  const cases: Case[] = rows.map((r) => ({ name: r.name, fn: () => undefined, baseline: r.name === baseline }));
  printTable(title, rows, cases);
};

// ---------------------------------------------------------------------------------------
// In memory

{
  const rows: Row[] = [];
  const mem = await seeded();
  rows.push(await measure('skiff store, update (1 writer)', updater(mem, 1)));
  rows.push(await measure('skiff store, update (64 writers)', updater(mem, 64), 64));
  let created = 0;
  rows.push(await measure('skiff store, create (1 writer)', async () => unwrap(await mem.create(makePod(PODS + created++)))));
  await mem.close();

  const map = new Map<string, KubeObject>();
  let rev = 0;
  for (let i = 0; i < PODS; i++) map.set(`default/web-${i}`, makePod(i));
  const gens = new Array<number>(PODS).fill(0);
  rows.push(
    await measure('Map.set (no validation, events or history)', async (_w, i) => {
      const idx = i % PODS;
      const cur = map.get(`default/web-${idx}`) as KubeObject;
      const next = makePod(idx, ++gens[idx]!);
      map.set(`default/web-${idx}`, { ...next, metadata: { ...next.metadata, uid: cur.metadata.uid, resourceVersion: String(++rev) } });
    }),
  );
  rows.push(
    await measure('Map.set + structuredClone (copy in)', async (_w, i) => {
      const idx = i % PODS;
      const next = makePod(idx, ++gens[idx]!);
      map.set(`default/web-${idx}`, structuredClone({ ...next, metadata: { ...next.metadata, resourceVersion: String(++rev) } }));
    }),
  );
  table('store writes, in memory (update of 1 of 1,000 ~1 KB pods)', rows, 'Map.set (no validation, events or history)');
}

// ---------------------------------------------------------------------------------------
// File log

{
  const rows: Row[] = [];
  for (const concurrency of [1, 64]) {
    const dir = join(scratch, `log-${dirs++}`);
    const store = await seeded(new NodeLogFiles(dir));
    rows.push(await measure(`skiff store + file log, update (${concurrency} writer${concurrency > 1 ? 's' : ''})`, updater(store, concurrency), concurrency));
    const stats = (store as Store & { persistence?: { stats: { syncs: number; records: number; snapshots: number } } }).persistence?.stats;
    if (stats) console.log(`  (${concurrency} writers: ${stats.records} records in ${stats.syncs} fsyncs, ${(stats.records / stats.syncs).toFixed(1)} per fsync; ${stats.snapshots} snapshots)`);
    await store.close();
  }
  const record = new TextEncoder().encode(JSON.stringify(makePod(1, 1)));
  for (const concurrency of [1, 64]) {
    const fh = await open(join(scratch, `raw-${dirs++}`), 'a');
    rows.push(
      await measure(
        `raw FileHandle.write + datasync per write (${concurrency} writer${concurrency > 1 ? 's' : ''})`,
        async () => {
          await fh.write(record);
          await fh.datasync();
        },
        concurrency,
      ),
    );
    await fh.close();
  }
  table('store writes, file log (every write fdatasync-ed before it is acknowledged)', rows, 'raw FileHandle.write + datasync per write (1 writer)');
}

// ---------------------------------------------------------------------------------------
// Mutation latency with 100 watchers

async function withWatchers(name: string, store: Store, watchers: number): Promise<Row[]> {
  const sent = new Map<number, number>();
  const seen = new Map<number, number>();
  const delivered: number[] = [];
  const loops: Promise<void>[] = [];
  const ws = [];
  for (let i = 0; i < watchers; i++) {
    const w = unwrap(store.watch('Pod', { resourceVersion: String(store.revision), maxPending: 1_000_000 }));
    ws.push(w);
    loops.push(
      (async () => {
        for await (const ev of w) {
          const rv = Number(ev.object.metadata.resourceVersion);
          const n = (seen.get(rv) ?? 0) + 1;
          if (n === watchers) {
            seen.delete(rv);
            const t0 = sent.get(rv);
            if (t0 !== undefined) delivered.push(performance.now() - t0);
            sent.delete(rv);
          } else seen.set(rv, n);
        }
      })(),
    );
  }
  const up = updater(store, 1);
  const row = await measure(`${name}, ${watchers} watchers: update`, async (w, i) => {
    sent.set(store.revision + 1, performance.now());
    await up(w, i);
  });
  for (const w of ws) w.close();
  await Promise.all(loops);
  const rows = [row];
  if (watchers > 0) {
    delivered.sort((a, b) => a - b);
    const pct = (p: number): number => delivered[Math.min(delivered.length - 1, Math.floor(delivered.length * p))] ?? 0;
    rows.push({ name: `${name}, ${watchers} watchers: until all have the event`, opsPerSec: row.opsPerSec, p50Ms: pct(0.5), p99Ms: pct(0.99), samples: delivered.length });
  }
  return rows;
}

{
  const rows: Row[] = [];
  const mem = await seeded();
  rows.push(...(await withWatchers('memory', mem, 0)));
  rows.push(...(await withWatchers('memory', mem, 100)));
  await mem.close();
  const logged = await seeded(new NodeLogFiles(join(scratch, `log-${dirs++}`)));
  rows.push(...(await withWatchers('file log', logged, 0)));
  rows.push(...(await withWatchers('file log', logged, 100)));
  await logged.close();
  table('API mutation latency with watchers (1 writer, sequential updates)', rows, 'memory, 0 watchers: update');
}

// ---------------------------------------------------------------------------------------
// Value handling

{
  const podValue = makePod(7, 3);
  const stored = freezeCopy(podValue);
  if (!stored.ok) throw new Error('pod is not JSON');
  const frozen = stored.value;
  await compare('value handling: one ~1 KB Pod (per write, or per read for a copy-out store)', [
    { name: 'skiff freezeCopy (copy + deep-freeze, a new object)', fn: () => freezeCopy(makePod(7, 3)) },
    { name: 'skiff freezeCopy of { ...stored, status } (shares frozen subtrees)', fn: () => freezeCopy({ ...frozen, status: { phase: 'Running' } }) },
    { name: 'structuredClone', fn: () => structuredClone(makePod(7, 3)), baseline: true },
    { name: 'JSON.parse(JSON.stringify(…))', fn: () => JSON.parse(JSON.stringify(makePod(7, 3))) as unknown },
    { name: 'makePod alone (the object literal, for reference)', fn: () => makePod(7, 3) },
  ]);
}

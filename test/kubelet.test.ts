/**
 * Kubelets end to end: real kubelet threads (dist/src/platform/node/kubelet-main.js) with
 * real container threads nested in them, real guests (the `http` server guest, and tiny
 * modules that exit with a code), a real in-memory API store. Cluster time is a FakeClock
 * where timing is the point (back-off, probes), real time elsewhere.
 */
import { readFile, readdir } from 'node:fs/promises';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock, realClock, type Clock } from '../src/cluster/clock.js';
import { ClaimVolumes, NodeHost, type NodeHostOptions } from '../src/cluster/kubelet/index.js';
import type { Container, Node, Pod, PodSpec } from '../src/cluster/objects/index.js';
import { openStore, type Store } from '../src/cluster/store/index.js';
import { createImage } from '../src/layers/build.js';
import { MemoryFiles } from '../src/layers/files.js';
import { ImageStore } from '../src/layers/image-store.js';
import { nodePlatform } from '../src/platform/node/index.js';
import type { ForwardTarget } from '../src/platform/platform.js';
import { I32, assemble, oomTrapModule, op, yieldLoopModule } from './helpers/wasm.js';

const root = new URL('..', import.meta.url);
const images = await ImageStore.open(new MemoryFiles());
const hosts: NodeHost[] = [];

/** A module that exits with `code` at once. */
function exitModule(code: number): Uint8Array {
  return assemble({ types: [[[I32], []], [[], []]], imports: [['proc_exit', 0]], memory: { min: 1 }, funcs: [{ type: 1, body: [op.i32(code), op.call(0)] }] });
}

beforeAll(async () => {
  const www: Record<string, Uint8Array> = {};
  for (const name of await readdir(new URL('examples/apps/web/www/', root))) www[`www/${name}`] = await readFile(new URL(`examples/apps/web/www/${name}`, root));
  await createImage(images, {
    ref: 'web:test',
    layers: [www, { 'server.wasm': { content: await readFile(new URL('guests/wasm/http.wasm', root)), mode: 0o755 }, 'data/': { dir: true } }],
    config: { Entrypoint: ['/server.wasm'], Env: ['DOCROOT=/www', 'HITS_FILE=/data/hits'], ExposedPorts: { '80/tcp': {} } },
  });
  await createImage(images, { ref: 'crash:test', layers: [{ 'crash.wasm': { content: exitModule(3), mode: 0o755 } }], config: { Entrypoint: ['/crash.wasm'] } });
  await createImage(images, {
    ref: 'webx:test',
    layers: [www, { 'server.wasm': { content: await readFile(new URL('guests/wasm/http.wasm', root)), mode: 0o755 }, 'ok.wasm': { content: exitModule(0), mode: 0o755 }, 'fail.wasm': { content: exitModule(3), mode: 0o755 }, 'data/': { dir: true } }],
    config: { Entrypoint: ['/server.wasm'], Env: ['DOCROOT=/www', 'HITS_FILE=/data/hits'], ExposedPorts: { '80/tcp': {} } },
  });
  await createImage(images, { ref: 'oom:test', layers: [{ 'oom.wasm': { content: oomTrapModule(), mode: 0o755 } }], config: { Entrypoint: ['/oom.wasm'] } });
  await createImage(images, { ref: 'spin:test', layers: [{ 'spin.wasm': { content: yieldLoopModule(), mode: 0o755 } }], config: { Entrypoint: ['/spin.wasm'] } });
  await createImage(images, { ref: 'done:test', layers: [{ 'done.wasm': { content: exitModule(0), mode: 0o755 } }], config: { Entrypoint: ['/done.wasm'] } });
});

afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.kill()));
});

let lastStore: Store | undefined;
async function cluster(clock: Clock = realClock): Promise<Store> {
  lastStore = await openStore({ now: () => clock.now() });
  return lastStore;
}

async function startNode(store: Store, name: string, extra: Partial<NodeHostOptions> = {}): Promise<NodeHost> {
  const host = await NodeHost.start({ name, store, images, platform: nodePlatform, ...extra });
  hosts.push(host);
  return host;
}

async function createPod(store: Store, name: string, node: string, containers: Container[], spec: Partial<PodSpec> = {}): Promise<void> {
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName: node, containers, ...spec } };
  const r = await store.create(pod);
  if (!r.ok) throw r.error;
}

function getPod(store: Store, name: string): Pod | undefined {
  const r = store.get<Pod>({ kind: 'Pod', namespace: 'default', name });
  return r.ok ? r.value : undefined;
}

function nodeReady(store: Store, name: string): string | undefined {
  const r = store.get<Node>({ kind: 'Node', namespace: '', name });
  return r.ok ? r.value.status?.conditions?.find((c) => c.type === 'Ready')?.status : undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` in real time. */
async function until<T>(what: string, check: () => T | undefined | false, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; pods: ${JSON.stringify(lastStore?.list('Pod').ok ? (lastStore.list('Pod') as { value: { items: unknown } }).value.items : [])}; events: ${JSON.stringify(hosts.flatMap((h) => h.events()))}`);
    await sleep(10);
  }
}

/** Sends an HTTP/1.0 request over `conn` and reads everything until the server closes. */
async function httpOver(conn: ForwardTarget, path: string): Promise<string> {
  const writer = conn.writable.getWriter();
  await writer.write(new TextEncoder().encode(`GET ${path} HTTP/1.0\r\nHost: pod\r\n\r\n`));
  const chunks: Uint8Array[] = [];
  const reader = conn.readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  conn.close();
  return Buffer.concat(chunks).toString('utf8');
}

const web = (extra: Partial<Container> = {}): Container => ({ name: 'web', image: 'web:test', ports: [{ containerPort: 80 }], ...extra });

describe('NodeHost and its kubelet thread', () => {
  it('registers a Ready node, runs a pod to Running+Ready (readiness httpGet) and dials its port', async () => {
    const store = await cluster();
    const node = await startNode(store, 'node-a', { index: 3 });
    const n = store.get<Node>({ kind: 'Node', namespace: '', name: 'node-a' });
    expect(n.ok && n.value.status?.capacity).toEqual({ cpu: '4', memory: '8Gi', pods: '110' });
    expect(nodeReady(store, 'node-a')).toBe('True');

    await createPod(store, 'web-1', 'node-a', [web({ readinessProbe: { httpGet: { path: '/', port: 80 }, periodSeconds: 1 } })]);
    const pod = await until('Ready', () => {
      const p = getPod(store, 'web-1');
      return p?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && p;
    });
    expect(pod.status?.phase).toBe('Running');
    expect(pod.status?.podIP).toMatch(/^10\.244\.3\.\d+$/);
    const cs = pod.status?.containerStatuses?.[0];
    expect(cs?.ready).toBe(true);
    expect(cs?.state?.running?.startedAt).toBeDefined();
    expect(pod.status?.conditions?.map((c) => c.type).sort()).toEqual(['ContainersReady', 'Initialized', 'PodScheduled', 'Ready']);

    const response = await httpOver(await node.dial('default', 'web-1', 80), '/');
    expect(response).toMatch(/^HTTP\/1\.[01] 200/);
    expect(response).toContain('<');
    await expect(node.dial('default', 'nope', 80)).rejects.toThrow(/not on node/);
  });

  it('relays a large response with flow control', async () => {
    const store = await cluster();
    const node = await startNode(store, 'node-big');
    await createPod(store, 'web-big', 'node-big', [web()]);
    await until('running', () => getPod(store, 'web-big')?.status?.containerStatuses?.[0]?.state?.running !== undefined);
    // Several concurrent requests; the window (256 KiB) is smaller than nothing here, but many round trips of credit happen.
    const responses = await Promise.all([1, 2, 3].map(async () => httpOver(await node.dial('default', 'web-big', 80), '/hits')));
    for (const r of responses) expect(r).toMatch(/^HTTP\/1\.[01] 200/);
  });

  it('marks the Node NotReady at once when its thread is killed', async () => {
    const store = await cluster();
    const node = await startNode(store, 'node-k');
    expect(nodeReady(store, 'node-k')).toBe('True');
    await node.kill();
    expect(nodeReady(store, 'node-k')).toBe('False');
    expect(node.running).toBe(false);
    await expect(node.dial('default', 'x', 80)).rejects.toThrow(/not running/);
    await sleep(200); // and nothing late makes it Ready again
    const n = store.get<Node>({ kind: 'Node', namespace: '', name: 'node-k' });
    expect(n.ok && n.value.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('NodeStatusUnknown');
  });

  it('marks the Node NotReady when its thread dies on its own', async () => {
    const store = await cluster();
    const node = await startNode(store, 'node-x', { kubeletModule: new URL('helpers/crashing-kubelet.mjs', import.meta.url) });
    expect(nodeReady(store, 'node-x')).toBe('True');
    await until('NotReady', () => nodeReady(store, 'node-x') === 'False', 5000);
    const n = store.get<Node>({ kind: 'Node', namespace: '', name: 'node-x' });
    expect(n.ok && n.value.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain('kubelet crashed');
    expect(node.running).toBe(false);
  });

  it('heartbeats in cluster time', async () => {
    const clock = new FakeClock();
    const store = await cluster(clock);
    await startNode(store, 'node-h', { clock });
    const beat = (): string | undefined => {
      const r = store.get<Node>({ kind: 'Node', namespace: '', name: 'node-h' });
      return r.ok ? r.value.status?.conditions?.find((c) => c.type === 'Ready')?.lastHeartbeatTime : undefined;
    };
    const first = beat();
    await clock.advance(10_000);
    await until('a later heartbeat', () => beat() !== first);
    expect(beat()).toBe(new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  });

  it('walks CrashLoopBackOff with 10s, 20s, 40s delays under a FakeClock', async () => {
    const clock = new FakeClock();
    const store = await cluster(clock);
    await startNode(store, 'node-c', { clock });
    await createPod(store, 'crash', 'node-c', [{ name: 'c', image: 'crash:test' }]);
    const status = (): NonNullable<NonNullable<Pod['status']>['containerStatuses']>[number] | undefined => getPod(store, 'crash')?.status?.containerStatuses?.[0];
    const backingOff = (restarts: number, seconds: number): boolean => {
      const s = status();
      return s?.restartCount === restarts && s.state?.waiting?.reason === 'CrashLoopBackOff' && (s.state.waiting.message ?? '').startsWith(`back-off ${seconds}s`);
    };
    await until('first back-off', () => backingOff(0, 10));
    expect(status()?.lastState?.terminated?.exitCode).toBe(3);
    expect(getPod(store, 'crash')?.status?.phase).toBe('Running');
    for (const [restarts, seconds] of [[0, 10], [1, 20], [2, 40]] as const) {
      await clock.advance(seconds * 1000 - 1000);
      await sleep(300);
      expect(status()?.restartCount).toBe(restarts); // not restarted before the delay is up
      await clock.advance(1000);
      await until(`restart ${restarts + 1}`, () => backingOff(restarts + 1, seconds * 2));
    }
    expect(status()?.restartCount).toBe(3);
  });

  it('runs init containers to completion first; a failing one holds the pod in Pending, or fails it under Never', async () => {
    const clock = new FakeClock();
    const store = await cluster(clock);
    const node = await startNode(store, 'node-i', { clock });
    await createPod(store, 'inited', 'node-i', [web()], { initContainers: [{ name: 'one', image: 'done:test' }, { name: 'two', image: 'done:test' }] });
    await createPod(store, 'stuck', 'node-i', [web()], { initContainers: [{ name: 'bad', image: 'crash:test' }] });
    await createPod(store, 'doomed', 'node-i', [web()], { initContainers: [{ name: 'bad', image: 'crash:test' }], restartPolicy: 'Never' });
    const pod = await until('inited running', () => getPod(store, 'inited')?.status?.containerStatuses?.[0]?.state?.running !== undefined && getPod(store, 'inited'));
    expect(pod.status?.initContainerStatuses?.map((c) => c.state?.terminated?.reason)).toEqual(['Completed', 'Completed']);
    expect(pod.status?.conditions?.find((c) => c.type === 'Initialized')?.status).toBe('True');
    expect(await httpOver(await node.dial('default', 'inited', 80), '/hits')).toMatch(/\r\n\r\n1\s*$/);

    const stuck = await until('stuck backs off', () => getPod(store, 'stuck')?.status?.initContainerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff' && getPod(store, 'stuck'));
    expect(stuck.status?.phase).toBe('Pending');
    expect(stuck.status?.conditions?.find((c) => c.type === 'Initialized')?.status).toBe('False');
    expect(stuck.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('PodInitializing');
    await clock.advance(10_000);
    await until('init restarted', () => getPod(store, 'stuck')?.status?.initContainerStatuses?.[0]?.restartCount === 1);

    const doomed = await until('doomed Failed', () => getPod(store, 'doomed')?.status?.phase === 'Failed' && getPod(store, 'doomed'));
    expect(doomed.status?.initContainerStatuses?.[0]?.state?.terminated?.exitCode).toBe(3);
    expect(doomed.status?.containerStatuses?.[0]?.state?.running).toBeUndefined();
  });

  it('restartPolicy Never: a failed container stays terminated and the pod Fails', async () => {
    const store = await cluster();
    await startNode(store, 'node-n');
    await createPod(store, 'never', 'node-n', [{ name: 'c', image: 'crash:test' }], { restartPolicy: 'Never' });
    const pod = await until('Failed', () => getPod(store, 'never')?.status?.phase === 'Failed' && getPod(store, 'never'));
    const cs = pod.status?.containerStatuses?.[0];
    expect(cs?.state?.terminated?.exitCode).toBe(3);
    expect(cs?.restartCount).toBe(0);
  });

  it('restartPolicy OnFailure: success completes the pod, failure restarts', async () => {
    const clock = new FakeClock();
    const store = await cluster(clock);
    await startNode(store, 'node-o', { clock });
    await createPod(store, 'ok', 'node-o', [{ name: 'c', image: 'done:test' }], { restartPolicy: 'OnFailure' });
    await createPod(store, 'bad', 'node-o', [{ name: 'c', image: 'crash:test' }], { restartPolicy: 'OnFailure' });
    const ok = await until('Succeeded', () => getPod(store, 'ok')?.status?.phase === 'Succeeded' && getPod(store, 'ok'));
    expect(ok.status?.containerStatuses?.[0]?.state?.terminated?.reason).toBe('Completed');
    await until('bad backs off', () => getPod(store, 'bad')?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff');
    await clock.advance(10_000);
    await until('bad restarted', () => getPod(store, 'bad')?.status?.containerStatuses?.[0]?.restartCount === 1);
    expect(getPod(store, 'ok')?.status?.containerStatuses?.[0]?.restartCount).toBe(0);
  });

  it('activeDeadlineSeconds fails the pod and kills its containers', async () => {
    const clock = new FakeClock();
    const store = await cluster(clock);
    await startNode(store, 'node-ad', { clock });
    await createPod(store, 'late', 'node-ad', [web()], { activeDeadlineSeconds: 30 });
    await until('running', () => getPod(store, 'late')?.status?.containerStatuses?.[0]?.state?.running !== undefined);
    await clock.advance(29_000);
    await sleep(100);
    expect(getPod(store, 'late')?.status?.phase).toBe('Running');
    await clock.advance(1000);
    const pod = await until('Failed', () => getPod(store, 'late')?.status?.phase === 'Failed' && getPod(store, 'late'));
    expect(pod.status?.reason).toBe('DeadlineExceeded');
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(137);
  });

  it('restarts a container whose liveness probe fails', async () => {
    const clock = new FakeClock();
    const store = await cluster(clock);
    await startNode(store, 'node-l', { clock });
    await createPod(store, 'sick', 'node-l', [web({ livenessProbe: { httpGet: { path: '/no-such-page', port: 80 }, periodSeconds: 1, failureThreshold: 2 } })]);
    await until('running', () => getPod(store, 'sick')?.status?.containerStatuses?.[0]?.state?.running !== undefined);
    // Two failed probes (404), one second apart, kill it; then the 10 s back-off.
    for (let i = 0; i < 30 && getPod(store, 'sick')?.status?.containerStatuses?.[0]?.lastState?.terminated === undefined; i++) {
      await clock.advance(1000);
      await sleep(100);
    }
    const cs = getPod(store, 'sick')?.status?.containerStatuses?.[0];
    expect(cs?.lastState?.terminated?.exitCode).toBe(137);
    await clock.advance(10_000);
    await until('restarted', () => getPod(store, 'sick')?.status?.containerStatuses?.[0]?.restartCount === 1);
  });

  it('a healthy liveness probe does not restart', async () => {
    const clock = new FakeClock();
    const store = await cluster(clock);
    await startNode(store, 'node-lh', { clock });
    await createPod(store, 'healthy', 'node-lh', [web({ livenessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1, failureThreshold: 1 } })]);
    await until('running', () => getPod(store, 'healthy')?.status?.containerStatuses?.[0]?.state?.running !== undefined);
    for (let i = 0; i < 5; i++) {
      await clock.advance(1000);
      await sleep(50);
    }
    const cs = getPod(store, 'healthy')?.status?.containerStatuses?.[0];
    expect(cs?.restartCount).toBe(0);
    expect(cs?.state?.running).toBeDefined();
  });

  it('readiness: a failing httpGet keeps the pod not Ready; exec probes run in the container', async () => {
    const clock = new FakeClock();
    const store = await cluster(clock);
    await startNode(store, 'node-r', { clock });
    await createPod(store, 'unready', 'node-r', [web({ readinessProbe: { httpGet: { path: '/no-such-page', port: 80 }, periodSeconds: 1 } })]);
    // An exec probe runs a program in a thread, in real time, while this test moves cluster
    // time 1 s per 50 ms: under the default 1 s timeout an exec slower than 50 ms timed out
    // (4 to 7 times before exec-ok was first Ready, at the 9th to 14th of the 40 steps this
    // loop had, under four busy loops). These probes are about what the command says, so
    // their timeout (300 s: 15 s of real time at least) lies beyond this loop's 10 s.
    const exec = { periodSeconds: 1, timeoutSeconds: 300 };
    await createPod(store, 'exec-ok', 'node-r', [web({ image: 'webx:test', readinessProbe: { exec: { command: ['/ok.wasm'] }, ...exec } })]);
    await createPod(store, 'exec-bad', 'node-r', [web({ image: 'webx:test', livenessProbe: { exec: { command: ['/fail.wasm'] }, ...exec, failureThreshold: 1 } })]);
    const ready = (name: string): string | undefined => getPod(store, name)?.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    for (const end = Date.now() + 10_000; Date.now() < end && (ready('exec-ok') !== 'True' || getPod(store, 'exec-bad')?.status?.containerStatuses?.[0]?.lastState?.terminated === undefined); ) {
      await clock.advance(1000);
      await sleep(50);
    }
    expect(ready('exec-ok')).toBe('True');
    expect(getPod(store, 'exec-bad')?.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode).toBe(137);
    expect(ready('unready')).toBe('False');
    expect(getPod(store, 'unready')?.status?.containerStatuses?.[0]?.state?.running).toBeDefined();
    expect(getPod(store, 'unready')?.status?.phase).toBe('Running');
  });

  it('a startup probe holds off liveness and readiness until it succeeds', async () => {
    const clock = new FakeClock();
    const store = await cluster(clock);
    await startNode(store, 'node-s', { clock });
    await createPod(store, 'slow', 'node-s', [web({ startupProbe: { tcpSocket: { port: 80 }, initialDelaySeconds: 5, periodSeconds: 1 } })]);
    await until('running', () => getPod(store, 'slow')?.status?.containerStatuses?.[0]?.state?.running !== undefined);
    await clock.advance(3000);
    await sleep(200);
    expect(getPod(store, 'slow')?.status?.containerStatuses?.[0]?.started).toBe(false);
    expect(getPod(store, 'slow')?.status?.containerStatuses?.[0]?.ready).toBe(false);
    await clock.advance(2000);
    await until('started and ready', () => {
      const cs = getPod(store, 'slow')?.status?.containerStatuses?.[0];
      return cs?.started === true && cs.ready;
    });
  });

  it('enforces resources.limits.memory (OOMKilled)', async () => {
    const store = await cluster();
    await startNode(store, 'node-m');
    await createPod(store, 'hog', 'node-m', [{ name: 'c', image: 'oom:test', resources: { limits: { memory: '1Mi' } } }], { restartPolicy: 'Never' });
    const pod = await until('Failed', () => getPod(store, 'hog')?.status?.phase === 'Failed' && getPod(store, 'hog'));
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated?.reason).toBe('OOMKilled');
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(137);
  });

  it('reports pod CPU: a spinning guest near 1000m, an idle server near 0m', async () => {
    const store = await cluster();
    const node = await startNode(store, 'node-cpu', { heartbeatSeconds: 1 });
    await createPod(store, 'spin', 'node-cpu', [{ name: 'c', image: 'spin:test' }]);
    await createPod(store, 'idle', 'node-cpu', [web()]);
    const cpu = (name: string): number | undefined => node.metrics().find((m) => m.name === name)?.cpuMillis;
    await until('two samples', () => {
      const spin = getPod(store, 'spin')?.status?.containerStatuses?.[0]?.state?.running;
      const idle = getPod(store, 'idle')?.status?.containerStatuses?.[0]?.state?.running;
      return spin !== undefined && idle !== undefined;
    });
    await sleep(2500); // a heartbeat after both have run a while
    expect(cpu('spin')).toBeGreaterThan(500);
    expect(cpu('idle')).toBeLessThan(300);
  });

  it('stop() is graceful: containers killed, thread ended, Node NotReady', async () => {
    const store = await cluster();
    const node = await startNode(store, 'node-g');
    await createPod(store, 'g', 'node-g', [web()]);
    await until('running', () => getPod(store, 'g')?.status?.containerStatuses?.[0]?.state?.running !== undefined);
    await node.stop();
    expect(node.running).toBe(false);
    const n = store.get<Node>({ kind: 'Node', namespace: '', name: 'node-g' });
    const readyCond = n.ok ? n.value.status?.conditions?.find((c) => c.type === 'Ready') : undefined;
    expect(readyCond?.status).toBe('False');
    expect(readyCond?.reason).toBe('KubeletStopped');
    // The kubelet reported its container killed before it went.
    expect(getPod(store, 'g')?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(137);
  });

  it('deletes a pod gracefully: containers killed, then the deletion confirmed', async () => {
    const store = await cluster();
    await startNode(store, 'node-d');
    await createPod(store, 'gone', 'node-d', [web()]);
    await until('running', () => getPod(store, 'gone')?.status?.containerStatuses?.[0]?.state?.running !== undefined);
    const r = await store.delete({ kind: 'Pod', namespace: 'default', name: 'gone' }, { gracePeriodSeconds: 30 });
    expect(r.ok && r.value.removed).toBe(false);
    await until('removed', () => getPod(store, 'gone') === undefined);
  });

  it('keeps PersistentVolumeClaim data across the pod being re-created on another node', async () => {
    const store = await cluster();
    const claims = new ClaimVolumes();
    const pvc = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: 'default' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Mi' } } },
    };
    const created = await store.create(pvc);
    if (!created.ok) throw created.error;
    const podSpec = (node: string): [Container[], Partial<PodSpec>] => [
      [web({ volumeMounts: [{ name: 'data', mountPath: '/data' }] })],
      { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }], nodeName: node },
    ];
    const a = await startNode(store, 'node-p1', { claims, index: 1 });
    await createPod(store, 'db', 'node-p1', ...podSpec('node-p1'));
    await until('running on p1', () => getPod(store, 'db')?.status?.containerStatuses?.[0]?.state?.running !== undefined);
    for (let i = 0; i < 3; i++) expect(await httpOver(await a.dial('default', 'db', 80), '/')).toMatch(/^HTTP\/1\.[01] 200/);
    expect(await httpOver(await a.dial('default', 'db', 80), '/hits')).toMatch(/\r\n\r\n4\s*$/);

    // The node dies; the pod is re-created on another node.
    await a.kill();
    await store.delete({ kind: 'Pod', namespace: 'default', name: 'db' });
    const b = await startNode(store, 'node-p2', { claims, index: 2 });
    await createPod(store, 'db', 'node-p2', ...podSpec('node-p2'));
    await until('running on p2', () => getPod(store, 'db')?.status?.containerStatuses?.[0]?.state?.running !== undefined);
    expect(getPod(store, 'db')?.status?.podIP).toMatch(/^10\.244\.2\./);
    expect(await httpOver(await b.dial('default', 'db', 80), '/hits')).toMatch(/\r\n\r\n5\s*$/);
  });

  it("shares an emptyDir between a pod's containers; dial picks the container by port", async () => {
    const store = await cluster();
    const node = await startNode(store, 'node-2c');
    await createPod(
      store,
      'two',
      'node-2c',
      [
        web({ volumeMounts: [{ name: 'shared', mountPath: '/data' }] }),
        web({ name: 'other', ports: [{ containerPort: 8080 }], volumeMounts: [{ name: 'shared', mountPath: '/data' }] }),
      ],
      { volumes: [{ name: 'shared', emptyDir: {} }] },
    );
    await until('both running', () => getPod(store, 'two')?.status?.containerStatuses?.every((c) => c.state?.running !== undefined) === true);
    expect(await httpOver(await node.dial('default', 'two', 80), '/')).toMatch(/^HTTP\/1\.[01] 200/);
    expect(await httpOver(await node.dial('default', 'two', 8080), '/hits')).toMatch(/\r\n\r\n2\s*$/);
    await expect(node.dial('default', 'two', 9999)).rejects.toThrow(/9999/);
  });

  it('a dialed stream feeds a real host port (Platform.publish, as a NodePort would)', async () => {
    const store = await cluster();
    const node = await startNode(store, 'node-np');
    await createPod(store, 'np', 'node-np', [web()]);
    await until('running', () => getPod(store, 'np')?.status?.containerStatuses?.[0]?.state?.running !== undefined);
    const published = await (nodePlatform.publish as NonNullable<typeof nodePlatform.publish>)({ port: 0, connect: () => node.dial('default', 'np', 80) });
    try {
      const res = await fetch(`http://127.0.0.1:${published.port}/hits`);
      expect(res.status).toBe(200);
      expect((await res.text()).trim()).toBe('1');
    } finally {
      await published.close();
    }
  });

  it('mounts emptyDir and configMap volumes and sets env from the pod', async () => {
    const store = await cluster();
    const node = await startNode(store, 'node-v');
    const cm = await store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'site', namespace: 'default' }, data: { 'index.html': 'from a configmap\n', docroot: '/site' } });
    if (!cm.ok) throw cm.error;
    await createPod(
      store,
      'cfg',
      'node-v',
      [
        web({
          env: [{ name: 'DOCROOT', valueFrom: { configMapKeyRef: { name: 'site', key: 'docroot' } } }],
          volumeMounts: [
            { name: 'site', mountPath: '/site' },
            { name: 'scratch', mountPath: '/data' },
          ],
        }),
      ],
      { volumes: [{ name: 'site', configMap: { name: 'site' } }, { name: 'scratch', emptyDir: {} }] },
    );
    await until('running', () => getPod(store, 'cfg')?.status?.containerStatuses?.[0]?.state?.running !== undefined);
    expect(await httpOver(await node.dial('default', 'cfg', 80), '/')).toContain('from a configmap');
    // The hit counter lives in the emptyDir.
    expect(await httpOver(await node.dial('default', 'cfg', 80), '/hits')).toMatch(/\r\n\r\n2\s*$/);
  });

  it('runs a pod of two containers that share an emptyDir while both run', async () => {
    const store = await cluster();
    const node = await startNode(store, 'node-2c');
    const data = [{ name: 'shared', mountPath: '/data' }];
    await createPod(
      store,
      'pair',
      'node-2c',
      [web({ name: 'a', volumeMounts: data }), web({ name: 'b', ports: [{ containerPort: 8080 }], volumeMounts: data })],
      { volumes: [{ name: 'shared', emptyDir: {} }] },
    );
    await until('both running', () => getPod(store, 'pair')?.status?.containerStatuses?.filter((c) => c.state?.running !== undefined).length === 2);
    // Each answered request adds one to /data/hits: a's and b's requests count in one file.
    expect(await httpOver(await node.dial('default', 'pair', 80), '/')).toMatch(/X-Hits: 1\r\n/i);
    expect(await httpOver(await node.dial('default', 'pair', 8080), '/')).toMatch(/X-Hits: 2\r\n/i);
    expect(await httpOver(await node.dial('default', 'pair', 80), '/hits')).toMatch(/\r\n\r\n3\s*$/);
  });
});

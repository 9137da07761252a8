/**
 * The micro-cluster end to end through its public API (`Cluster` from 'skiff'): real
 * kubelet threads running real guests, the master's controllers, the service proxy.
 * Real time, with a short eviction timeout so a dead node's pods move quickly.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, Cluster, createImage, type KubeObject } from '../src/index.js';
import { webImage } from '../examples/apps/web/image.js';
import { lockNodePort } from './helpers/node-port-lock.js';

interface PodLike extends KubeObject {
  readonly spec: { readonly nodeName?: string; readonly containers: readonly { readonly image: string }[] };
  readonly status?: { readonly phase?: string; readonly podIP?: string; readonly conditions?: readonly { readonly type: string; readonly status: string }[] };
}
const isReady = (p: PodLike): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

const manifest = await readFile(new URL('../examples/apps/web/web.yaml', import.meta.url), 'utf8');
let cluster: Cluster;
let releaseNodePort: (() => void) | undefined;

beforeAll(async () => {
  // Its web Service listens on 127.0.0.1:30000, as the demo's and the README's do.
  releaseNodePort = await lockNodePort();
  cluster = await Cluster.start({ nodes: 3, podEvictionTimeout: 500, onError: (what, e) => console.error(what, e) });
  await webImage(cluster.images.store, 'web:1', { version: '1' });
  await webImage(cluster.images.store, 'web:2', { version: '2' });
  const hello = await readFile(new URL('../guests/wasm/hello.wasm', import.meta.url));
  await createImage(cluster.images.store, { ref: 'hello:1', layers: [{ 'hello.wasm': { content: hello, mode: 0o755 } }], config: { Entrypoint: ['/hello.wasm'], Env: ['FROM_IMAGE=1'] } });
}, 200_000); // the time to wait for the NodePort lock, then to start
afterAll(async () => {
  try {
    await cluster?.stop();
  } finally {
    releaseNodePort?.();
  }
});

const webPods = (): PodLike[] => cluster.list<PodLike>('pods', { labelSelector: 'app=web' }).filter((p) => p.metadata.deletionTimestamp === undefined);

describe('Cluster', () => {
  it('runs a Deployment behind a Service: spread over the nodes, round-robin, a NodePort on 127.0.0.1', async () => {
    const applied = await cluster.apply(manifest);
    expect(applied.map((a) => `${a.object.kind}/${a.object.metadata.name} ${a.action}`)).toEqual(['Deployment/web created', 'Service/web created']);
    await cluster.rolloutStatus('deployment', 'web', { timeoutMs: 20_000 });
    const pods = webPods();
    expect(pods).toHaveLength(3);
    expect(new Set(pods.map((p) => p.spec.nodeName)).size).toBe(3); // one owner's pods spread
    expect(pods.every(isReady)).toBe(true);

    const served = new Map<string, number>();
    for (let i = 0; i < 9; i++) {
      const res = await cluster.fetch('http://web.default.svc/version');
      expect([res.status, await res.text()]).toEqual([200, '1\n']);
      const by = res.headers.get('x-served-by') ?? '';
      served.set(by, (served.get(by) ?? 0) + 1);
    }
    expect([...served.keys()].sort()).toEqual(pods.map((p) => p.metadata.name).sort());
    expect([...served.values()]).toEqual([3, 3, 3]);

    const [np] = cluster.nodePorts();
    expect(np).toMatchObject({ service: 'default/web', port: 80 });
    const viaTcp = await fetch(`http://127.0.0.1:${np?.nodePort}/version`);
    expect(await viaTcp.text()).toBe('1\n');
    // Endpoints list exactly the ready pods' IPs.
    const ep = cluster.get<KubeObject & { subsets: { addresses: { ip: string }[] }[] }>('endpoints', 'web');
    expect(ep.subsets[0]?.addresses.map((a) => a.ip).sort()).toEqual(pods.map((p) => p.status?.podIP).sort());
  });

  it('replaces the pods of a killed node on the live ones; the Node is NotReady at once', async () => {
    const victim = webPods()[0]?.spec.nodeName as string;
    await cluster.nodes.kill(victim);
    const node = cluster.get<KubeObject<unknown, { conditions: { type: string; status: string }[] }>>('node', victim);
    expect(node.status?.conditions.find((c) => c.type === 'Ready')?.status).not.toBe('True');
    await cluster.waitFor('3 ready pods on live nodes', () => {
      const p = webPods();
      return p.length === 3 && p.every((x) => x.spec.nodeName !== victim && isReady(x));
    });
    expect(cluster.nodes.running()).not.toContain(victim);
    const res = await cluster.fetch('http://web/version');
    expect(res.status).toBe(200);
    await res.text();
    // A new node joins and takes new pods.
    const added = await cluster.nodes.add();
    expect(added.metadata.name).toBe('node-4');
  });

  it('rolls out a new template and rolls it back', async () => {
    const out = await cluster.apply(manifest.replace('image: web:1', 'image: web:2'));
    expect(out.map((a) => a.action)).toEqual(['configured', 'unchanged']);
    await cluster.rolloutStatus('deployment', 'web', { timeoutMs: 20_000 });
    expect(webPods().map((p) => p.spec.containers[0]?.image)).toEqual(['web:2', 'web:2', 'web:2']);
    expect(await (await cluster.fetch('http://web.default.svc.cluster.local/version')).text()).toBe('2\n');

    expect(await cluster.rollback('deploy', 'web')).toBe(1);
    await cluster.waitFor('the rollback', () => {
      const p = webPods();
      return p.length === 3 && p.every((x) => x.spec.containers[0]?.image === 'web:1' && isReady(x));
    });
    const d = cluster.get<KubeObject>('deployment', 'web');
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
  });

  it('scales, and cordon/drain move pods off a node', async () => {
    await cluster.scale('deployment', 'web', 5);
    await cluster.rolloutStatus('deployment', 'web', { timeoutMs: 20_000 });
    expect(webPods()).toHaveLength(5);
    const target = webPods()[0]?.spec.nodeName as string;
    await cluster.nodes.drain(target);
    await cluster.waitFor('no pod on the drained node', () => {
      const p = webPods();
      return p.length === 5 && p.every((x) => x.spec.nodeName !== target && isReady(x));
    });
    await cluster.nodes.uncordon(target);
    await cluster.scale('deployment', 'web', 2);
    await cluster.waitFor('2 pods', () => webPods().length === 2);
  });

  it('runs a Job to completion and keeps each pod\'s logs (kubectl logs)', async () => {
    await cluster.apply({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'greet' },
      spec: { completions: 2, parallelism: 1, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'hello', image: 'hello:1', args: ['0', 'from a job'], env: [{ name: 'WHO', value: 'k8s' }] }] } } },
    });
    const job = await cluster.waitFor('the job to complete', () => {
      const j = cluster.get<KubeObject<unknown, { succeeded?: number; conditions?: { type: string; status: string }[] }>>('job', 'greet');
      return j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ? j : undefined;
    });
    expect(job.status?.succeeded).toBe(2);
    const jobPods = cluster.list<PodLike>('pods', { labelSelector: 'job-name=greet' });
    expect(jobPods.map((p) => p.status?.phase)).toEqual(['Succeeded', 'Succeeded']);
    const logs = await cluster.logs(jobPods[0]?.metadata.name as string);
    // The web Service's links come first (enableServiceLinks), then HOSTNAME, then the container's env.
    const ip = cluster.get<KubeObject<{ clusterIP: string }>>('service', 'web').spec?.clusterIP as string;
    const links = `env WEB_SERVICE_HOST=${ip}\nenv WEB_SERVICE_PORT=80\nenv WEB_SERVICE_PORT_HTTP=80\nenv WEB_PORT=tcp://${ip}:80\nenv WEB_PORT_80_TCP=tcp://${ip}:80\nenv WEB_PORT_80_TCP_PROTO=tcp\nenv WEB_PORT_80_TCP_PORT=80\nenv WEB_PORT_80_TCP_ADDR=${ip}\n`;
    expect(logs).toBe(`arg[0]=/hello.wasm\narg[1]=0\narg[2]=from a job\nenv FROM_IMAGE=1\n${links}env HOSTNAME=${jobPods[0]?.metadata.name}\nenv WHO=k8s\ncwd=/\n`);
    await expect(cluster.logs('nosuch')).rejects.toThrow(/not found/);
  });

  it('serves a Secret to a pod as a volume and as env (stringData stored as base64 data)', async () => {
    await cluster.apply(`
apiVersion: v1
kind: Secret
metadata: { name: site }
stringData: { index.html: "from a secret\\n", docroot: /site }
---
apiVersion: v1
kind: Pod
metadata: { name: secret-site, labels: { app: secret-site } }
spec:
  containers:
    - name: web
      image: web:1
      ports: [{ containerPort: 80 }]
      env: [{ name: DOCROOT, valueFrom: { secretKeyRef: { name: site, key: docroot } } }]
      volumeMounts: [{ name: site, mountPath: /site }]
      readinessProbe: { httpGet: { path: /, port: 80 }, periodSeconds: 1 }
  volumes: [{ name: site, secret: { secretName: site } }]
---
apiVersion: v1
kind: Service
metadata: { name: secret-site }
spec: { selector: { app: secret-site }, ports: [{ port: 80 }] }
`);
    const stored = cluster.get<KubeObject & { data?: Record<string, string> }>('secret', 'site');
    expect(stored.data).toEqual({ 'index.html': btoa('from a secret\n'), docroot: btoa('/site') });
    expect('stringData' in stored).toBe(false);
    await cluster.waitFor('secret-site Ready', () => isReady(cluster.get<PodLike>('pod', 'secret-site')), { timeoutMs: 20_000 });
    const res = await cluster.fetch('http://secret-site.default.svc/');
    expect([res.status, await res.text()]).toEqual([200, 'from a secret\n']);
    await cluster.delete('service', 'secret-site');
    await cluster.delete('pod', 'secret-site');
  });

  it('refuses an invalid manifest naming the field, applying nothing of it', async () => {
    const bad = `apiVersion: apps/v1
kind: Deployment
metadata: { name: broken }
spec:
  replicas: 1
  selector: { matchLabels: { app: broken } }
  template:
    metadata: { labels: { app: other } }
    spec: { containers: [{ name: c, image: web:1 }] }
`;
    const err = await cluster.apply(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).reason).toBe('Invalid');
    expect((err as ApiError).message).toMatch(/spec\.template\.metadata\.labels/);
    expect(() => cluster.get('deployment', 'broken')).toThrow(/not found/);
  });
});

/** A Deployment `web` of 2 replicas of `image`. */
const twoReplicas = (image: string): object => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image }] } } },
});

describe('Cluster warm threads', () => {
  it('each node keeps warmThreads container threads booted; nodes.warm() waits for them and says how many', async () => {
    const c = await Cluster.start({ nodes: 2, warmThreads: 3 });
    try {
      expect(await c.nodes.warm()).toEqual({ 'node-1': { idle: 3, busy: 0 }, 'node-2': { idle: 3, busy: 0 } });
      await webImage(c.images.store, 'web:1');
      await c.apply(twoReplicas('web:1'));
      await c.rolloutStatus('deployment', 'web', { timeoutMs: 20_000 });
      // Each pod took a booted thread; the pools grow back to 3 idle threads a node.
      const threads = await c.nodes.warm();
      expect(Object.values(threads).map((t) => t.idle)).toEqual([3, 3]);
      expect(Object.values(threads).reduce((n, t) => n + t.busy, 0)).toBe(2);
      // A request the kubelet has not answered when its node dies fails; it does not hang.
      // (The kill is in the same turn as the request: the answer cannot come in between.)
      const failed = expect(c.nodes.warm()).rejects.toThrow(/node node-2 went down: kubelet thread was killed/);
      await c.nodes.kill('node-2');
      await failed;
    } finally {
      await c.stop();
    }
  });
});

describe('Cluster image pre-pull', () => {
  it('nodes.pull puts an image on every node: its pods start there even once the master no longer has it', async () => {
    const c = await Cluster.start({ nodes: 2 });
    try {
      await webImage(c.images.store, 'web:pulled');
      await c.nodes.pull('web:pulled');
      await expect(c.nodes.pull('nope:1')).rejects.toThrow(/image nope:1 not found on the master/);
      await c.images.remove('web:pulled');
      await c.apply(twoReplicas('web:pulled'));
      await c.rolloutStatus('deployment', 'web', { timeoutMs: 20_000 });
      expect(new Set(c.list<PodLike>('pods').map((p) => p.spec.nodeName)).size).toBe(2);
    } finally {
      await c.stop();
    }
  });
});

describe('Cluster with a home and a store path', () => {
  it('keeps its objects (the store log) and images (an OCI layout) across a restart', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const home = mkdtempSync(join(tmpdir(), 'skiff-cluster-'));
    try {
      const first = await Cluster.start({ nodes: 1, home, store: { path: join(home, 'store') } });
      await webImage(first.images.store, 'web:kept');
      await first.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { mode: 'fast' } });
      await first.stop();
      const second = await Cluster.start({ nodes: 1, home, store: { path: join(home, 'store') } });
      expect(second.get<KubeObject & { data: Record<string, string> }>('configmap', 'settings').data).toEqual({ mode: 'fast' });
      expect((await second.images.list()).map((i) => i.ref)).toContain('web:kept');
      await second.stop();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

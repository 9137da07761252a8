/**
 * Pod networking in the cluster (issues #5 and #6): a pod's containers share its
 * address and reach each other on localhost; a pod reaches a pod on another node by its
 * IP, and a Service by its cluster IP or its name (cluster DNS) — through the kubelets and the master, never a real
 * socket. The client is the `connect` component (guests/c/p2/connect.c, WASI 0.2 sockets).
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, createImage, type KubeObject } from '../src/index.js';
import { webImage } from '../examples/apps/web/image.js';

let cluster: Cluster;
const GET = 'GET /version HTTP/1.0\\r\\n\\r\\n';

beforeAll(async () => {
  cluster = await Cluster.start({ nodes: 2, onError: (what, e) => console.error(what, e) });
  await webImage(cluster.images.store, 'web:1', { version: '1' });
  const connect = await readFile(new URL('../guests/wasm/connect.wasm', import.meta.url));
  const spin = await readFile(new URL('../guests/wasm/spin.wasm', import.meta.url));
  const hello = await readFile(new URL('../guests/wasm/hello.wasm', import.meta.url));
  await createImage(cluster.images.store, { ref: 'hello:1', layers: [{ 'hello.wasm': { content: hello, mode: 0o755 } }], config: { Entrypoint: ['/hello.wasm'] } });
  await createImage(cluster.images.store, { ref: 'spin:1', layers: [{ 'spin.wasm': { content: spin, mode: 0o755 } }], config: { Entrypoint: ['/spin.wasm'] } });
  await createImage(cluster.images.store, { ref: 'connect:1', layers: [{ 'connect.wasm': { content: connect, mode: 0o755 } }], config: { Entrypoint: ['/connect.wasm'] } });
});
afterAll(() => cluster.stop());

type Pod = KubeObject & { status?: { podIP?: string; phase?: string; containerStatuses?: { name: string; state?: { terminated?: { exitCode: number } } }[] } };

const web = (name: string, node: string): object => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'web' } },
  spec: { nodeName: node, containers: [{ name: 'web', image: 'web:1', ports: [{ containerPort: 80 }], readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1 } }] },
});

/** A pod whose `connect` container runs once with `args`; resolves to its exit code and output. */
async function client(name: string, node: string, args: string[], extra: object[] = []): Promise<{ exitCode: number; out: string }> {
  await cluster.apply([
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { nodeName: node, restartPolicy: 'Never', containers: [...extra, { name: 'client', image: 'connect:1', args }] },
    },
  ]);
  let exitCode = -1;
  await cluster.waitFor(`${name}'s client to finish`, () => {
    const p = cluster.get<Pod>('Pod', name);
    const t = p.status?.containerStatuses?.find((c) => c.name === 'client')?.state?.terminated;
    if (t !== undefined) exitCode = t.exitCode;
    return t !== undefined;
  });
  const out = await cluster.logs(name, { container: 'client' });
  return { exitCode, out };
}

describe('pod networking', () => {
  it("a pod's containers reach each other on localhost", async () => {
    const r = await client('sidecar', 'node-1', ['127.0.0.1', '80', GET], [{ name: 'web', image: 'web:1', ports: [{ containerPort: 80 }] }]);
    expect(r.out).toMatch(/^HTTP\/1\.[01] 200 OK\r\n[\s\S]*\r\n\r\n1\n?$/);
    expect(r.exitCode).toBe(0);
  });

  it('a pod reaches a pod on another node by its IP, and a Service by its cluster IP', async () => {
    await cluster.apply([web('web-b', 'node-2'), { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 8080, targetPort: 80 }] } }]);
    await cluster.waitFor('web-b ready with an IP', () => {
      const p = cluster.get<Pod>('Pod', 'web-b');
      return p.status?.podIP !== undefined && p.status.phase === 'Running';
    });
    const ip = cluster.get<Pod>('Pod', 'web-b').status?.podIP as string;
    expect(ip.startsWith('10.244.')).toBe(true);
    // From the host too: cluster.fetch to the pod's IP, as from inside the cluster.
    const direct = await cluster.fetch(`http://${ip}/version`);
    expect([direct.status, direct.headers.get('x-served-by'), (await direct.text()).trim()]).toEqual([200, 'web-b', '1']);
    const byIp = await client('by-ip', 'node-1', [ip, '80', GET]);
    expect(byIp.out).toMatch(/^HTTP\/1\.[01] 200 OK\r\n/);
    expect(byIp.exitCode).toBe(0);

    const clusterIP = cluster.get<KubeObject & { spec: { clusterIP: string } }>('Service', 'web').spec.clusterIP;
    await cluster.waitFor('web endpoints', () => (cluster.get<KubeObject & { subsets?: { addresses?: unknown[] }[] }>('Endpoints', 'web').subsets?.[0]?.addresses?.length ?? 0) > 0);
    const bySvc = await client('by-svc', 'node-1', [clusterIP, '8080', GET]);
    expect(bySvc.out).toMatch(/^HTTP\/1\.[01] 200 OK\r\n/);
    expect(bySvc.exitCode).toBe(0);

    // Cluster DNS: the Service's name, short and long, resolves to its cluster IP.
    for (const [pod, name] of [['by-name', 'web'], ['by-fqdn', 'web.default.svc.cluster.local']] as const) {
      const byName = await client(pod, 'node-1', [name, '8080', GET]);
      expect(byName.out).toMatch(/^HTTP\/1\.[01] 200 OK\r\n/);
      expect(byName.exitCode).toBe(0);
    }
    expect(await client('unknown', 'node-1', ['nothing', '80', GET])).toEqual({ exitCode: 1, out: 'resolve: name-unresolvable\n' });

    const refused = await client('refused', 'node-1', [ip, '81', GET]);
    expect(refused.out).toBe('connect: connection-refused\n');
    expect(refused.exitCode).toBe(1);
  });

  it("a pod started after a Service gets its service links (enableServiceLinks, on by default), unless it turns them off", async () => {
    const clusterIP = cluster.get<KubeObject & { spec: { clusterIP: string } }>('Service', 'web').spec.clusterIP;
    for (const [name, links] of [['linked', undefined], ['unlinked', false]] as const) {
      await cluster.apply([{ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { nodeName: 'node-1', restartPolicy: 'Never', ...(links !== undefined ? { enableServiceLinks: links } : {}), containers: [{ name: 'hello', image: 'hello:1', env: [{ name: 'WEB_SERVICE_PORT', value: 'mine' }] }] } }]);
      await cluster.waitFor(`${name} done`, () => cluster.get<Pod>('Pod', name).status?.phase === 'Succeeded');
    }
    const linked = await cluster.logs('linked');
    expect(linked).toContain(`env WEB_SERVICE_HOST=${clusterIP}\n`);
    expect(linked).toContain(`env WEB_PORT=tcp://${clusterIP}:8080\n`);
    expect(linked).toContain(`env WEB_PORT_8080_TCP_ADDR=${clusterIP}\n`);
    // The container's own env wins.
    expect(linked).toContain('env WEB_SERVICE_PORT=mine\n');
    const unlinked = await cluster.logs('unlinked');
    expect(unlinked).not.toContain('WEB_SERVICE_HOST');
    expect(unlinked).toContain('env WEB_SERVICE_PORT=mine\n');
  });

  it("a connection to a pod on a node that dies ends for the client (it reads the end, it does not hang)", async () => {
    // spin declares port 7000 and never accepts: the connect is queued there, the client's read blocks.
    await cluster.apply([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'deaf' }, spec: { nodeName: 'node-2', containers: [{ name: 'deaf', image: 'spin:1', ports: [{ containerPort: 7000 }] }] } }]);
    await cluster.waitFor('deaf running', () => cluster.get<Pod>('Pod', 'deaf').status?.phase === 'Running');
    const ip = cluster.get<Pod>('Pod', 'deaf').status?.podIP as string;
    await cluster.apply([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'waiting' }, spec: { nodeName: 'node-1', restartPolicy: 'Never', containers: [{ name: 'client', image: 'connect:1', args: [ip, '7000', 'hello?'] }] } }]);
    await cluster.waitFor('the client running', () => cluster.get<Pod>('Pod', 'waiting').status?.phase === 'Running');
    await new Promise((r) => setTimeout(r, 200));
    expect(cluster.get<Pod>('Pod', 'waiting').status?.containerStatuses?.[0]?.state?.terminated).toBeUndefined();
    await cluster.nodes.kill('node-2');
    let code: number | undefined;
    await cluster.waitFor('the client to see the end', () => {
      code = cluster.get<Pod>('Pod', 'waiting').status?.containerStatuses?.[0]?.state?.terminated?.exitCode;
      return code !== undefined;
    }, { timeoutMs: 5000 });
    // EOF (0) or a failed read (1): either way the connection ended.
    expect([0, 1]).toContain(code);
  });
});

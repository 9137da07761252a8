import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodePlatform } from '../../platform/node/index.js';
import type { ForwardTarget } from '../../platform/platform.js';
import { FakeClock } from '../clock.js';
import { EndpointsController } from '../controllers/endpoints.js';
import type { Pod, Service } from '../objects/core.js';
import { openStore, unwrap, type Store } from '../store/index.js';
import { ServiceProxy, ServiceProxyError, type PodDialer } from './proxy.js';

/**
 * The only fake: a dialer whose "pods" answer one HTTP request per connection with their
 * own name, over a pair of web streams. The proxy, the endpoints controller, the store and
 * the HTTP client are the real ones.
 */
class FakePods implements PodDialer {
  readonly dials: string[] = [];
  readonly refusing = new Set<string>();
  open = 0;

  async dial(namespace: string, pod: string, port: number): Promise<ForwardTarget> {
    this.dials.push(`${namespace}/${pod}:${port}`);
    if (this.refusing.has(pod)) throw new Error(`pod ${pod}: connection refused`);
    const toServer = new TransformStream<Uint8Array, Uint8Array>();
    const toClient = new TransformStream<Uint8Array, Uint8Array>();
    this.open++;
    void this.serve(`${pod}:${port}`, toServer.readable, toClient.writable);
    return {
      readable: toClient.readable,
      writable: toServer.writable,
      close: () => {
        void toServer.writable.abort().catch(() => undefined);
        void toClient.readable.cancel().catch(() => undefined);
      },
    };
  }

  private async serve(name: string, input: ReadableStream<Uint8Array>, output: WritableStream<Uint8Array>): Promise<void> {
    const reader = input.getReader();
    let head = '';
    const decoder = new TextDecoder();
    try {
      while (!head.includes('\r\n\r\n')) {
        const { done, value } = await reader.read();
        if (done) break;
        head += decoder.decode(value, { stream: true });
      }
      const path = /^[A-Z]+ (\S+)/.exec(head)?.[1] ?? '?';
      const body = `${name} ${path}`;
      const writer = output.getWriter();
      await writer.write(new TextEncoder().encode(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`));
      await writer.close();
    } catch {
      // the client went away
    } finally {
      this.open--;
      reader.releaseLock();
    }
  }
}

let clock: FakeClock;
let store: Store;
let endpoints: EndpointsController;
let pods: FakePods;
let proxy: ServiceProxy;

beforeEach(async () => {
  clock = new FakeClock();
  store = await openStore({ now: () => clock.now() });
  endpoints = new EndpointsController({ store, clock });
  await endpoints.start();
  pods = new FakePods();
});

afterEach(async () => {
  await proxy.stop();
  await endpoints.stop();
  await store.close();
});

async function startProxy(withPlatform = false): Promise<void> {
  proxy = new ServiceProxy({ store, dialer: pods, ...(withPlatform ? { platform: nodePlatform } : {}) });
  await proxy.start();
}

async function sync(): Promise<void> {
  await clock.settle();
  await endpoints.whenIdle();
  await proxy.whenIdle();
}

async function service(name: string, spec: Service['spec'], namespace = 'default'): Promise<void> {
  unwrap(await store.create<Service>({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec }));
}

/** Creates a pod and plays its kubelet: podIP and Ready. */
async function pod(name: string, ip: string, ready: boolean, labels: Record<string, string> = { app: 'web' }, namespace = 'default'): Promise<void> {
  unwrap(
    await store.create<Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, labels },
      spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'x', ports: [{ name: 'http', containerPort: 8080 }] }] },
    }),
  );
  await setReady(name, ip, ready, namespace);
}

async function setReady(name: string, ip: string, ready: boolean, namespace = 'default'): Promise<void> {
  const p = unwrap(store.get<Pod>({ kind: 'Pod', namespace, name }));
  unwrap(await store.updateStatus<Pod>({ ...p, status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } }));
}

/** A port of the node port range that nothing on 127.0.0.1 listens on right now. */
async function freeNodePort(): Promise<number> {
  for (;;) {
    const port = 30000 + Math.floor(Math.random() * 2768);
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

const who = async (res: Response): Promise<string> => (await res.text()).split(':')[0] as string;

async function fetchError(url: string): Promise<ServiceProxyError> {
  const e = await proxy.fetch(url).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(TypeError);
  const cause = (e as TypeError).cause;
  expect(cause).toBeInstanceOf(ServiceProxyError);
  return cause as ServiceProxyError;
}

describe('ServiceProxy', () => {
  it('spreads requests round-robin over the ready endpoints and never sends to a not-ready one', async () => {
    await startProxy();
    await service('web', { selector: { app: 'web' }, clusterIP: '10.96.0.10', ports: [{ port: 80, targetPort: 'http' }] });
    await pod('web-a', '10.244.0.2', true);
    await pod('web-b', '10.244.0.3', true);
    await pod('web-c', '10.244.0.4', true);
    await pod('web-d', '10.244.0.5', false);
    await pod('db', '10.244.0.6', true, { app: 'db' });
    await sync();

    const counts = new Map<string, number>();
    const order: string[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await proxy.fetch('http://web/hello?x=1');
      expect(res.status).toBe(200);
      const body = await res.text();
      expect(body).toMatch(/^web-[abc]:8080 \/hello\?x=1$/);
      const name = body.split(':')[0] as string;
      order.push(name);
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({ 'web-a': 10, 'web-b': 10, 'web-c': 10 });
    expect(new Set(order.slice(0, 3)).size).toBe(3);
    for (let i = 3; i < 30; i++) expect(order[i]).toBe(order[i - 3]);
    expect(pods.dials.every((d) => d.endsWith(':8080'))).toBe(true);

    // The not-ready pod becomes ready: it joins the rotation; one goes not-ready: it leaves.
    await setReady('web-d', '10.244.0.5', true);
    await setReady('web-a', '10.244.0.2', false);
    await sync();
    const after = new Map<string, number>();
    for (let i = 0; i < 9; i++) {
      const n = await who(await proxy.fetch('http://web/'));
      after.set(n, (after.get(n) ?? 0) + 1);
    }
    expect(Object.fromEntries(after)).toEqual({ 'web-b': 3, 'web-c': 3, 'web-d': 3 });
    expect(pods.open).toBe(0);
  });

  it('resolves every service address form and the cluster IP', async () => {
    await startProxy();
    await service('api', { selector: { app: 'api' }, clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 8000, targetPort: 8080 }] }, 'shop');
    await service('web', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] });
    await pod('api-1', '10.244.1.2', true, { app: 'api' }, 'shop');
    await pod('web-1', '10.244.1.3', true);
    await sync();
    for (const url of [
      'http://api.shop:8000/',
      'http://api.shop.svc:8000/',
      'http://api.shop.svc.cluster.local:8000/',
      'http://API.shop.svc.cluster.local.:8000/',
      'http://10.96.0.20:8000/',
    ]) {
      expect(await who(await proxy.fetch(url))).toBe('api-1');
    }
    expect(await who(await proxy.fetch('http://web/'))).toBe('web-1');
    expect(await who(await proxy.fetch('http://web.default.svc.cluster.local/'))).toBe('web-1');
    expect(pods.dials).toContain('shop/api-1:8080');
    expect(proxy.lookup('api')).toBeUndefined(); // not in the default namespace
    expect(proxy.lookup('api', 'shop')?.metadata.name).toBe('api');
    expect(proxy.lookup('api.shop.cluster.local')).toBeUndefined();

    // A raw stream: connect speaks no protocol.
    const conn = await proxy.connect('api.shop.svc', 8000);
    const w = conn.writable.getWriter();
    await w.write(new TextEncoder().encode('GET /raw HTTP/1.1\r\n\r\n'));
    const text = await new Response(conn.readable).text();
    expect(text).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*api-1:8080 \/raw$/);
  });

  it('fails with a typed error naming the service: unknown, no such port, no ready endpoints, every dial refused', async () => {
    await startProxy();
    await service('empty', { selector: { app: 'none' }, ports: [{ port: 80 }] });
    await service('web', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] });
    await service('ext', { type: 'ExternalName', externalName: 'example.com' });
    await pod('web-a', '10.244.0.2', true);
    await pod('web-b', '10.244.0.3', true);
    await pod('web-c', '10.244.0.4', false);
    await sync();

    const unknown = await fetchError('http://nope/');
    expect(unknown.reason).toBe('ServiceNotFound');
    expect(unknown.message).toMatch(/"nope" names no Service/);
    const noEndpoints = await fetchError('http://empty/');
    expect(noEndpoints).toMatchObject({ reason: 'NoEndpoints', service: 'default/empty' });
    expect(noEndpoints.message).toMatch(/service default\/empty has no ready endpoints/);
    expect(await fetchError('http://web:81/')).toMatchObject({ reason: 'PortNotFound', service: 'default/web' });
    expect(await fetchError('http://ext/')).toMatchObject({ reason: 'Unsupported' });
    await expect(proxy.connect('10.96.99.99', 80)).rejects.toMatchObject({ reason: 'ServiceNotFound' });
    await expect(proxy.fetch('http://nope/')).rejects.toThrow(/fetch failed: .*nope/);

    // A refusing endpoint is skipped; the not-ready one is still never dialled.
    pods.refusing.add('web-a');
    for (let i = 0; i < 4; i++) expect(await who(await proxy.fetch('http://web/'))).toBe('web-b');
    pods.refusing.add('web-b');
    const refused = await fetchError('http://web/');
    expect(refused).toMatchObject({ reason: 'ConnectionRefused', service: 'default/web' });
    expect(pods.dials.some((d) => d.includes('web-c'))).toBe(false);
  });

  it('serves a NodePort service on a real 127.0.0.1 port, round-robin, until the Service is deleted', async () => {
    await startProxy(true);
    const nodePort = await freeNodePort();
    await service('front', { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080, nodePort }] });
    await pod('web-a', '10.244.0.2', true);
    await pod('web-b', '10.244.0.3', true);
    await pod('web-c', '10.244.0.4', false);
    await sync();
    expect(proxy.nodePorts()).toEqual([{ nodePort, address: '127.0.0.1', service: 'default/front', port: 80 }]);

    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`http://127.0.0.1:${nodePort}/np`);
      expect(res.status).toBe(200);
      const body = await res.text();
      expect(body).toMatch(/ \/np$/);
      seen.push(body.split(':')[0] as string);
    }
    expect(seen.filter((n) => n === 'web-a').length).toBe(2);
    expect(seen.filter((n) => n === 'web-b').length).toBe(2);
    // In-process, the same node port through localhost (what a browser uses).
    expect(await who(await proxy.fetch(`http://localhost:${nodePort}/`))).toMatch(/^web-[ab]$/);

    unwrap(await store.delete({ kind: 'Service', namespace: 'default', name: 'front' }));
    await sync();
    expect(proxy.nodePorts()).toEqual([]);
    await expect(fetch(`http://127.0.0.1:${nodePort}/`)).rejects.toThrow();
  });

  it('closes its node ports when it stops', async () => {
    await startProxy(true);
    const nodePort = await freeNodePort();
    await service('front', { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080, nodePort }] });
    await pod('web-a', '10.244.0.2', true);
    await sync();
    expect(await who(await fetch(`http://127.0.0.1:${nodePort}/`))).toBe('web-a');
    await proxy.stop();
    await expect(fetch(`http://127.0.0.1:${nodePort}/`)).rejects.toThrow();
  });
});

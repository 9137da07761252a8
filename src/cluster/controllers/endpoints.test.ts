import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import type { Endpoints, Pod, Service } from '../objects/core.js';
import { validate } from '../objects/index.js';
import { openStore, unwrap, type Store } from '../store/index.js';
import { EndpointsController } from './endpoints.js';

let clock: FakeClock;
let store: Store;
let ctrl: EndpointsController;

beforeEach(async () => {
  clock = new FakeClock();
  store = await openStore({ now: () => clock.now() });
  ctrl = new EndpointsController({ store, clock });
  await ctrl.start();
});

afterEach(async () => {
  await ctrl.stop();
  await store.close();
});

const service = (name: string, spec: Service['spec']): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec });

async function pod(name: string, labels: Record<string, string>, ports: { name?: string; containerPort: number }[] = []): Promise<Pod> {
  return unwrap(
    await store.create<Pod>({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels }, spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'x', ports }] } }),
  );
}

/** The test plays kubelet: podIP and the Ready condition. */
async function setStatus(name: string, podIP: string | undefined, ready: boolean): Promise<void> {
  const p = unwrap(store.get<Pod>({ kind: 'Pod', namespace: 'default', name }));
  unwrap(
    await store.updateStatus<Pod>({
      ...p,
      status: { phase: 'Running', ...(podIP ? { podIP, podIPs: [{ ip: podIP }] } : {}), conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
    }),
  );
}

async function sync(): Promise<void> {
  await clock.settle();
  await ctrl.whenIdle();
}

const endpoints = (name: string): Endpoints | undefined => {
  const r = store.get<Endpoints>({ kind: 'Endpoints', namespace: 'default', name });
  return r.ok ? r.value : undefined;
};

const ips = (ep: Endpoints | undefined, which: 'addresses' | 'notReadyAddresses'): string[][] => (ep?.subsets ?? []).map((s) => (s[which] ?? []).map((a) => a.ip));

describe('EndpointsController', () => {
  it('lists ready pods as addresses and not-ready ones as notReadyAddresses, with ports resolved from targetPort', async () => {
    unwrap(
      await store.create(
        service('web', {
          selector: { app: 'web' },
          ports: [
            { name: 'http', port: 80, targetPort: 'http' },
            { name: 'metrics', port: 9090, targetPort: 9100 },
          ],
        }),
      ),
    );
    await pod('a', { app: 'web' }, [{ name: 'http', containerPort: 8080 }]);
    await pod('b', { app: 'web' }, [{ name: 'http', containerPort: 8080 }]);
    await pod('c', { app: 'web' }, [{ name: 'http', containerPort: 8080 }]); // no IP yet
    await pod('d', { app: 'db' }, [{ name: 'http', containerPort: 8080 }]); // not selected
    await pod('e', { app: 'web' }, [{ name: 'web', containerPort: 3000 }]); // lacks the named port
    await setStatus('a', '10.244.0.10', true);
    await setStatus('b', '10.244.0.9', false);
    await setStatus('d', '10.244.0.4', true);
    await setStatus('e', '10.244.0.5', true);
    await sync();

    const ep = endpoints('web');
    expect(ep?.subsets).toEqual([
      {
        addresses: [{ ip: '10.244.0.10', nodeName: 'node-1', targetRef: expect.objectContaining({ kind: 'Pod', namespace: 'default', name: 'a' }) }],
        notReadyAddresses: [{ ip: '10.244.0.9', nodeName: 'node-1', targetRef: expect.objectContaining({ kind: 'Pod', name: 'b' }) }],
        ports: [
          { name: 'http', port: 8080, protocol: 'TCP' },
          { name: 'metrics', port: 9100, protocol: 'TCP' },
        ],
      },
      {
        addresses: [{ ip: '10.244.0.5', nodeName: 'node-1', targetRef: expect.objectContaining({ name: 'e' }) }],
        ports: [{ name: 'metrics', port: 9100, protocol: 'TCP' }],
      },
    ]);
  });

  it('follows readiness changes, pod deletion and the service going away', async () => {
    unwrap(await store.create(service('web', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] })));
    for (const n of ['a', 'b', 'c']) await pod(n, { app: 'web' });
    await setStatus('a', '10.244.0.2', true);
    await setStatus('b', '10.244.0.3', false);
    await setStatus('c', '10.244.0.11', true);
    await sync();
    expect(ips(endpoints('web'), 'addresses')).toEqual([['10.244.0.2', '10.244.0.11']]); // numeric order
    expect(ips(endpoints('web'), 'notReadyAddresses')).toEqual([['10.244.0.3']]);
    expect(endpoints('web')?.subsets?.[0]?.ports).toEqual([{ port: 8080, protocol: 'TCP' }]);

    await setStatus('b', '10.244.0.3', true);
    await setStatus('a', '10.244.0.2', false);
    await sync();
    expect(ips(endpoints('web'), 'addresses')).toEqual([['10.244.0.3', '10.244.0.11']]);
    expect(ips(endpoints('web'), 'notReadyAddresses')).toEqual([['10.244.0.2']]);

    // A label change takes a pod out.
    const c = unwrap(store.get<Pod>({ kind: 'Pod', namespace: 'default', name: 'c' }));
    unwrap(await store.update<Pod>({ ...c, metadata: { ...c.metadata, labels: { app: 'other' } } }));
    unwrap(await store.delete({ kind: 'Pod', namespace: 'default', name: 'a' }));
    await sync();
    expect(endpoints('web')?.subsets).toEqual([{ addresses: [expect.objectContaining({ ip: '10.244.0.3' })], ports: [{ port: 8080, protocol: 'TCP' }] }]);

    // Nothing changes: no write.
    const rv = endpoints('web')?.metadata.resourceVersion;
    await ctrl.reconcile('default/web');
    expect(endpoints('web')?.metadata.resourceVersion).toBe(rv);

    unwrap(await store.delete({ kind: 'Service', namespace: 'default', name: 'web' }));
    await sync();
    expect(endpoints('web')).toBeUndefined();
  });

  it('leaves Services without a selector alone, and lists terminating or finished pods nowhere', async () => {
    unwrap(await store.create(service('manual', { ports: [{ port: 80 }] })));
    unwrap(await store.create(service('empty', { selector: {}, ports: [{ port: 80 }] })));
    unwrap(await store.create(service('web', { selector: { app: 'web' }, ports: [{ port: 80 }], publishNotReadyAddresses: false })));
    await pod('a', { app: 'web' });
    await pod('done', { app: 'web' });
    await setStatus('a', '10.244.0.2', true);
    const done = unwrap(store.get<Pod>({ kind: 'Pod', namespace: 'default', name: 'done' }));
    unwrap(await store.updateStatus<Pod>({ ...done, status: { phase: 'Succeeded', podIP: '10.244.0.7', conditions: [{ type: 'Ready', status: 'True' }] } }));
    await sync();
    expect(endpoints('manual')).toBeUndefined();
    expect(endpoints('empty')).toBeUndefined();
    expect(ips(endpoints('web'), 'addresses')).toEqual([['10.244.0.2']]);
  });

  it('counts not-ready pods as ready with publishNotReadyAddresses', async () => {
    unwrap(await store.create(service('peers', { selector: { app: 'db' }, clusterIP: 'None', ports: [{ port: 5432 }], publishNotReadyAddresses: true })));
    await pod('db-0', { app: 'db' });
    await setStatus('db-0', '10.244.1.2', false);
    await sync();
    const ep = endpoints('peers');
    expect(ips(ep, 'addresses')).toEqual([['10.244.1.2']]);
    expect(ep?.metadata.labels).toEqual({ 'service.kubernetes.io/headless': '' });
  });

  it('builds Endpoints for Services that existed before it started', async () => {
    await ctrl.stop();
    unwrap(await store.create(service('old', { selector: { app: 'old' }, ports: [{ port: 80 }] })));
    await pod('o', { app: 'old' });
    await setStatus('o', '10.244.2.2', true);
    // A stale Endpoints whose Service is gone.
    unwrap(await store.create<Endpoints>({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'gone', namespace: 'default' }, subsets: [] }));
    ctrl = new EndpointsController({ store, clock });
    await ctrl.start();
    await sync();
    expect(ips(endpoints('old'), 'addresses')).toEqual([['10.244.2.2']]);
    expect(endpoints('gone')).toBeUndefined();
  });
});

describe('Endpoints objects', () => {
  it('are a served kind with schema and validation (selector-less Services get theirs from manifests)', () => {
    const ep = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'external' },
      subsets: [{ addresses: [{ ip: '10.244.0.2', targetRef: { kind: 'Pod', name: 'p' } }], ports: [{ port: 80 }] }],
    };
    expect(validate(ep)).toEqual([]);
    expect(validate({ ...ep, subsets: [{ adresses: [] }] }).map((e) => e.field)).toEqual(['subsets[0].adresses']);
    expect(validate({ ...ep, subsets: [{ addresses: [{ ip: 'nope' }], ports: [{ port: 0 }, { name: 'b', port: 2 }] }] }).map((e) => e.field)).toEqual([
      'subsets[0].addresses[0].ip',
      'subsets[0].ports[0].name',
      'subsets[0].ports[0].port',
    ]);
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import type { Service } from '../objects/core.js';
import { openStore, unwrap, type Store } from '../store/index.js';
import { formatIPv4, parseIPv4, ServiceAllocator, ServiceIPController } from './service-ip.js';

const svc = (name: string, spec: Service['spec']): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec });

describe('ServiceAllocator', () => {
  it('hands out cluster IPs from 10.96.0.0/12 in order, keeps None, skips ExternalName', () => {
    const a = new ServiceAllocator();
    const one = unwrap(a.allocate('default/a', svc('a', { ports: [{ port: 80 }] })));
    const two = unwrap(a.allocate('default/b', svc('b', { ports: [{ port: 80 }] })));
    expect(one.spec?.clusterIP).toBe('10.96.0.1');
    expect(one.spec?.clusterIPs).toEqual(['10.96.0.1']);
    expect(two.spec?.clusterIP).toBe('10.96.0.2');
    expect(unwrap(a.allocate('default/h', svc('h', { clusterIP: 'None' }))).spec?.clusterIP).toBe('None');
    expect(unwrap(a.allocate('default/h2', svc('h2', { clusterIPs: ['None'] }))).spec?.clusterIP).toBeUndefined();
    expect(unwrap(a.allocate('default/x', svc('x', { type: 'ExternalName', externalName: 'example.com' }))).spec?.clusterIP).toBeUndefined();
    expect(a.allocatedIPs).toBe(2);
    // Idempotent for the holder; the same address again for an update that dropped it.
    expect(unwrap(a.allocate('default/a', one)).spec?.clusterIP).toBe('10.96.0.1');
    expect(unwrap(a.allocate('default/a', svc('a', { ports: [{ port: 80 }] }))).spec?.clusterIP).toBe('10.96.0.1');
    expect(a.allocatedIPs).toBe(2);
  });

  it('honours a requested IP, refuses one that is taken or out of range', () => {
    const a = new ServiceAllocator();
    expect(unwrap(a.allocate('default/a', svc('a', { clusterIP: '10.100.1.2', ports: [{ port: 80 }] }))).spec?.clusterIP).toBe('10.100.1.2');
    const taken = a.allocate('default/b', svc('b', { clusterIP: '10.100.1.2', ports: [{ port: 80 }] }));
    expect(taken.ok).toBe(false);
    if (!taken.ok) {
      expect(taken.error.reason).toBe('Invalid');
      expect(taken.error.message).toMatch(/provided IP is already allocated/);
    }
    const outside = a.allocate('default/c', svc('c', { clusterIP: '10.112.0.1', ports: [{ port: 80 }] }));
    expect(outside.ok || outside.error.message).toMatch(/not in the valid range\. The range of valid IPs is 10\.96\.0\.0\/12/);
    expect(a.allocate('default/d', svc('d', { clusterIP: '10.111.255.255', ports: [{ port: 80 }] })).ok).toBe(false); // broadcast
    expect(a.allocatedIPs).toBe(1);
  });

  it('allocates node ports from 30000–32767 for NodePort services and frees them on release', () => {
    const a = new ServiceAllocator({ nodePortRange: { min: 30000, max: 30002 } });
    const s = unwrap(
      a.allocate(
        'default/np',
        svc('np', {
          type: 'NodePort',
          ports: [
            { name: 'a', port: 80 },
            { name: 'b', port: 81, nodePort: 30000 },
          ],
        }),
      ),
    );
    expect(s.spec?.ports?.map((p) => p.nodePort)).toEqual([30001, 30000]);
    const other = unwrap(a.allocate('default/o', svc('o', { type: 'NodePort', ports: [{ port: 80 }] })));
    expect(other.spec?.ports?.[0]?.nodePort).toBe(30002);
    const full = a.allocate('default/f', svc('f', { type: 'NodePort', ports: [{ port: 80 }] }));
    expect(full.ok).toBe(false);
    const dup = a.allocate('default/g', svc('g', { type: 'NodePort', ports: [{ port: 80, nodePort: 30000 }] }));
    expect(dup.ok || dup.error.message).toMatch(/spec\.ports\[0\]\.nodePort: Invalid value: 30000: provided port is already allocated/);
    a.release('default/np');
    expect(a.nodePortHolder(30000)).toBeUndefined();
    expect(a.nodePortHolder(30002)).toBe('default/o');
    expect(unwrap(a.allocate('default/f', svc('f', { type: 'NodePort', ports: [{ port: 80 }] }))).spec?.ports?.[0]?.nodePort).toBe(30000);
    // NodePort → ClusterIP drops the node port.
    unwrap(a.allocate('default/o', svc('o', { type: 'ClusterIP', ports: [{ port: 80 }] })));
    expect(a.nodePortHolder(30002)).toBeUndefined();
  });

  it('parses and formats IPv4', () => {
    expect(formatIPv4(parseIPv4('10.96.0.1') as number)).toBe('10.96.0.1');
    expect(parseIPv4('10.96.0.256')).toBeUndefined();
    expect(() => new ServiceAllocator({ serviceClusterIPRange: 'ten' })).toThrow(/IPv4 CIDR/);
  });
});

describe('ServiceIPController', () => {
  let clock: FakeClock;
  let store: Store;
  let ctrl: ServiceIPController;
  const errors: string[] = [];

  beforeEach(async () => {
    clock = new FakeClock();
    store = await openStore({ now: () => clock.now() });
    errors.length = 0;
  });

  afterEach(async () => {
    await ctrl.stop();
    await store.close();
  });

  const get = (name: string): Service => unwrap(store.get<Service>({ kind: 'Service', namespace: 'default', name }));
  const sync = async (): Promise<void> => {
    await clock.settle();
    await ctrl.whenIdle();
  };

  it('sets spec.clusterIP and nodePorts at create, and releases them when the Service is deleted', async () => {
    ctrl = new ServiceIPController({ store, clock, nodePortRange: { min: 30000, max: 30001 }, onError: (k, e) => errors.push(`${k}: ${String(e)}`) });
    await ctrl.start();
    const web = unwrap(await ctrl.create(svc('web', { type: 'NodePort', ports: [{ port: 80 }] })));
    expect(web.spec?.clusterIP).toBe('10.96.0.1');
    expect(web.spec?.ports?.[0]?.nodePort).toBe(30000);
    const head = unwrap(await ctrl.create(svc('head', { clusterIP: 'None', ports: [{ port: 80 }] })));
    expect(head.spec?.clusterIP).toBe('None');
    const again = await ctrl.create(svc('web', { ports: [{ port: 80 }] }));
    expect(again.ok || again.error.reason).toBe('AlreadyExists');
    const clash = await ctrl.create(svc('clash', { type: 'NodePort', ports: [{ port: 80, nodePort: 30000 }] }));
    expect(clash.ok || clash.error.reason).toBe('Invalid');
    expect(store.get({ kind: 'Service', namespace: 'default', name: 'clash' }).ok).toBe(false);
    await sync();
    expect(get('web').metadata.resourceVersion).toBe(web.metadata.resourceVersion); // nothing to fix

    unwrap(await store.delete({ kind: 'Service', namespace: 'default', name: 'web' }));
    await sync();
    expect(ctrl.allocator.ipHolder('10.96.0.1')).toBeUndefined();
    expect(ctrl.allocator.nodePortHolder(30000)).toBeUndefined();
    const next = unwrap(await ctrl.create(svc('next', { type: 'NodePort', ports: [{ port: 80, nodePort: 30000 }] })));
    expect(next.spec?.ports?.[0]?.nodePort).toBe(30000);
    expect(errors).toEqual([]);
  });

  it('fills in Services stored directly, after marking what stored Services already hold', async () => {
    unwrap(await store.create(svc('held', { clusterIP: '10.96.0.1', type: 'NodePort', ports: [{ port: 80, nodePort: 30000 }] })));
    unwrap(await store.create(svc('bare', { type: 'NodePort', ports: [{ port: 80 }] })));
    ctrl = new ServiceIPController({ store, clock });
    await ctrl.start();
    await sync();
    expect(get('held').spec?.clusterIP).toBe('10.96.0.1');
    expect(get('bare').spec?.clusterIP).toBe('10.96.0.2');
    expect(get('bare').spec?.ports?.[0]?.nodePort).toBe(30001);

    unwrap(await store.create(svc('later', { ports: [{ port: 80 }] })));
    await sync();
    expect(get('later').spec?.clusterIP).toBe('10.96.0.3');
  });
});

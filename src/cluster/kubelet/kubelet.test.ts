import { describe, expect, it } from 'vitest';
import { BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, restartBackoff, serviceLinks } from './kubelet.js';
import { KUBELET_PROTOCOL_VERSION, post, receive, type PodsMessage } from './protocol.js';

describe('restartBackoff (Kubernetes: 10 s doubling to 5 min, reset after 10 min running)', () => {
  it('doubles up to the cap', () => {
    const delays: number[] = [];
    let pending = BACKOFF_INITIAL_MS;
    for (let i = 0; i < 8; i++) {
      const { delay, next } = restartBackoff(pending, 1000);
      delays.push(delay / 1000);
      pending = next;
    }
    expect(delays).toEqual([10, 20, 40, 80, 160, 300, 300, 300]);
    expect(pending).toBe(BACKOFF_MAX_MS);
  });

  it('resets after a run of 10 minutes, not before', () => {
    expect(restartBackoff(BACKOFF_MAX_MS, 599_999).delay).toBe(BACKOFF_MAX_MS);
    expect(restartBackoff(BACKOFF_MAX_MS, 600_000)).toEqual({ delay: 10_000, next: 20_000 });
  });
});

describe('service links (enableServiceLinks)', () => {
  it("makes Kubernetes' variables: the documentation's redis-primary example, named ports, and a Service without ports skipped", () => {
    expect(serviceLinks([{ name: 'redis-primary', clusterIP: '10.0.0.11', ports: [{ port: 6379, protocol: 'TCP' }] }])).toEqual({
      REDIS_PRIMARY_SERVICE_HOST: '10.0.0.11',
      REDIS_PRIMARY_SERVICE_PORT: '6379',
      REDIS_PRIMARY_PORT: 'tcp://10.0.0.11:6379',
      REDIS_PRIMARY_PORT_6379_TCP: 'tcp://10.0.0.11:6379',
      REDIS_PRIMARY_PORT_6379_TCP_PROTO: 'tcp',
      REDIS_PRIMARY_PORT_6379_TCP_PORT: '6379',
      REDIS_PRIMARY_PORT_6379_TCP_ADDR: '10.0.0.11',
    });
    const two = serviceLinks([
      { name: 'web', clusterIP: '10.96.0.5', ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'metrics-port', port: 9090, protocol: 'TCP' }] },
      { name: 'empty', clusterIP: '10.96.0.6', ports: [] },
    ]);
    expect(two.WEB_SERVICE_PORT).toBe('80');
    expect(two.WEB_SERVICE_PORT_HTTP).toBe('80');
    expect(two.WEB_SERVICE_PORT_METRICS_PORT).toBe('9090');
    expect(two.WEB_PORT).toBe('tcp://10.96.0.5:80');
    expect(two.WEB_PORT_9090_TCP_ADDR).toBe('10.96.0.5');
    expect(Object.keys(two).some((k) => k.startsWith('EMPTY_'))).toBe(false);
  });
});

describe('kubelet protocol', () => {
  it('round-trips a message with its version and refuses another version', () => {
    let raw: unknown;
    post({ post: (m) => (raw = m) }, { type: 'pods', pods: [], configMaps: { 'default/a': { k: new Uint8Array([1, 2]) } }, secrets: {}, services: {} });
    const { message } = receive<PodsMessage>(raw);
    expect(message.v).toBe(KUBELET_PROTOCOL_VERSION);
    expect(message.configMaps['default/a']?.k).toEqual(new Uint8Array([1, 2]));
    const [bytes, handles] = raw as [Uint8Array, unknown[]];
    bytes[bytes.indexOf(0xa1) + 2] = 99; // the `v` field's value (fixint after the 1-char key "v")
    expect(() => receive([bytes, handles])).toThrow(/version 99/);
  });
});

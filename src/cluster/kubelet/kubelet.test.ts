import { describe, expect, it } from 'vitest';
import { BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, restartBackoff } from './kubelet.js';
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

describe('kubelet protocol', () => {
  it('round-trips a message with its version and refuses another version', () => {
    let raw: unknown;
    post({ post: (m) => (raw = m) }, { type: 'pods', pods: [], configMaps: { 'default/a': { k: new Uint8Array([1, 2]) } }, secrets: {} });
    const { message } = receive<PodsMessage>(raw);
    expect(message.v).toBe(KUBELET_PROTOCOL_VERSION);
    expect(message.configMaps['default/a']?.k).toEqual(new Uint8Array([1, 2]));
    const [bytes, handles] = raw as [Uint8Array, unknown[]];
    bytes[bytes.indexOf(0xa1) + 2] = 99; // the `v` field's value (fixint after the 1-char key "v")
    expect(() => receive([bytes, handles])).toThrow(/version 99/);
  });
});

import { describe, expect, it } from 'vitest';
import type { VirtualConnection } from './host.js';
import { HttpProtocolError, requestStatus } from './http.js';

/** A connection whose server answers with `chunks` (then ends, unless `endless`), recording what it was sent. */
function server(chunks: readonly string[], options: { endless?: boolean } = {}): { conn: VirtualConnection; sent: () => string; closed: () => boolean; delivered: () => number } {
  const encoder = new TextEncoder();
  let sent = '';
  let closed = false;
  let delivered = 0;
  let i = 0;
  const conn: VirtualConnection = {
    readable: new ReadableStream<Uint8Array>({
      pull(c) {
        if (closed) return;
        const next = chunks[i++];
        if (next !== undefined) {
          delivered += next.length;
          c.enqueue(encoder.encode(next));
        } else if (options.endless) {
          delivered += 4096;
          c.enqueue(new Uint8Array(4096));
        } else c.close();
      },
    }),
    writable: new WritableStream<Uint8Array>({
      write(chunk) {
        sent += new TextDecoder().decode(chunk);
      },
    }),
    close: () => {
      closed = true;
    },
  };
  return { conn, sent: () => sent, closed: () => closed, delivered: () => delivered };
}

describe('requestStatus (httpGet probes)', () => {
  it('sends a GET with Host, the given headers and Connection: close, and resolves with the status code', async () => {
    const s = server(['HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy']);
    await expect(requestStatus(s.conn, '10.244.1.2:80', '/healthz?full=1', { 'User-Agent': 'kube-probe/1.33', 'X-Probe': 'yes' })).resolves.toBe(503);
    expect(s.sent()).toBe('GET /healthz?full=1 HTTP/1.1\r\nhost: 10.244.1.2:80\r\nuser-agent: kube-probe/1.33\r\nx-probe: yes\r\nconnection: close\r\n\r\n');
    expect(s.closed()).toBe(true);
  });

  it('a Host header given overrides the address', async () => {
    const s = server(['HTTP/1.0 200 OK\r\n\r\n']);
    await expect(requestStatus(s.conn, '10.244.1.2:80', '/', { Host: 'web.example' })).resolves.toBe(200);
    expect(s.sent()).toMatch(/^GET \/ HTTP\/1\.1\r\nhost: web\.example\r\n/);
  });

  it('reads a status line that comes in pieces', async () => {
    const s = server(['HT', 'TP/1.1 30', '2 Found\r', '\nlocation: /x\r\n\r\n']);
    await expect(requestStatus(s.conn, 'a:80', '/')).resolves.toBe(302);
  });

  it('reads the answer to its end or its first 10 KiB, never hanging on an endless body', async () => {
    const s = server(['HTTP/1.1 200 OK\r\n\r\n'], { endless: true });
    await expect(requestStatus(s.conn, 'a:80', '/')).resolves.toBe(200);
    expect(s.delivered()).toBeGreaterThanOrEqual(10 * 1024);
    expect(s.delivered()).toBeLessThan(10 * 1024 + 2 * 4096);
    expect(s.closed()).toBe(true);
  });

  it('a connection that ends before a status line, or a line that is not one, is a protocol error', async () => {
    const early = server(['HTTP/1.1 2']);
    await expect(requestStatus(early.conn, 'a:80', '/')).rejects.toThrow(new HttpProtocolError('connection closed before the status line'));
    expect(early.closed()).toBe(true);
    await expect(requestStatus(server(['SSH-2.0-OpenSSH_9.2\r\n']).conn, 'a:80', '/')).rejects.toThrow(/bad status line "SSH-2.0-OpenSSH_9.2"/);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EAGAIN, EPIPE, Errno } from '../../layers/errno.js';
import type { ExtraDescriptor } from '../wasi/options.js';
import { Arena } from './arena.js';
import { GuestNet } from './guest.js';
import { ContainerNetwork, type VirtualConnection } from './host.js';
import { RING_END, Ring } from './ring.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('Ring', () => {
  it('carries bytes in order with back-pressure, across wrap-around, like a queue', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(100)), { maxLength: 200 }), (ops) => {
        const sab = new SharedArrayBuffer(16 + 64);
        const ring = new Ring(new Int32Array(sab, 0, 4), 0, new Uint8Array(sab, 16, 64));
        const model: number[] = [];
        let next = 0;
        for (const [isWrite, n] of ops) {
          if (isWrite) {
            const src = Uint8Array.from({ length: n }, () => next++ & 0xff);
            const took = ring.write(src);
            expect(took).toBe(Math.min(n, 64 - model.length));
            model.push(...src.subarray(0, took));
            next -= n - took;
          } else {
            const dst = new Uint8Array(n);
            const got = ring.read(dst);
            expect(got).toBe(Math.min(n, model.length));
            expect([...dst.subarray(0, got)]).toEqual(model.splice(0, got));
          }
          expect(ring.available()).toBe(model.length);
        }
      }),
    );
  });
});

function guestRead(c: ExtraDescriptor): string {
  const buf = new Uint8Array(1024);
  const n = c.read?.(buf);
  if (n instanceof Errno) return n.code;
  return str(buf.subarray(0, n as number));
}

async function readAll(conn: VirtualConnection): Promise<string> {
  let out = '';
  const reader = conn.readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out += str(value);
  }
}

describe('virtual connections (host and guest side in one thread)', () => {
  it('accept, echo both ways, half-close and EOF', async () => {
    const arena = Arena.create({ ports: [80, 81], slots: 4, ringBytes: 1024, backlog: 4 });
    const net = new ContainerNetwork(arena);
    const [l80] = new GuestNet(arena).listeners() as ExtraDescriptor[] as [ExtraDescriptor];
    expect(l80.accept?.()).toBe(EAGAIN);
    const conn = net.connect(80) as VirtualConnection;
    expect(l80.ready?.('read').ready).toBe(true);
    const g = l80.accept?.() as ExtraDescriptor;
    const w = conn.writable.getWriter();
    await w.write(text('ping'));
    await w.close();
    expect(guestRead(g)).toBe('ping');
    expect(guestRead(g)).toBe(''); // EOF after the host's half-close
    expect(g.write?.(text('pong'))).toBe(4);
    g.shutdown?.(2);
    expect(await readAll(conn)).toBe('pong');
    g.close();
    await new Promise((r) => setTimeout(r, 5));
    expect(net.openConnections).toBe(0);
    net.shutdown();
  });

  it('refuses ports nobody listens on', () => {
    const net = new ContainerNetwork(Arena.create({ ports: [80], slots: 2, ringBytes: 1024, backlog: 2 }));
    expect(net.connect(8080)).toBeInstanceOf(Errno);
    net.shutdown();
  });

  it('back-pressure: a guest that never reads stalls only its own connection', async () => {
    const arena = Arena.create({ ports: [80], slots: 4, ringBytes: 1024, backlog: 4 });
    const net = new ContainerNetwork(arena);
    const [l] = new GuestNet(arena).listeners() as ExtraDescriptor[] as [ExtraDescriptor];
    const stuck = net.connect(80) as VirtualConnection;
    const ok = net.connect(80) as VirtualConnection;
    const g1 = l.accept?.() as ExtraDescriptor;
    const g2 = l.accept?.() as ExtraDescriptor;
    // 4 KiB into a 1 KiB ring nobody drains: the write stays pending.
    let settled = false;
    void stuck.writable.getWriter().write(new Uint8Array(4096)).then(() => (settled = true), () => (settled = true));
    const w2 = ok.writable.getWriter();
    await w2.write(text('hi'));
    expect(guestRead(g2)).toBe('hi');
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    // Draining lets it finish.
    const sink = new Uint8Array(4096);
    let got = 0;
    while (got < 4096) {
      const n = g1.read?.(sink);
      if (typeof n === 'number') got += n;
      await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setTimeout(r, 5));
    expect(settled).toBe(true);
    net.shutdown();
  });

  it('what a guest wrote before its container went is still read: then EOF if it closed its side, an error if not; writes fail', async () => {
    const arena = Arena.create({ ports: [80], slots: 2, ringBytes: 1024, backlog: 2 });
    const net = new ContainerNetwork(arena);
    const [l] = new GuestNet(arena).listeners() as ExtraDescriptor[] as [ExtraDescriptor];
    const closed = net.connect(80) as VirtualConnection;
    const abrupt = net.connect(80) as VirtualConnection;
    const g1 = l.accept?.() as ExtraDescriptor;
    const g2 = l.accept?.() as ExtraDescriptor;
    g1.write?.(new TextEncoder().encode('last words'));
    g1.close();
    g2.write?.(new TextEncoder().encode('cut '));
    // The container is gone before the host read anything.
    net.shutdown();
    expect(await new Response(closed.readable).text()).toBe('last words');
    const reader = abrupt.readable.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('cut ');
    await expect(reader.read()).rejects.toThrow('container stopped');
    await expect(closed.writable.getWriter().write(new Uint8Array([1]))).rejects.toThrow('container stopped');
  });

  it('a write after the host closed is EPIPE; reads see EOF', async () => {
    const arena = Arena.create({ ports: [80], slots: 2, ringBytes: 1024, backlog: 2 });
    const net = new ContainerNetwork(arena);
    const [l] = new GuestNet(arena).listeners() as ExtraDescriptor[] as [ExtraDescriptor];
    const conn = net.connect(80) as VirtualConnection;
    const g = l.accept?.() as ExtraDescriptor;
    conn.close();
    expect(g.write?.(text('x'))).toBe(EPIPE);
    expect(guestRead(g)).toBe('');
    g.close();
    await new Promise((r) => setTimeout(r, 5));
    expect(net.openConnections).toBe(0);
    net.shutdown();
  });

  it('a late close of a released connection leaves the next connection on its slot alone', async () => {
    const arena = Arena.create({ ports: [80], slots: 1, ringBytes: 1024, backlog: 2 });
    const net = new ContainerNetwork(arena);
    const [l] = new GuestNet(arena).listeners() as ExtraDescriptor[] as [ExtraDescriptor];
    const a = net.connect(80) as VirtualConnection;
    const ga = l.accept?.() as ExtraDescriptor;
    await a.writable.getWriter().close();
    ga.close();
    expect(await readAll(a)).toBe('');
    await new Promise((r) => setTimeout(r, 5));
    expect(net.openConnections).toBe(0);
    // The one slot, reused.
    const b = net.connect(80) as VirtualConnection;
    const gb = l.accept?.() as ExtraDescriptor;
    a.close(); // as a TCP forwarder does when its socket closes, after the fact
    expect(gb.write?.(text('still here'))).toBe(10);
    expect(guestRead(gb)).toBe('EAGAIN'); // not EOF
    const w = b.writable.getWriter();
    await w.write(text('hi'));
    expect(guestRead(gb)).toBe('hi');
    net.shutdown();
  });

  it('bytes and END that arrive between a read and its flag check are not taken for EOF', () => {
    const arena = Arena.create({ ports: [80], slots: 1, ringBytes: 1024, backlog: 2 });
    const net = new ContainerNetwork(arena);
    const [l] = new GuestNet(arena).listeners() as ExtraDescriptor[] as [ExtraDescriptor];
    net.connect(80);
    const g = l.accept?.() as ExtraDescriptor;
    // The host's last bytes and END land just after the guest's ring read found nothing.
    const ring = arena.toGuest(0);
    const realRead = ring.read.bind(ring);
    let raced = false;
    ring.read = (dst: Uint8Array): number => {
      const n = realRead(dst);
      if (n === 0 && !raced) {
        raced = true;
        ring.write(text('last'));
        ring.setFlag(RING_END);
      }
      return n;
    };
    expect(guestRead(g)).toBe('EAGAIN');
    expect(guestRead(g)).toBe('last');
    expect(guestRead(g)).toBe('');
    net.shutdown();
  });

  it('1,000 connections opened and dropped reuse a few slots and leak none', async () => {
    const arena = Arena.create({ ports: [80], slots: 8, ringBytes: 1024, backlog: 8 });
    const net = new ContainerNetwork(arena);
    const [l] = new GuestNet(arena).listeners() as ExtraDescriptor[] as [ExtraDescriptor];
    for (let i = 0; i < 1000; i++) {
      const c = net.connect(80);
      if (c instanceof Errno) {
        await new Promise((r) => setTimeout(r, 1));
        i--;
        continue;
      }
      c.close();
      const g = l.accept?.();
      if (g !== undefined && !(g instanceof Errno)) g.close();
    }
    await new Promise((r) => setTimeout(r, 20));
    expect(net.openConnections).toBe(0);
    net.shutdown();
  });
});

import { httpRequest } from './http.js';

/** A tiny in-thread HTTP server on the guest side: answers one request per connection. */
async function serveOnce(l: ExtraDescriptor, respond: (req: string) => Uint8Array): Promise<string> {
  let g: ExtraDescriptor | Errno | undefined;
  while (!((g = l.accept?.()) !== undefined && !(g instanceof Errno))) await new Promise((r) => setTimeout(r, 1));
  const conn = g as ExtraDescriptor;
  let req = '';
  while (!req.includes('\r\n\r\n')) {
    const s = guestRead(conn);
    if (s === 'EAGAIN') await new Promise((r) => setTimeout(r, 1));
    else req += s;
  }
  const res = respond(req);
  let off = 0;
  while (off < res.length) {
    const n = conn.write?.(res.subarray(off));
    if (typeof n === 'number') off += n;
    else await new Promise((r) => setTimeout(r, 1));
  }
  conn.close();
  return req;
}

describe('httpRequest over a virtual connection', () => {
  const setup = (): { net: ContainerNetwork; l: ExtraDescriptor } => {
    const arena = Arena.create({ ports: [80], slots: 4, ringBytes: 4096, backlog: 4 });
    return { net: new ContainerNetwork(arena), l: (new GuestNet(arena).listeners() as ExtraDescriptor[] as [ExtraDescriptor])[0] };
  };

  it('sends the request and reads a Content-Length body larger than the ring', async () => {
    const { net, l } = setup();
    const body = 'x'.repeat(20_000);
    const server = serveOnce(l, () => text(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nX-Hits: 3\r\n\r\n${body}`));
    const res = await httpRequest(net.connect(80) as VirtualConnection, new Request('http://web/a?b=1', { method: 'POST', body: 'hi' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-hits')).toBe('3');
    expect(await res.text()).toBe(body);
    const req = await server;
    expect(req.startsWith('POST /a?b=1 HTTP/1.1\r\n')).toBe(true);
    expect(req).toMatch(/host: web\r\n/);
    net.shutdown();
  });

  it('decodes a chunked body and a body that ends with the connection', async () => {
    const { net, l } = setup();
    const server = serveOnce(l, () => text('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'));
    const res = await httpRequest(net.connect(80) as VirtualConnection, new Request('http://web/'));
    expect(await res.text()).toBe('hello world');
    await server;
    const server2 = serveOnce(l, () => text('HTTP/1.0 404 Not Found\r\n\r\nnope'));
    const res2 = await httpRequest(net.connect(80) as VirtualConnection, new Request('http://web/missing'));
    expect(res2.status).toBe(404);
    expect(await res2.text()).toBe('nope');
    await server2;
    net.shutdown();
  });
});

import { connect as tcpConnect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Errno } from '../../layers/errno.js';
import { Arena } from '../../sandbox/net/arena.js';
import { GuestNet } from '../../sandbox/net/guest.js';
import { ContainerNetwork } from '../../sandbox/net/host.js';
import type { ExtraDescriptor } from '../../sandbox/wasi/options.js';
import { publishPort, type ForwardTarget } from './publish.js';

describe('publishPort', () => {
  it('forwards a real loopback TCP connection to a container port and back', async () => {
    const arena = Arena.create({ ports: [80], slots: 4, ringBytes: 4096, backlog: 4 });
    const net = new ContainerNetwork(arena);
    const [l] = new GuestNet(arena).listeners() as ExtraDescriptor[] as [ExtraDescriptor];
    const pub = await publishPort({ port: 0, connect: () => { const c = net.connect(80); return c instanceof Errno ? undefined : c; } });
    expect(pub.port).toBeGreaterThan(0);
    // The "guest": echo upper-cased until EOF, then close.
    const guest = (async () => {
      let g: ExtraDescriptor | Errno | undefined;
      while ((g = l.accept?.()) instanceof Errno || g === undefined) await new Promise((r) => setTimeout(r, 1));
      const buf = new Uint8Array(1024);
      for (;;) {
        const n = (g as ExtraDescriptor).read?.(buf);
        if (n === 0) break;
        if (n instanceof Errno) {
          await new Promise((r) => setTimeout(r, 1));
          continue;
        }
        (g as ExtraDescriptor).write?.(new TextEncoder().encode(new TextDecoder().decode(buf.subarray(0, n as number)).toUpperCase()));
      }
      (g as ExtraDescriptor).close();
    })();
    const reply = await new Promise<string>((resolve, reject) => {
      const s = tcpConnect(pub.port, '127.0.0.1', () => s.end('hello over tcp'));
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('end', () => resolve(got));
      s.on('error', reject);
    });
    await guest;
    expect(reply).toBe('HELLO OVER TCP');
    await pub.close();
    await new Promise((r) => setTimeout(r, 10));
    expect(net.openConnections).toBe(0);
    net.shutdown();
  });

  it('a connection may wait for its target (unread meanwhile); one that left is closed when its target comes', async () => {
    let release: (t: ForwardTarget) => void = () => {};
    const closed: string[] = [];
    // A target that sends nothing and ends at once.
    const target = (name: string): ForwardTarget => ({ readable: new ReadableStream({ start: (c) => c.close() }), writable: new WritableStream(), close: () => closed.push(name) });
    const pub = await publishPort({ port: 0, connect: () => new Promise<ForwardTarget>((r) => (release = r)) });
    const s = tcpConnect(pub.port, '127.0.0.1');
    await new Promise((r) => s.on('connect', r));
    s.destroy();
    await new Promise((r) => setTimeout(r, 10));
    // Like a connection in a listen backlog: its EOF is seen once it is taken.
    expect(pub.connections).toBe(1);
    release(target('late'));
    for (let i = 0; i < 100 && pub.connections > 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(pub.connections).toBe(0);
    expect(closed).toEqual(['late']);
    await pub.close();
  });

  it('refuses non-loopback addresses', async () => {
    await expect(publishPort({ address: '0.0.0.0', port: 0, connect: () => undefined })).rejects.toThrow(/loopback/);
  });
});

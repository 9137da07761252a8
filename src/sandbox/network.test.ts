import { describe, expect, it } from 'vitest';
import { Errno } from '../layers/errno.js';
import type { Platform } from '../platform/platform.js';
import { GuestNet } from './net/guest.js';
import type { ExtraDescriptor } from './wasi/options.js';
import { RunNetwork, containerPorts, fetchOver, parsePublish } from './network.js';

const noSockets = { name: 'test', threads: undefined, later: () => () => {} } as unknown as Platform;

describe('parsePublish: Docker -p syntax', () => {
  it.each([
    ['8080:80', { containerPort: 80, hostPort: 8080 }],
    ['80', { containerPort: 80, hostPort: 0 }],
    ['127.0.0.1:8080:80', { containerPort: 80, hostPort: 8080, hostAddress: '127.0.0.1' }],
    ['127.0.0.1::80', { containerPort: 80, hostPort: 0, hostAddress: '127.0.0.1' }],
    ['[::1]:8080:80/tcp', { containerPort: 80, hostPort: 8080, hostAddress: '::1' }],
    ['localhost:0:8080', { containerPort: 8080, hostPort: 0, hostAddress: 'localhost' }],
  ])('%s', (text, spec) => expect(parsePublish(text)).toEqual(spec));

  it.each([
    ['0.0.0.0:8080:80', /not a loopback address/],
    ['8080:80/udp', /only tcp/],
    ['8080-8081:80-81', /ranges/],
    ['x:80', /not a number/],
    ['8080:0', /out of range/],
    ['1:2:3:4', /too many parts/],
  ])('refuses %s', (text, why) => expect(() => parsePublish(text)).toThrow(why));
});

describe('containerPorts: the listening sockets, in fd order', () => {
  it('defaults to the image ExposedPorts tcp ports, ascending; ports given replace them; published ones are added', () => {
    expect(containerPorts(undefined, { '8080/tcp': {}, '53/udp': {}, '80': {}, '9000-9002/tcp': {} }, undefined)).toEqual([80, 8080, 9000, 9001, 9002]);
    expect(containerPorts([8080, 80], { '443/tcp': {} }, undefined)).toEqual([8080, 80]);
    expect(containerPorts(undefined, { '80/tcp': {} }, [{ containerPort: 80 }, { containerPort: 81, hostPort: 8081 }])).toEqual([80, 81]);
    expect(containerPorts(undefined, undefined, undefined)).toEqual([]);
  });

  it('refuses bad ports, non-loopback host addresses and a host port given twice', () => {
    expect(() => containerPorts([70000], undefined, undefined)).toThrow(/not a TCP port/);
    expect(() => containerPorts(undefined, undefined, [{ containerPort: 80, hostAddress: '10.0.0.1' }])).toThrow(/only loopback/);
    expect(() => containerPorts(undefined, undefined, [{ containerPort: 80, hostPort: 8080 }, { containerPort: 81, hostPort: 8080 }])).toThrow(/given twice/);
    expect(() => containerPorts(undefined, undefined, [{ containerPort: 80, hostPort: -1 }])).toThrow(/hostPort/);
  });
});

describe('RunNetwork', () => {
  it('a connect waits while every slot is taken, and goes through when one is freed', async () => {
    const net = await RunNetwork.open(noSockets, [80], [], { slots: 1, ringBytes: 1024, backlog: 2 });
    const [l] = new GuestNet(net.arena).listeners() as ExtraDescriptor[] as [ExtraDescriptor];
    const first = await net.connect(80);
    expect(first).toBeDefined();
    let second: unknown;
    const waiting = net.connect(80).then((c) => (second = c));
    await new Promise((r) => setTimeout(r, 20));
    expect(second).toBeUndefined();
    // The guest takes the first connection and closes it; the host closes its side: the slot is free.
    (l.accept?.() as ExtraDescriptor).close();
    first?.close();
    await waiting;
    expect(second).toBeDefined();
    expect(net.connections.virtual).toBe(1);
    await net.close();
    expect(await net.connect(80)).toBeUndefined();
  });

  it('closing refuses the connects that wait, ends open connections, and is idempotent', async () => {
    const net = await RunNetwork.open(noSockets, [80], [], { slots: 1, ringBytes: 1024, backlog: 2 });
    const open = await net.connect(80);
    const reading = open?.readable.getReader().read().then(
      () => 'ended',
      (e: Error) => e.message,
    );
    const waiting = net.connect(80);
    await Promise.all([net.close(), net.close()]);
    expect(await waiting).toBeUndefined();
    expect(await reading).toBe('container stopped');
    expect(await net.connect(8080)).toBeUndefined();
  });

  it('publishing without host sockets is refused, with nothing left open', async () => {
    await expect(RunNetwork.open(noSockets, [80], [{ containerPort: 80, hostPort: 8080 }])).rejects.toThrow(/needs host sockets, which the test platform lacks/);
  });
});

describe('fetchOver', () => {
  const refuse = (): Promise<never> => Promise.reject(new Error('refused'));
  it('rejects as fetch does: TypeError, with the cause', async () => {
    const e = await fetchOver(refuse, 80, '/x').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TypeError);
    expect(((e as TypeError).cause as Error).message).toBe('refused');
    await expect(fetchOver(refuse, 80, 'https://web/')).rejects.toThrow(/https: is not supported/);
    await expect(fetchOver(refuse, undefined, '/x')).rejects.toThrow(/listens on no port/);
  });

  it('a path goes to the default port, a URL to its own port (80 when none)', async () => {
    const ports: number[] = [];
    const record = (port: number): Promise<never> => {
      ports.push(port);
      return Promise.reject(Errno.of('ENOTCONN'));
    };
    await fetchOver(record, 8080, '/hits').catch(() => undefined);
    await fetchOver(record, 8080, 'http://web/').catch(() => undefined);
    await fetchOver(record, 8080, new URL('http://web:81/a')).catch(() => undefined);
    expect(ports).toEqual([8080, 80, 81]);
  });
});

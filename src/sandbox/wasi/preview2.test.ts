import { describe, expect, it } from 'vitest';
import { thrown as code } from '../testing/thrown.js';
import { Arena, SLOT_GUEST_RELEASED, SLOT_IN_USE } from '../net/arena.js';
import { GuestNet } from '../net/guest.js';
import { GuestEnd, Preview2, type Preview2Options } from './preview2.js';

type Methods = Record<string, (...args: unknown[]) => unknown>;
/** Calls `obj[fn](...args)` as jco's generated code does. */
const call = (obj: unknown, fn: string, ...args: unknown[]): unknown => (obj as Methods)[fn]?.(...args);

function host(extra: Partial<Preview2Options> = {}): { p: Preview2; i: (name: string) => unknown; out: Uint8Array[]; now: { ns: bigint } } {
  const out: Uint8Array[] = [];
  const now = { ns: 1_000n };
  const p = new Preview2({
    args: ['prog', 'a'],
    env: ['A=1', 'B=x=y'],
    cwd: '/work',
    stdin: new TextEncoder().encode('in'),
    stdout: (c) => out.push(c),
    stderr: () => {},
    clock: { realtime: () => 1_700_000_000_123_456_789n, monotonic: () => now.ns, sleep: (ns) => void (now.ns += ns) },
    checkpoint: () => {},
    ...extra,
  });
  return { p, i: (name) => p.imports[name], out, now };
}

describe('Preview2 host (wasi 0.2 as jco calls it)', () => {
  it('cli: arguments, environment split at the first =, initial cwd; exit ends the guest with the status', () => {
    const { p, i } = host();
    expect(call(i('wasi:cli/environment'), 'getArguments')).toEqual(['prog', 'a']);
    expect(call(i('wasi:cli/environment'), 'getEnvironment')).toEqual([['A', '1'], ['B', 'x=y']]);
    expect(call(i('wasi:cli/environment'), 'initialCwd')).toBe('/work');
    expect(() => call(i('wasi:cli/exit'), 'exit', { tag: 'err' })).toThrow(GuestEnd);
    expect(p.ended).toEqual({ exit: 1 });
  });

  it('streams: stdin reads then reports closed; blocking-write-and-flush refuses more than 4096 bytes, as wasmtime does', () => {
    const { i, out } = host();
    const stdin = call(i('wasi:cli/stdin'), 'getStdin') as { blockingRead(n: bigint): Uint8Array };
    expect(new TextDecoder().decode(stdin.blockingRead(10n))).toBe('in');
    expect(() => stdin.blockingRead(10n)).toThrow(expect.objectContaining({ tag: 'closed' }) as unknown as Error);
    const stdout = call(i('wasi:cli/stdout'), 'getStdout') as { blockingWriteAndFlush(b: Uint8Array): void; checkWrite(): bigint };
    stdout.blockingWriteAndFlush(new TextEncoder().encode('hi'));
    expect(out.map((c) => new TextDecoder().decode(c))).toEqual(['hi']);
    let thrown: unknown;
    try {
      stdout.blockingWriteAndFlush(new Uint8Array(4097));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ tag: 'last-operation-failed' });
    expect(out.length).toBe(1);
    // Sizes are checked before the host allocates anything.
    expect(code(() => call(stdout, 'writeZeroes', 1n << 40n))).toMatchObject({ tag: 'last-operation-failed' });
    expect(code(() => call(stdout, 'blockingWriteZeroesAndFlush', 5000n))).toMatchObject({ tag: 'last-operation-failed' });
    expect(code(() => call(i('wasi:random/random'), 'getRandomBytes', 1n << 40n))).toBeInstanceOf(RangeError);
    expect((call(i('wasi:random/random'), 'getRandomBytes', 16n) as Uint8Array).length).toBe(16);
  });

  it('clocks: a duration pollable is ready once the monotonic clock passes it; poll blocks until the earliest', () => {
    const { i, now } = host();
    const clock = i('wasi:clocks/monotonic-clock');
    const late = call(clock, 'subscribeDuration', 5_000n) as { ready(): boolean };
    const soon = call(clock, 'subscribeDuration', 1_000n) as { ready(): boolean };
    expect(soon.ready()).toBe(false);
    expect([...(call(i('wasi:io/poll'), 'poll', [late, soon]) as Uint32Array)]).toEqual([1]);
    expect(now.ns).toBeGreaterThanOrEqual(2_000n);
    expect(late.ready()).toBe(false);
    expect(call(i('wasi:clocks/wall-clock'), 'now')).toEqual({ seconds: 1_700_000_000n, nanoseconds: 123_456_789 });
  });

  it('a stop request seen while blocked ends the guest, and says so', () => {
    let stops = 0;
    const stop = new Error('stop');
    const { p, i } = host({
      checkpoint: () => {
        if (++stops > 2) throw stop;
      },
    });
    const forever = call(i('wasi:clocks/monotonic-clock'), 'subscribeDuration', 10n ** 15n) as { block(): void };
    expect(() => forever.block()).toThrow(GuestEnd);
    expect(p.ended).toEqual({ stop });
  });

  it('tcp: the state machine answers with wasi-sockets error codes', () => {
    const arena = Arena.create({ ports: [80], slots: 2, ringBytes: 1024, backlog: 4 });
    const guest = new GuestNet(arena);
    const { i } = host({ net: { guest, listeners: guest.listeners(), waiter: { snapshot: () => 0, wait: () => {} } } });
    const net = call(i('wasi:sockets/instance-network'), 'instanceNetwork');
    const sock = call(i('wasi:sockets/tcp-create-socket'), 'createTcpSocket', 'ipv4') as Record<string, (...a: unknown[]) => unknown>;
    const v4 = (port: number, a: [number, number, number, number] = [10, 88, 0, 2]) => ({ tag: 'ipv4', val: { port, address: a } });
    expect(code(() => sock.finishConnect?.())).toBe('not-in-progress');
    expect(code(() => sock.startBind?.(net, v4(8080, [0, 0, 0, 0])))).toBe('address-not-bindable');
    expect(code(() => sock.startConnect?.(net, { tag: 'ipv6', val: { port: 80, flowInfo: 0, address: [0, 0, 0, 0, 0, 0, 0, 1], scopeId: 0 } }))).toBe('invalid-argument');
    expect(code(() => sock.startConnect?.(net, v4(80)))).toBe('ok');
    // The host has not answered the dial yet.
    expect(code(() => sock.finishConnect?.())).toBe('would-block');
    expect(code(() => sock.startConnect?.(net, v4(80)))).toBe('invalid-state');
    const [dial] = arena.takeDials();
    expect(dial).toEqual({ entry: 0, address: (10 << 24) | (88 << 16) | 2, port: 80 });
    arena.completeDial(0, -1);
    expect(code(() => sock.finishConnect?.())).toBe('connection-refused');

    // A socket dropped while its connect is in flight: the connection that then arrives is closed, the entry freed.
    const dropped = call(i('wasi:sockets/tcp-create-socket'), 'createTcpSocket', 'ipv4') as Record<string | symbol, (...a: unknown[]) => unknown>;
    dropped.startConnect?.(net, v4(80));
    const [inFlight] = arena.takeDials();
    const dispose = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('dispose');
    dropped[dispose]?.();
    arena.setSlotState(1, SLOT_IN_USE);
    arena.completeDial(inFlight?.entry as number, 1);
    const next = call(i('wasi:sockets/tcp-create-socket'), 'createTcpSocket', 'ipv4') as Record<string, (...a: unknown[]) => unknown>;
    next.startConnect?.(net, v4(80));
    expect(arena.slotState(1) & SLOT_GUEST_RELEASED).toBe(SLOT_GUEST_RELEASED);
    expect(arena.takeDials().map((d) => d.entry)).toEqual([inFlight?.entry]);

    const listener = call(i('wasi:sockets/tcp-create-socket'), 'createTcpSocket', 'ipv4') as Record<string, (...a: unknown[]) => unknown>;
    expect(code(() => listener.startListen?.())).toBe('invalid-state');
    listener.startBind?.(net, v4(80, [0, 0, 0, 0]));
    listener.finishBind?.();
    listener.startListen?.();
    listener.finishListen?.();
    expect(listener.isListening?.()).toBe(true);
    expect(code(() => listener.accept?.())).toBe('would-block');
  });
});

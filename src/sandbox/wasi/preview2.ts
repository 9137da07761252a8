/**
 * WASI 0.2 (preview 2) for components, as the host side of jco's transpiled instantiation
 * (component.ts): the `imports` object maps each interface (`wasi:io/streams`, …,
 * unversioned) to functions and resource classes with jco's calling conventions:
 * - a `result<T, E>` import returns T, and reports E by throwing it (an error-code is its
 *   string, a stream-error `{ tag: 'closed' }` or `{ tag: 'last-operation-failed', val }`);
 * - an `own<R>` returned must be an instance of the class given here for R; dropping a
 *   resource calls its `Symbol.dispose`.
 *
 * Semantics follow wasmtime's `wasmtime-wasi` p2 (STYLE §8): denied by default; what a
 * guest gets is its arguments, environment, stdio, the clocks, randomness and skiff's
 * virtual network (net/guest.ts): TCP connects go to containers' ports through the
 * arena's dial entries, listening works on the container's declared ports; the
 * container's files through `filesystem` (preview2-fs.ts). No UDP (`not-supported`).
 *
 * Blocking calls (`blocking-read`, `pollable.block`, `poll`, …) block the container's
 * thread only; while blocked they call `checkpoint` (a stop request ends the guest).
 * A stop or an exit ends the guest by throwing a `GuestEnd` (an Error, so jco's
 * generated code passes it through untouched); `ended` then says why.
 */
import { EAGAIN, Errno } from '../../layers/errno.js';
import type { Connection, GuestNet, Listener } from '../net/guest.js';
import { parseIPv4 } from '../net/ipv4.js';
import type { Waiter, WasiClock } from './options.js';

export interface Preview2Options {
  /** argv, including argv[0]. */
  readonly args: readonly string[];
  /** `KEY=VALUE` strings, in order. */
  readonly env: readonly string[];
  /** `initial-cwd`. */
  readonly cwd?: string;
  readonly stdin?: Uint8Array;
  readonly stdout: (chunk: Uint8Array) => void;
  readonly stderr: (chunk: Uint8Array) => void;
  readonly clock: WasiClock;
  /** Called while blocked; may throw to end the guest (a stop request). */
  readonly checkpoint: () => void;
  /** The container's virtual network: listening ports and outbound connects. */
  readonly net?: { readonly guest: GuestNet; readonly listeners: readonly Listener[]; readonly waiter: Waiter };
  readonly random?: (buf: Uint8Array) => void;
  /**
   * The `wasi:filesystem` imports (preview2-fs.ts), given how to make streams. Absent:
   * no preopens, so no file can be opened.
   */
  readonly filesystem?: (input: (src: ByteSource) => unknown, output: (sink: ByteSink) => unknown) => Record<string, unknown>;
}

/** Thrown through the guest to end it: read `Preview2.ended` for why. */
export class GuestEnd extends Error {}

type Ended = { readonly exit: number } | { readonly stop: unknown };

const DISPOSE: symbol = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('dispose');
const CHUNK = 64 * 1024;
/** The most bytes one get-random-bytes returns; a larger request is a trap, not 4 GiB of host memory. */
const MAX_RANDOM = 1 << 26;

/** A stream-error value. */
const CLOSED = { tag: 'closed' } as const;

/** Something a pollable waits for: ready now, or (for clocks) a deadline. */
interface Readiness {
  ready(): boolean;
  /** Monotonic ns at which it becomes ready by itself (clocks). */
  readonly deadline?: bigint;
}

export interface ByteSource {
  /** Up to `max` bytes; 'wait' when none yet; 'eof' at the end. Never blocks. */
  read(max: number): Uint8Array | 'wait' | 'eof';
  ready(): boolean;
}

export interface ByteSink {
  /** Bytes accepted now (all of a chunk of at most `space()`); 'closed' when nobody reads. Never blocks, except stdio's. */
  write(bytes: Uint8Array): number | 'closed';
  space(): number;
}

type SocketAddress = { tag: 'ipv4'; val: { port: number; address: [number, number, number, number] } } | { tag: 'ipv6'; val: { port: number; flowInfo: number; address: number[]; scopeId: number } };

export class Preview2 {
  /** Why the guest ended early (exit or stop), once it has. */
  ended: Ended | undefined;
  readonly imports: Record<string, unknown>;

  constructor(private readonly o: Preview2Options) {
    this.imports = this.build();
  }

  private end(why: Ended): never {
    this.ended ??= why;
    throw new GuestEnd(`the guest ${'exit' in why ? `exited with ${why.exit}` : 'was stopped'}`);
  }

  private checkpoint(): void {
    try {
      this.o.checkpoint();
    } catch (e) {
      this.end({ stop: e });
    }
  }

  /** Blocks until one of `items` is ready; their indexes. */
  private waitAny(items: readonly Readiness[]): number[] {
    const o = this.o;
    for (;;) {
      const snapshot = o.net?.waiter.snapshot();
      const now = o.clock.monotonic();
      const ready: number[] = [];
      let earliest: bigint | undefined;
      items.forEach((p, i) => {
        if (p.deadline !== undefined ? p.deadline <= now : p.ready()) ready.push(i);
        else if (p.deadline !== undefined && (earliest === undefined || p.deadline < earliest)) earliest = p.deadline;
      });
      if (ready.length > 0) return ready;
      this.checkpoint();
      const left = earliest === undefined ? undefined : earliest - now;
      // Without a network nothing but time can make an item ready; sleep in slices so stops are seen.
      if (snapshot !== undefined && o.net !== undefined) o.net.waiter.wait(snapshot, left);
      else o.clock.sleep(left === undefined || left > 50_000_000n ? 50_000_000n : left);
    }
  }

  private block(item: Readiness): void {
    this.waitAny([item]);
  }

  private build(): Record<string, unknown> {
    const o = this.o;
    const block = (r: Readiness): void => this.block(r);
    const waitAny = (items: readonly Readiness[]): number[] => this.waitAny(items);
    const end = (why: Ended): never => this.end(why);
    const random = o.random ?? ((b: Uint8Array) => crypto.getRandomValues(b));

    class IoError {
      constructor(private readonly message: string) {}
      toDebugString(): string {
        return this.message;
      }
    }

    class Pollable {
      constructor(readonly r: Readiness) {}
      ready(): boolean {
        const d = this.r.deadline;
        return d !== undefined ? d <= o.clock.monotonic() : this.r.ready();
      }
      block(): void {
        block(this.r);
      }
      [DISPOSE](): void {}
    }

    class InputStream {
      constructor(
        readonly src: ByteSource,
        private readonly onDispose?: () => void,
      ) {}
      read(len: bigint): Uint8Array {
        const r = this.src.read(Number(len > BigInt(CHUNK) ? BigInt(CHUNK) : len));
        if (r === 'eof') throw CLOSED;
        return r === 'wait' ? new Uint8Array(0) : r;
      }
      blockingRead(len: bigint): Uint8Array {
        if (len === 0n) return new Uint8Array(0);
        for (;;) {
          const r = this.src.read(Number(len > BigInt(CHUNK) ? BigInt(CHUNK) : len));
          if (r === 'eof') throw CLOSED;
          if (r !== 'wait') return r;
          block(this.src);
        }
      }
      skip(len: bigint): bigint {
        return BigInt(this.read(len).length);
      }
      blockingSkip(len: bigint): bigint {
        return BigInt(this.blockingRead(len).length);
      }
      subscribe(): Pollable {
        return new Pollable(this.src);
      }
      [DISPOSE](): void {
        this.onDispose?.();
      }
    }

    class OutputStream {
      constructor(
        readonly sink: ByteSink,
        private readonly onDispose?: () => void,
      ) {}
      checkWrite(): bigint {
        const n = this.sink.space();
        if (n < 0) throw CLOSED;
        return BigInt(n);
      }
      write(contents: Uint8Array): void {
        // wasi-io: more than check-write permitted is a guest error, not a partial write.
        if (contents.length > this.sink.space()) throw { tag: 'last-operation-failed', val: new IoError('write exceeds the permit of check-write') };
        if (contents.length > 0 && this.sink.write(contents) === 'closed') throw CLOSED;
      }
      blockingWriteAndFlush(contents: Uint8Array): void {
        if (contents.length > 4096) throw { tag: 'last-operation-failed', val: new IoError('blocking-write-and-flush takes at most 4096 bytes') };
        let at = 0;
        while (at < contents.length) {
          const space = this.sink.space();
          if (space < 0) throw CLOSED;
          if (space === 0) {
            block(this.readiness());
            continue;
          }
          const n = this.sink.write(contents.subarray(at, at + space));
          if (n === 'closed') throw CLOSED;
          at += n;
        }
      }
      flush(): void {
        if (this.sink.space() < 0) throw CLOSED;
      }
      blockingFlush(): void {
        this.flush();
      }
      subscribe(): Pollable {
        return new Pollable(this.readiness());
      }
      // Checked before allocating: the zeroes are host memory, outside the guest's limit.
      writeZeroes(len: bigint): void {
        if (len > BigInt(Math.max(0, this.sink.space()))) throw { tag: 'last-operation-failed', val: new IoError('write-zeroes exceeds the permit of check-write') };
        this.write(new Uint8Array(Number(len)));
      }
      blockingWriteZeroesAndFlush(len: bigint): void {
        if (len > 4096n) throw { tag: 'last-operation-failed', val: new IoError('blocking-write-zeroes-and-flush takes at most 4096 bytes') };
        this.blockingWriteAndFlush(new Uint8Array(Number(len)));
      }
      splice(src: InputStream, len: bigint): bigint {
        const space = this.sink.space();
        if (space < 0) throw CLOSED;
        const max = BigInt(space) < len ? BigInt(space) : len;
        if (max === 0n) return 0n;
        const bytes = src.read(max);
        if (bytes.length > 0) this.write(bytes);
        return BigInt(bytes.length);
      }
      blockingSplice(src: InputStream, len: bigint): bigint {
        block(this.readiness());
        const bytes = src.blockingRead(len < 4096n ? len : 4096n);
        this.blockingWriteAndFlush(bytes);
        return BigInt(bytes.length);
      }
      private readiness(): Readiness {
        return { ready: () => this.sink.space() !== 0 };
      }
      [DISPOSE](): void {
        this.onDispose?.();
      }
    }

    const stdioSink = (write: (chunk: Uint8Array) => void): ByteSink => ({
      // stdio writes block in the writer itself (the output ring), so there is always room.
      write: (bytes) => {
        write(bytes.slice());
        return bytes.length;
      },
      space: () => 4096,
    });
    const stdinData = o.stdin ?? new Uint8Array(0);
    let stdinAt = 0;
    const stdinSource: ByteSource = {
      read: (max) => {
        if (stdinAt >= stdinData.length) return 'eof';
        const out = stdinData.slice(stdinAt, stdinAt + max);
        stdinAt += out.length;
        return out;
      },
      ready: () => true,
    };

    // ------------------------------------------------------------ sockets

    class Network {
      [DISPOSE](): void {}
    }
    const theNetwork = new Network();

    const connectionSource = (c: Connection): ByteSource => {
      const buf = new Uint8Array(CHUNK);
      return {
        read: (max) => {
          const n = c.read(buf.subarray(0, Math.min(max, CHUNK)));
          if (n instanceof Errno) return n === EAGAIN ? 'wait' : 'eof';
          return n === 0 ? 'eof' : buf.slice(0, n);
        },
        ready: () => c.ready('read').ready,
      };
    };
    const connectionSink = (c: Connection): ByteSink => ({
      write: (bytes) => {
        const n = c.write(bytes);
        if (n instanceof Errno) return n === EAGAIN ? 0 : 'closed';
        return n;
      },
      space: () => {
        const r = c.ready('write');
        return r.hangup ? -1 : r.nbytes;
      },
    });

    type TcpState =
      | { s: 'unbound' }
      | { s: 'bind-started' | 'bound'; local: SocketAddress }
      | { s: 'listen-started' | 'listening'; local: SocketAddress; listener: Listener }
      | { s: 'connecting'; entry: number; local: SocketAddress; remote: SocketAddress }
      | { s: 'connect-ready'; conn: Connection | 'refused'; local: SocketAddress; remote: SocketAddress }
      | { s: 'connected'; conn: Connection; local: SocketAddress; remote: SocketAddress }
      | { s: 'closed' };

    const ipv4Of = (a: SocketAddress): number | undefined => {
      if (a.tag === 'ipv4') return ((a.val.address[0] << 24) | (a.val.address[1] << 16) | (a.val.address[2] << 8) | a.val.address[3]) >>> 0;
      // ::1 is loopback; other IPv6 addresses are not in the virtual network.
      const w = a.val.address;
      return w.slice(0, 7).every((x) => x === 0) && w[7] === 1 ? 0x7f000001 : undefined;
    };
    let ephemeral = 49152;

    class TcpSocket {
      private state: TcpState = { s: 'unbound' };
      private keepAlive = false;
      private keepIdle = 7200_000_000_000n;
      private keepInterval = 75_000_000_000n;
      private keepCount = 9;
      private hops = 64;
      constructor(readonly family: 'ipv4' | 'ipv6') {}

      static connected(family: 'ipv4' | 'ipv6', conn: Connection, local: SocketAddress): TcpSocket {
        const s = new TcpSocket(family);
        s.state = { s: 'connected', conn, local, remote: local };
        return s;
      }

      private checkFamily(a: SocketAddress): void {
        if (a.tag !== this.family) throw 'invalid-argument';
      }
      startBind(_network: Network, local: SocketAddress): void {
        if (this.state.s !== 'unbound') throw 'invalid-state';
        this.checkFamily(local);
        const port = local.val.port;
        if (port !== 0 && !(o.net?.guest.arena.layout.ports ?? []).includes(port)) throw 'address-not-bindable';
        this.state = { s: 'bind-started', local };
      }
      finishBind(): void {
        if (this.state.s !== 'bind-started') throw 'not-in-progress';
        this.state = { s: 'bound', local: this.state.local };
      }
      startConnect(_network: Network, remote: SocketAddress): void {
        const st = this.state;
        if (st.s !== 'unbound' && st.s !== 'bound') throw 'invalid-state';
        this.checkFamily(remote);
        const ip = ipv4Of(remote);
        if (remote.val.port === 0 || ip === 0) throw 'invalid-argument';
        if (ip === undefined) throw 'remote-unreachable';
        const net = o.net;
        if (net === undefined) throw 'connection-refused';
        const entry = net.guest.dial(ip, remote.val.port);
        if (entry === undefined) throw 'new-socket-limit';
        const local: SocketAddress = st.s === 'bound' ? st.local : this.family === 'ipv4' ? { tag: 'ipv4', val: { port: ephemeral++, address: [0, 0, 0, 0] } } : { tag: 'ipv6', val: { port: ephemeral++, flowInfo: 0, address: [0, 0, 0, 0, 0, 0, 0, 0], scopeId: 0 } };
        this.state = { s: 'connecting', entry, local, remote };
      }
      finishConnect(): [InputStream, OutputStream] {
        let st = this.state;
        if (st.s === 'connecting') {
          const outcome = (o.net as NonNullable<Preview2Options['net']>).guest.dialOutcome(st.entry);
          if (outcome === 'pending') throw 'would-block';
          st = this.state = { s: 'connect-ready', conn: outcome, local: st.local, remote: st.remote };
        }
        if (st.s !== 'connect-ready') throw 'not-in-progress';
        if (st.conn === 'refused') {
          this.state = { s: 'closed' };
          throw 'connection-refused';
        }
        const conn = st.conn;
        this.state = { s: 'connected', conn, local: st.local, remote: st.remote };
        return [new InputStream(connectionSource(conn)), new OutputStream(connectionSink(conn))];
      }
      startListen(): void {
        const st = this.state;
        if (st.s !== 'bound') throw 'invalid-state';
        const index = (o.net?.guest.arena.layout.ports ?? []).indexOf(st.local.val.port);
        const listener = o.net?.listeners[index];
        if (listener === undefined) throw 'address-not-bindable';
        this.state = { s: 'listen-started', local: st.local, listener };
      }
      finishListen(): void {
        const st = this.state;
        if (st.s !== 'listen-started') throw 'not-in-progress';
        this.state = { s: 'listening', local: st.local, listener: st.listener };
      }
      accept(): [TcpSocket, InputStream, OutputStream] {
        const st = this.state;
        if (st.s !== 'listening') throw 'invalid-state';
        const c = st.listener.accept();
        if (c instanceof Errno) throw c === EAGAIN ? 'would-block' : 'connection-aborted';
        const conn = c as Connection;
        return [TcpSocket.connected(this.family, conn, st.local), new InputStream(connectionSource(conn)), new OutputStream(connectionSink(conn))];
      }
      localAddress(): SocketAddress {
        const st = this.state;
        if (st.s === 'unbound' || st.s === 'bind-started' || st.s === 'closed') throw 'invalid-state';
        return st.local;
      }
      remoteAddress(): SocketAddress {
        const st = this.state;
        if (st.s !== 'connected') throw 'invalid-state';
        return st.remote;
      }
      isListening(): boolean {
        return this.state.s === 'listening';
      }
      addressFamily(): 'ipv4' | 'ipv6' {
        return this.family;
      }
      /** Accepted and ignored: the backlog is the arena's (network.ts NET_LAYOUT), as a kernel may cap it. */
      setListenBacklogSize(value: bigint): void {
        if (value === 0n) throw 'invalid-argument';
        if (this.state.s === 'connecting' || this.state.s === 'connected') throw 'invalid-state';
      }
      keepAliveEnabled(): boolean {
        return this.keepAlive;
      }
      setKeepAliveEnabled(v: boolean): void {
        this.keepAlive = v;
      }
      keepAliveIdleTime(): bigint {
        return this.keepIdle;
      }
      setKeepAliveIdleTime(v: bigint): void {
        if (v <= 0n) throw 'invalid-argument';
        this.keepIdle = v;
      }
      keepAliveInterval(): bigint {
        return this.keepInterval;
      }
      setKeepAliveInterval(v: bigint): void {
        if (v <= 0n) throw 'invalid-argument';
        this.keepInterval = v;
      }
      keepAliveCount(): number {
        return this.keepCount;
      }
      setKeepAliveCount(v: number): void {
        if (v <= 0) throw 'invalid-argument';
        this.keepCount = v;
      }
      hopLimit(): number {
        return this.hops;
      }
      setHopLimit(v: number): void {
        if (v <= 0) throw 'invalid-argument';
        this.hops = v;
      }
      receiveBufferSize(): bigint {
        return BigInt(CHUNK);
      }
      setReceiveBufferSize(v: bigint): void {
        if (v <= 0n) throw 'invalid-argument';
      }
      sendBufferSize(): bigint {
        return BigInt(CHUNK);
      }
      setSendBufferSize(v: bigint): void {
        if (v <= 0n) throw 'invalid-argument';
      }
      subscribe(): Pollable {
        return new Pollable({
          ready: () => {
            const st = this.state;
            if (st.s === 'connecting') return (o.net as NonNullable<Preview2Options['net']>).guest.dialDone(st.entry);
            if (st.s === 'listening') return st.listener.ready('read').ready;
            return true;
          },
        });
      }
      shutdown(how: 'receive' | 'send' | 'both'): void {
        const st = this.state;
        if (st.s !== 'connected') throw 'invalid-state';
        st.conn.shutdown(how === 'receive' ? 1 : how === 'send' ? 2 : 3);
      }
      [DISPOSE](): void {
        const st = this.state;
        if (st.s === 'connected') st.conn.close();
        else if (st.s === 'connect-ready' && st.conn !== 'refused') st.conn.close();
        else if (st.s === 'connecting') o.net?.guest.abandon(st.entry);
        this.state = { s: 'closed' };
      }
    }

    type IpAddress = { tag: 'ipv4'; val: [number, number, number, number] };
    const ipOf = (a: number): IpAddress => ({ tag: 'ipv4', val: [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255] });

    /** A lookup: its addresses at once (literals, localhost), or a pending resolve entry of the arena. */
    class ResolveAddressStream {
      private addresses: IpAddress[] | undefined;
      constructor(
        known: IpAddress[] | undefined,
        private readonly entry?: number,
        /** The error of the first resolve-next-address, when the lookup could not even start. */
        private failure?: string,
      ) {
        this.addresses = known;
      }
      resolveNextAddress(): IpAddress | undefined {
        if (this.failure !== undefined) {
          const f = this.failure;
          this.failure = undefined;
          throw f;
        }
        if (this.addresses === undefined) {
          const found = (o.net as NonNullable<Preview2Options['net']>).guest.resolved(this.entry as number);
          if (found === undefined) throw 'would-block';
          this.addresses = found.map(ipOf);
          // wasmtime: an unknown name is an error of the first resolve-next-address.
          if (this.addresses.length === 0) throw 'name-unresolvable';
        }
        return this.addresses.shift();
      }
      subscribe(): Pollable {
        return new Pollable({ ready: () => this.addresses !== undefined || (o.net as NonNullable<Preview2Options['net']>).guest.resolveDone(this.entry as number) });
      }
      [DISPOSE](): void {
        if (this.addresses === undefined && this.entry !== undefined) o.net?.guest.abandonResolve(this.entry);
      }
    }

    class UdpSocket {
      [DISPOSE](): void {}
    }
    class IncomingDatagramStream {
      [DISPOSE](): void {}
    }
    class OutgoingDatagramStream {
      [DISPOSE](): void {}
    }
    class TerminalInput {
      [DISPOSE](): void {}
    }
    class TerminalOutput {
      [DISPOSE](): void {}
    }
    class Descriptor {
      [DISPOSE](): void {}
    }
    class DirectoryEntryStream {
      [DISPOSE](): void {}
    }

    const env = o.env.map((e): [string, string] => {
      const at = e.indexOf('=');
      return at < 0 ? [e, ''] : [e.slice(0, at), e.slice(at + 1)];
    });
    const deadlineIn = (ns: bigint): Readiness => ({ ready: () => false, deadline: o.clock.monotonic() + ns });
    const randomBytes = (len: bigint): Uint8Array => {
      // The bytes are host memory until jco copies them into the guest's: a request no guest memory could take is a trap.
      if (len > BigInt(MAX_RANDOM)) throw new RangeError(`get-random-bytes: ${len} bytes is more than ${MAX_RANDOM}`);
      const out = new Uint8Array(Number(len));
      for (let at = 0; at < out.length; at += 65536) random(out.subarray(at, at + 65536));
      return out;
    };
    const randomU64 = (): bigint => new DataView(randomBytes(8n).buffer).getBigUint64(0, true);

    const files = o.filesystem?.(
      (src) => new InputStream(src),
      (sink) => new OutputStream(sink),
    );
    return {
      ...files,
      'wasi:cli/environment': {
        getEnvironment: () => env.map(([k, v]) => [k, v]),
        getArguments: () => [...o.args],
        initialCwd: () => o.cwd,
      },
      'wasi:cli/exit': {
        exit: (status: { tag: 'ok' | 'err' }) => end({ exit: status.tag === 'ok' ? 0 : 1 }),
        exitWithCode: (code: number) => end({ exit: code & 0xff }),
      },
      'wasi:cli/stdin': { getStdin: () => new InputStream(stdinSource) },
      'wasi:cli/stdout': { getStdout: () => new OutputStream(stdioSink(o.stdout)) },
      'wasi:cli/stderr': { getStderr: () => new OutputStream(stdioSink(o.stderr)) },
      'wasi:cli/terminal-input': { TerminalInput },
      'wasi:cli/terminal-output': { TerminalOutput },
      'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
      'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
      'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
      'wasi:clocks/monotonic-clock': {
        now: () => o.clock.monotonic(),
        resolution: () => 1000n,
        subscribeInstant: (when: bigint) => new Pollable({ ready: () => false, deadline: when }),
        subscribeDuration: (ns: bigint) => new Pollable(deadlineIn(ns)),
      },
      'wasi:clocks/wall-clock': {
        now: () => {
          const ns = o.clock.realtime();
          return { seconds: ns / 1_000_000_000n, nanoseconds: Number(ns % 1_000_000_000n) };
        },
        resolution: () => ({ seconds: 0n, nanoseconds: 1000 }),
      },
      'wasi:filesystem/preopens': files?.['wasi:filesystem/preopens'] ?? { getDirectories: () => [] },
      'wasi:filesystem/types': files?.['wasi:filesystem/types'] ?? { Descriptor, DirectoryEntryStream, filesystemErrorCode: () => undefined },
      'wasi:io/error': { Error: IoError },
      'wasi:io/poll': {
        Pollable,
        poll: (list: Pollable[]) => {
          if (list.length === 0) throw new RangeError('poll: the list of pollables is empty');
          return new Uint32Array(waitAny(list.map((p) => p.r)));
        },
      },
      'wasi:io/streams': { InputStream, OutputStream },
      'wasi:random/random': { getRandomBytes: randomBytes, getRandomU64: randomU64 },
      'wasi:random/insecure': { getInsecureRandomBytes: randomBytes, getInsecureRandomU64: randomU64 },
      'wasi:random/insecure-seed': { insecureSeed: () => [randomU64(), randomU64()] },
      'wasi:sockets/network': { Network },
      'wasi:sockets/instance-network': { instanceNetwork: () => theNetwork },
      'wasi:sockets/tcp': { TcpSocket },
      'wasi:sockets/tcp-create-socket': {
        createTcpSocket: (family: 'ipv4' | 'ipv6') => new TcpSocket(family),
      },
      'wasi:sockets/udp': { UdpSocket, IncomingDatagramStream, OutgoingDatagramStream },
      'wasi:sockets/udp-create-socket': {
        createUdpSocket: () => {
          throw 'not-supported';
        },
      },
      'wasi:sockets/ip-name-lookup': {
        ResolveAddressStream,
        resolveAddresses: (_network: Network, name: string) => {
          if (name.toLowerCase() === 'localhost') return new ResolveAddressStream([ipOf(0x7f000001)]);
          const literal = parseIPv4(name);
          if (literal !== undefined) return new ResolveAddressStream([ipOf(literal)]);
          // A DNS name (wasi-sockets: anything else is invalid-argument).
          if (name.length === 0 || name.length > 253 || !/^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/.test(name)) throw 'invalid-argument';
          if (o.net === undefined) return new ResolveAddressStream([], undefined, 'name-unresolvable');
          const entry = o.net.guest.resolve(name);
          // Every lookup entry is in flight: the guest may try again (EAI_AGAIN).
          if (entry === undefined) return new ResolveAddressStream([], undefined, 'temporary-resolver-failure');
          return new ResolveAddressStream(undefined, entry);
        },
      },
    };
  }
}

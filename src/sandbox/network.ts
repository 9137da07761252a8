/**
 * Container ports: which ports a container listens on, the network of each run (its
 * arena, its host side and its published host ports), and the guest side that the
 * container thread builds from the start message.
 *
 * Words (Docker's):
 * - A *container port* is a TCP port the guest listens on. The guest does not bind: it
 *   finds a pre-opened listening socket at fd 3 onward and accepts on it (wasmtime's
 *   `--tcplisten` convention), one socket per port, in the order `containerPorts` gives,
 *   before the preopened directories. No environment variable is added for them:
 *   wasmtime adds none, and systemd's `LISTEN_FDS` is only meaningful with `LISTEN_PID`,
 *   which a WASI guest cannot compare (it has no getpid). A guest that takes its fd from
 *   the environment is given it in the spec's env; the http guest reads `LISTEN_FD` and
 *   defaults to 3, the first port's fd. `inspect().ports` lists each port's fd.
 * - A *published port* (`docker run -p 8080:80`) is a real TCP listener on a host
 *   loopback address (`Platform.publish`: Node only) that forwards each connection to a
 *   container port. Virtual connections never touch a real socket otherwise.
 *
 * Lifecycle of one run's network (`RunNetwork`):
 *   open     the runtime allocates the arena (net/arena.ts) and opens the host listeners
 *            before the guest starts; a host port in use fails the start (Docker's
 *            "port is already allocated"). Connections that arrive before the guest
 *            accepts wait in the listen backlog, as on a listening socket.
 *   running  `connect(port)` queues a connection on the port's listener. When every
 *            connection slot of the arena is taken it waits for one to be freed (a
 *            kernel's SYN backlog), up to MAX_WAITING connects; beyond that, and for a
 *            port nobody listens on, it is refused.
 *   close    when the run ends, however it ends: the host listeners are closed, every
 *            connection is ended — what the guest wrote is still read, then EOF where it
 *            had closed its side, else an error (the TCP client sees EOF or a reset) —
 *            and waiting connects are refused. Idempotent; resolves when the host ports
 *            are free again.
 */
import { Errno, EAGAIN } from '../layers/errno.js';
import { SkiffError } from '../layers/errors.js';
import type { Platform, PublishedPort } from '../platform/platform.js';
import { Arena, type ArenaLayout } from './net/arena.js';
import { GuestNet } from './net/guest.js';
import { ContainerNetwork, type VirtualConnection } from './net/host.js';
import { httpRequest } from './net/http.js';
import { handle, type Handles, type NetWire } from './protocol.js';
import type { Preview1Options } from './wasi/options.js';

export type { VirtualConnection } from './net/host.js';

/** A published port: `hostAddress:hostPort` → `containerPort` (Docker's `-p`). */
export interface PublishSpec {
  readonly containerPort: number;
  /** Host port; 0 or absent: a free port is picked at each start (`-p 127.0.0.1::80`). */
  readonly hostPort?: number;
  /** A loopback address (default 127.0.0.1). skiff never listens beyond loopback. */
  readonly hostAddress?: string;
}

/** A container port as `inspect` reports it (Docker's `NetworkSettings.Ports`, plus the guest's fd). */
export interface PortInfo {
  readonly containerPort: number;
  readonly protocol: 'tcp';
  /** The guest's descriptor of this port's listening socket. */
  readonly fd: number;
  /**
   * Where it is published on the host. While the container runs: the addresses and ports
   * listened on (a picked port included); otherwise as configured (port 0: picked at start).
   */
  readonly published: readonly { readonly hostAddress: string; readonly hostPort: number }[];
}

/** Arena sizing per run: connection slots (at most this many connections open at once), bytes per direction, listen backlog. */
export const NET_LAYOUT: Omit<ArenaLayout, 'ports'> = { slots: 256, ringBytes: 32 * 1024, backlog: 128 };
/**
 * Arena sizing for a run that listens on nothing and only opens connections (a component
 * importing wasi:sockets): fewer slots, so each such run allocates 1 MiB, not 16.
 */
export const DIAL_ONLY_LAYOUT: Omit<ArenaLayout, 'ports'> = { slots: 16, ringBytes: 32 * 1024, backlog: 1 };
/** Connects waiting for a free slot beyond which new ones are refused. */
export const MAX_WAITING = 1024;
/** The first listening socket's descriptor (wasmtime's `--tcplisten`). */
export const FIRST_LISTEN_FD = 3;
const MAX_PORTS = 1024;
const DEFAULT_HOST_ADDRESS = '127.0.0.1';

/**
 * The ports a container listens on, in fd order: `ports` as given (default: the image's
 * `ExposedPorts` tcp ports, ascending), then each published container port not among them
 * (Docker publishes a port the image does not expose). Throws on an invalid port.
 */
export function containerPorts(ports: readonly number[] | undefined, exposed: Readonly<Record<string, object>> | undefined, publish: readonly PublishSpec[] | undefined): number[] {
  const out: number[] = [];
  const add = (p: number, what: string): void => {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new SkiffError('CONFLICT', `${what}: ${String(p)} is not a TCP port (1–65535)`);
    if (!out.includes(p)) out.push(p);
    if (out.length > MAX_PORTS) throw new SkiffError('LIMIT_EXCEEDED', `a container listens on at most ${MAX_PORTS} ports`);
  };
  if (ports !== undefined) for (const p of ports) add(p, 'ports');
  else {
    const fromImage: number[] = [];
    for (const key of Object.keys(exposed ?? {})) {
      const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(key);
      if (m === null || (m[3] ?? 'tcp').toLowerCase() !== 'tcp') continue;
      const first = Number(m[1]);
      const last = m[2] === undefined ? first : Number(m[2]);
      for (let p = first; p <= last && fromImage.length <= MAX_PORTS; p++) fromImage.push(p);
    }
    for (const p of fromImage.sort((a, b) => a - b)) add(p, `the image's ExposedPorts`);
  }
  const bound = new Set<string>();
  for (const p of publish ?? []) {
    add(p.containerPort, 'publish containerPort');
    const hostPort = p.hostPort ?? 0;
    if (!Number.isInteger(hostPort) || hostPort < 0 || hostPort > 65535) throw new SkiffError('CONFLICT', `publish hostPort: ${String(hostPort)} is not a TCP port (0–65535; 0 picks a free one)`);
    const address = p.hostAddress ?? DEFAULT_HOST_ADDRESS;
    if (!isLoopback(address)) throw new SkiffError('CONFLICT', `publish hostAddress ${address}: only loopback addresses (127.0.0.0/8, ::1, localhost) are published`);
    const key = `${address}:${hostPort}`;
    if (hostPort !== 0 && bound.has(key)) throw new SkiffError('CONFLICT', `publish: host port ${key} is given twice`);
    bound.add(key);
  }
  return out;
}

/**
 * Parses Docker's `-p` syntax: `[HOST_ADDRESS:][HOST_PORT:]CONTAINER_PORT[/tcp]`, e.g.
 * `8080:80`, `127.0.0.1:8080:80`, `127.0.0.1::80` (a free host port), `80` (a free host
 * port on 127.0.0.1), `[::1]:8080:80`. Unlike Docker the default address is 127.0.0.1,
 * not every interface. Ranges and udp are refused.
 */
export function parsePublish(text: string): PublishSpec {
  const bad = (why: string): SkiffError => new SkiffError('CONFLICT', `invalid port mapping ${JSON.stringify(text)}: ${why} (use [HOST_ADDRESS:][HOST_PORT:]CONTAINER_PORT, e.g. 8080:80 or 127.0.0.1::80)`);
  let rest = text.trim();
  const proto = /\/([a-z]+)$/i.exec(rest);
  if (proto !== null) {
    if ((proto[1] as string).toLowerCase() !== 'tcp') throw bad(`only tcp ports are supported, not ${proto[1] as string}`);
    rest = rest.slice(0, proto.index);
  }
  let address: string | undefined;
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(rest);
  if (v6 !== null) {
    address = v6[1] as string;
    rest = v6[2] as string;
  }
  const parts = rest.split(':');
  if (address === undefined && parts.length === 3) address = parts.shift() as string;
  if (parts.length > 2 || (address !== undefined && parts.length !== 2)) throw bad('too many parts');
  const num = (s: string, what: string, min: number): number => {
    if (s.includes('-')) throw bad('port ranges are not supported');
    if (!/^\d+$/.test(s)) throw bad(`${what} ${JSON.stringify(s)} is not a number`);
    const n = Number(s);
    if (n < min || n > 65535) throw bad(`${what} ${n} is out of range`);
    return n;
  };
  const containerPort = num(parts[parts.length - 1] as string, 'container port', 1);
  const host = parts.length === 2 ? (parts[0] as string) : '';
  const hostPort = host === '' ? 0 : num(host, 'host port', 0);
  if (address !== undefined && address !== '' && !isLoopback(address)) throw bad(`${address} is not a loopback address; skiff publishes on loopback only`);
  return { containerPort, hostPort, ...(address !== undefined && address !== '' ? { hostAddress: address } : {}) };
}

function isLoopback(address: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) || address === '::1' || address === 'localhost';
}

interface Published {
  readonly spec: PublishSpec;
  readonly port: PublishedPort;
}

/** One run's network, host side (see the lifecycle above). Runs in the runtime's thread. */
export class RunNetwork {
  private readonly published: Published[] = [];
  private closing: Promise<void> | undefined;
  private waiting = 0;

  private constructor(
    readonly arena: Arena,
    readonly host: ContainerNetwork,
  ) {}

  /**
   * A network listening on `ports`, with `publish` open on the host. Throws
   * `SkiffError('CONFLICT')` when a host port cannot be listened on (nothing stays open
   * then), `SkiffError('UNSUPPORTED')` when the platform has no host sockets.
   */
  static async open(platform: Platform, ports: readonly number[], publish: readonly PublishSpec[], layout: Omit<ArenaLayout, 'ports'> = NET_LAYOUT): Promise<RunNetwork> {
    const arena = Arena.create({ ports, ...layout });
    const net = new RunNetwork(arena, new ContainerNetwork(arena));
    for (const spec of publish) {
      const address = spec.hostAddress ?? DEFAULT_HOST_ADDRESS;
      const hostPort = spec.hostPort ?? 0;
      if (platform.publish === undefined) {
        await net.close();
        throw new SkiffError('UNSUPPORTED', `publishing ${address}:${hostPort} → ${spec.containerPort} needs host sockets, which the ${platform.name} platform lacks: reach the container with runtime.fetch or runtime.connect`);
      }
      try {
        const port = await platform.publish({ address, port: hostPort, connect: () => net.connect(spec.containerPort) });
        net.published.push({ spec, port });
      } catch (e) {
        await net.close();
        const why = (e as { code?: string }).code === 'EADDRINUSE' ? 'the address is already in use' : (e as Error).message;
        throw new SkiffError('CONFLICT', `cannot publish ${address}:${hostPort} → container port ${spec.containerPort}: ${why}`, { cause: e });
      }
    }
    return net;
  }

  /** The listening ports, in fd order. */
  get ports(): readonly number[] {
    return this.arena.layout.ports;
  }

  /** The host listeners, with the ports actually bound. */
  bindings(): { readonly containerPort: number; readonly hostAddress: string; readonly hostPort: number }[] {
    return this.published.map((p) => ({ containerPort: p.spec.containerPort, hostAddress: p.port.address, hostPort: p.port.port }));
  }

  /** Virtual connections open, and host connections forwarded (for leak checks). */
  get connections(): { readonly virtual: number; readonly forwarded: number } {
    return { virtual: this.host.openConnections, forwarded: this.published.reduce((n, p) => n + p.port.connections, 0) };
  }

  /** The wire form for the start message (the arena's buffer as a handle). */
  wire(handles: Handles): NetWire {
    const { ports, slots, ringBytes, backlog } = this.arena.layout;
    return { arena: handles.add(this.arena.buffer), ports, slots, ringBytes, backlog };
  }

  /**
   * Wakes a guest blocked in accept, a socket read or poll. The runtime calls it after
   * writing a stop request into the thread's control word, so that the guest, which
   * sleeps on the arena's WAKE word rather than on the control word, sees the request at
   * once (the order matters: control word first, then this).
   */
  wakeGuest(): void {
    this.arena.wakeGuest();
  }

  /**
   * A connection to `port`, queued on its listening socket; waits while every slot is
   * taken. undefined: refused (nobody listens on `port`, the network is closed, or too
   * many connects are waiting).
   */
  async connect(port: number): Promise<VirtualConnection | undefined> {
    for (;;) {
      const c = this.host.connect(port);
      if (!(c instanceof Errno)) return c;
      if (c !== EAGAIN || this.waiting >= MAX_WAITING) return undefined;
      this.waiting++;
      try {
        await this.host.whenChanged();
      } finally {
        this.waiting--;
      }
    }
  }

  /** Closes the host listeners and ends every connection (see above). Idempotent. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      this.host.shutdown();
      await Promise.all(this.published.map((p) => p.port.close()));
    })());
  }
}

/**
 * The guest side, in the container thread: the listening sockets (fd 3 onward) and the
 * waiter blocking calls sleep on, as Preview1 options. Nothing when the run has no ports.
 */
export function guestNetwork(wire: NetWire | undefined, handles: readonly unknown[]): Pick<Preview1Options, 'extraFds' | 'waiter'> {
  if (wire === undefined) return {};
  const { ports, slots, ringBytes, backlog } = wire;
  const net = new GuestNet(new Arena(handle<SharedArrayBuffer>(handles, wire.arena), { ports, slots, ringBytes, backlog }));
  return { extraFds: net.listeners(), waiter: net.waiter };
}

/** The guest side's arena, for a component's preview 2 sockets (wasi/preview2.ts). */
export function guestNet(wire: NetWire | undefined, handles: readonly unknown[]): GuestNet | undefined {
  if (wire === undefined) return undefined;
  const { ports, slots, ringBytes, backlog } = wire;
  return new GuestNet(new Arena(handle<SharedArrayBuffer>(handles, wire.arena), { ports, slots, ringBytes, backlog }));
}

/**
 * `fetch` over a container's port: `input` is a URL (its port picks the container port;
 * the host name is only sent as `Host`) or a path (`/hits`: the container's first port).
 * Plain HTTP/1.1, one request per connection (net/http.ts). Fails as `fetch` does, with
 * a `TypeError` whose `cause` says why (refused, closed, a malformed response).
 */
export async function fetchOver(connect: (port: number) => Promise<VirtualConnection>, defaultPort: number | undefined, input: string | URL | Request, init?: RequestInit): Promise<Response> {
  if (typeof input === 'string' && input.startsWith('/')) {
    if (defaultPort === undefined) throw new TypeError(`fetch failed: the container listens on no port, so ${input} has none to go to`);
    input = `http://localhost:${defaultPort}${input}`;
  }
  const request = new Request(input, init);
  const url = new URL(request.url);
  if (url.protocol !== 'http:') throw new TypeError(`fetch failed: ${url.protocol} is not supported (a container's port speaks plain HTTP/1.1; use http://)`);
  const signal = request.signal;
  signal.throwIfAborted();
  let conn: VirtualConnection;
  try {
    conn = await connect(url.port === '' ? 80 : Number(url.port));
  } catch (e) {
    throw new TypeError('fetch failed', { cause: e });
  }
  const abort = (): void => conn.close();
  signal.addEventListener('abort', abort, { once: true });
  try {
    return await httpRequest(conn, request);
  } catch (e) {
    conn.close();
    signal.removeEventListener('abort', abort);
    if (signal.aborted) throw signal.reason;
    throw new TypeError('fetch failed', { cause: e });
  }
}

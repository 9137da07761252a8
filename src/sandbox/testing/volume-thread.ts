/**
 * A thread module (platform/threads.ts) for the channel and volume tests: it plays a
 * container thread (a RemoteFs client, or a raw channel client) or a volume server in
 * another thread, driven by messages from the test. Used by tests only.
 *
 * Every command is `{ cmd, id, … }` and gets one reply `{ id, … }` (or `{ id, error }`).
 */
import { Volume, createFsFromVolume } from 'memfs';
import { Errno } from '../../layers/errno.js';
import type { ThreadPort } from '../../platform/threads.js';
import { ChannelClient, ChannelError, ChannelServer, type ChannelEnd } from '../channel.js';
import { PathFs } from '../path-fs.js';
import { RemoteFs, VolumeServer, type RemoteNode, type VolumeConnection } from '../remote-fs.js';

export type Command =
  /** Serve a fresh memfs volume (mount 0; mount 1 is the same volume read-only). */
  | { cmd: 'serve'; id: number; maxHandles?: number }
  | { cmd: 'server-stats'; id: number; server: number }
  | { cmd: 'close-server'; id: number; server: number }
  | { cmd: 'connect'; id: number; connection: VolumeConnection }
  | { cmd: 'write'; id: number; mount: number; path: string; data: Uint8Array; pos?: number; thenSpin?: boolean }
  | { cmd: 'read'; id: number; mount: number; path: string }
  | { cmd: 'stat-loop'; id: number; mount: number; n: number }
  | { cmd: 'disconnect'; id: number }
  | { cmd: 'channel-call'; id: number; end: ChannelEnd; requests: unknown[]; timeoutMs?: number }
  | { cmd: 'channel-poll'; id: number; end: ChannelEnd; count: number }
  | { cmd: 'channel-bench'; id: number; end: ChannelEnd; n: number };

export function main(port: ThreadPort): void {
  const servers = new Map<number, VolumeServer>();
  const pathFss = new Map<number, PathFs>();
  let fss: RemoteFs[] = [];
  let nextServer = 1;

  const resolve = (mount: number, path: string, create: boolean): RemoteNode | Errno => {
    const fs = fss[mount];
    if (fs === undefined) throw new Error(`no mount ${mount}`);
    let node = fs.root();
    const parts = path.split('/').filter((p) => p !== '');
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i] as string;
      let next = fs.lookup(node, name);
      if (next === Errno.of('ENOENT') && create) next = i === parts.length - 1 ? fs.createFile(node, name, 0o644) : fs.mkdir(node, name, 0o755);
      if (next instanceof Errno) return next;
      node = next;
    }
    return node;
  };

  const run = (m: Command): unknown => {
    switch (m.cmd) {
      case 'serve': {
        const fs = createFsFromVolume(new Volume());
        fs.mkdirSync('/vol');
        const pfs = new PathFs(fs, '/vol', { verify: 'on-change' });
        const server = new VolumeServer(
          [
            { path: '/data', fs: pfs },
            { path: '/ro', fs: pfs, readonly: true },
          ],
          m.maxHandles !== undefined ? { maxHandles: m.maxHandles } : {},
        );
        pathFss.set(nextServer, pfs);
        const n = nextServer++;
        servers.set(n, server);
        port.post({ id: m.id, server: n, connection: server.connection }, server.transfer);
        return undefined;
      }
      case 'server-stats': {
        const server = servers.get(m.server);
        return { handles: server?.handleCount, descriptors: pathFss.get(m.server)?.openDescriptors };
      }
      case 'close-server': {
        const server = servers.get(m.server);
        if (server === undefined) return { handles: -1 };
        void server.close().then(() => port.post({ id: m.id, handles: server.handleCount, descriptors: pathFss.get(m.server)?.openDescriptors }));
        return undefined;
      }
      case 'connect':
        fss = RemoteFs.connect(m.connection);
        return { mounts: fss.length };
      case 'write': {
        const node = resolve(m.mount, m.path, true);
        if (node instanceof Errno) return { errno: node.code };
        const r = (fss[m.mount] as RemoteFs).write(node, m.pos ?? 0, m.data);
        if (m.thenSpin) {
          // The write was acknowledged; say so, then keep the thread busy until it is killed.
          port.post({ id: m.id, n: r instanceof Errno ? r.code : r });
          for (;;) {
            /* spin */
          }
        }
        return { n: r instanceof Errno ? r.code : r };
      }
      case 'read': {
        const fs = fss[m.mount] as RemoteFs;
        const node = resolve(m.mount, m.path, false);
        if (node instanceof Errno) return { errno: node.code };
        const st = fs.stat(node);
        if (st instanceof Errno) return { errno: st.code };
        const buf = new Uint8Array(st.size);
        const n = fs.read(node, 0, buf);
        return n instanceof Errno ? { errno: n.code } : { data: buf.subarray(0, n) };
      }
      case 'stat-loop': {
        const fs = fss[m.mount] as RemoteFs;
        const root = fs.root();
        return percentiles(m.n, () => fs.stat(root));
      }
      case 'disconnect':
        fss[0]?.disconnect();
        return {};
      case 'channel-call': {
        const client = new ChannelClient<unknown, unknown>(m.end);
        const results = m.requests.map((r) => {
          const out = client.call(r, m.timeoutMs);
          return out instanceof ChannelError ? { error: out.reason, message: out.message } : { ok: out };
        });
        return { results, closed: client.closed };
      }
      case 'channel-bench': {
        const client = new ChannelClient<unknown, unknown>(m.end);
        return { ...percentiles(m.n, () => client.call({ op: 'ping' })) };
      }
      case 'channel-poll': {
        // A busy thread serving at its own pace: poll between slices of "work".
        const server = new ChannelServer<unknown, unknown>(m.end);
        let served = 0;
        while (served < m.count) {
          if (!server.waitForRequest(5_000)) break;
          if (server.pollOnce((req) => ({ echo: req, by: 'poll' }))) served++;
        }
        return { served };
      }
    }
  };

  /** Runs `f` n times; p50 and p99 of its duration in µs (and the last failure, if any). */
  const percentiles = (n: number, f: () => unknown): { p50: number; p99: number; failure?: string } => {
    const times = new Float64Array(n);
    let failure: string | undefined;
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const r = f();
      times[i] = (performance.now() - t0) * 1000;
      if (r instanceof Errno || r instanceof ChannelError) failure = String(r);
    }
    times.sort();
    return { p50: times[Math.floor(n / 2)] as number, p99: times[Math.floor(n * 0.99)] as number, ...(failure !== undefined ? { failure } : {}) };
  };

  port.onMessage((raw) => {
    const m = raw as Command;
    try {
      const r = run(m);
      if (r !== undefined) port.post({ id: m.id, ...(r as object) });
    } catch (e) {
      port.post({ id: m.id, error: e instanceof Error ? e.message : String(e) });
    }
  });
  port.post({ ready: true });
}

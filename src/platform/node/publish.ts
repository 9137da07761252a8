/**
 * Published ports in Node: a real TCP listener on a loopback address whose every
 * accepted connection is forwarded to a virtual connection (a container's port), with
 * back-pressure both ways and half-close passed through.
 *
 * Only loopback addresses are accepted (skiff never listens on other interfaces unless
 * asked explicitly, and virtual addresses are never dialled). `close()` stops listening
 * and destroys every forwarded connection; it is idempotent.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { ForwardTarget, PublishedPort, PublishOptions } from '../platform.js';

export type { ForwardTarget, PublishedPort, PublishOptions } from '../platform.js';

export async function publishPort(options: PublishOptions): Promise<PublishedPort> {
  const address = options.address ?? '127.0.0.1';
  if (!/^127\.\d+\.\d+\.\d+$/.test(address) && address !== '::1' && address !== 'localhost') {
    throw new Error(`refusing to publish on ${address}: only loopback addresses (127.0.0.0/8, ::1) are allowed`);
  }
  const sockets = new Set<Socket>();
  let closed = false;
  const server: Server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    sockets.add(socket);
    const forwardTo = (conn: ForwardTarget | undefined): void => {
      if (conn === undefined || socket.destroyed || closed) {
        conn?.close();
        socket.destroy();
        sockets.delete(socket);
        return;
      }
      forward(socket, conn, () => sockets.delete(socket));
    };
    // A socket waiting for its target is not read meanwhile; an error just closes it.
    socket.on('error', () => socket.destroy());
    socket.once('close', () => sockets.delete(socket));
    let target: ReturnType<PublishOptions['connect']>;
    try {
      target = options.connect();
    } catch {
      target = undefined;
    }
    if (target instanceof Promise) target.then(forwardTo, () => forwardTo(undefined));
    else forwardTo(target);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : options.port;
  let closing: Promise<void> | undefined;
  return {
    address,
    port,
    get connections() {
      return sockets.size;
    },
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        closed = true;
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      })),
  };
}

/** Pumps bytes between a TCP socket and a virtual connection until both directions end. */
function forward(socket: Socket, conn: ForwardTarget, done: () => void): void {
  const writer = conn.writable.getWriter();
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    conn.close();
    socket.destroy();
    done();
  };
  // socket → container, pausing the socket while the container's ring is full.
  socket.on('data', (chunk: Buffer) => {
    socket.pause();
    writer.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)).then(
      () => socket.resume(),
      () => finish(),
    );
  });
  socket.on('end', () => {
    writer.close().catch(() => undefined);
  });
  socket.on('error', finish);
  socket.on('close', finish);
  // container → socket, waiting for 'drain' when the socket's buffer is full.
  void (async () => {
    const reader = conn.readable.getReader();
    try {
      for (;;) {
        const { done: end, value } = await reader.read();
        if (end) break;
        if (!socket.write(value)) await new Promise<void>((resolve) => socket.once('drain', resolve).once('close', resolve));
        if (socket.destroyed) return;
      }
      socket.end();
    } catch {
      finish();
    }
  })();
}

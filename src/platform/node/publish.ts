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

/** A duplex byte stream (a container's port, in practice): what each TCP connection is forwarded to. */
export interface ForwardTarget {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  close(): void;
}

export interface PublishedPort {
  readonly address: string;
  readonly port: number;
  /** Connections currently forwarded. */
  readonly connections: number;
  close(): Promise<void>;
}

export interface PublishOptions {
  /** Host address to listen on (default 127.0.0.1); must be a loopback address. */
  readonly address?: string;
  /** Host port; 0 picks a free one. */
  readonly port: number;
  /** Opens the target for one accepted socket; undefined refuses it (the socket is closed). */
  readonly connect: () => ForwardTarget | undefined;
}

export async function publishPort(options: PublishOptions): Promise<PublishedPort> {
  const address = options.address ?? '127.0.0.1';
  if (!/^127\.\d+\.\d+\.\d+$/.test(address) && address !== '::1' && address !== 'localhost') {
    throw new Error(`refusing to publish on ${address}: only loopback addresses (127.0.0.0/8, ::1) are allowed`);
  }
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    const conn = options.connect();
    if (conn === undefined) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    forward(socket, conn, () => sockets.delete(socket));
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

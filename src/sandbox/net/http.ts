/**
 * A `fetch`-compatible HTTP/1.1 client over a virtual connection: how in-process
 * callers (and the browser, which has no sockets) reach a container's HTTP server.
 * One request per connection (`Connection: close`); response bodies by Content-Length,
 * chunked transfer coding, or until the server closes. The `Response` streams its body.
 */
import type { VirtualConnection } from './host.js';

const encoder = new TextEncoder();

export class HttpProtocolError extends Error {}

/** Sends `request` over `conn` and resolves with the response once its head arrives. */
export async function httpRequest(conn: VirtualConnection, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const body = request.body === null ? undefined : new Uint8Array(await request.arrayBuffer());
  const headers = new Headers(request.headers);
  headers.set('host', url.host);
  headers.set('connection', 'close');
  if (body !== undefined) headers.set('content-length', String(body.length));
  let head = `${request.method} ${url.pathname}${url.search} HTTP/1.1\r\n`;
  headers.forEach((v, k) => (head += `${k}: ${v}\r\n`));
  head += '\r\n';
  const writer = conn.writable.getWriter();
  await writer.write(encoder.encode(head));
  if (body !== undefined && body.length > 0) await writer.write(body);
  writer.releaseLock();

  const reader = conn.readable.getReader();
  // Unconsumed bytes received so far.
  let pending = new Uint8Array(0);
  const more = async (): Promise<boolean> => {
    const { done, value } = await reader.read();
    if (done) return false;
    const next = new Uint8Array(pending.length + value.length);
    next.set(pending);
    next.set(value, pending.length);
    pending = next;
    return true;
  };
  const take = (n: number): Uint8Array => {
    const out = pending.slice(0, n);
    pending = pending.subarray(n);
    return out;
  };

  let end = -1;
  while ((end = indexOfHeadEnd(pending)) < 0) {
    if (pending.length > 64 * 1024) throw new HttpProtocolError('response head larger than 64 KiB');
    if (!(await more())) throw new HttpProtocolError('connection closed before the response head');
  }
  const lines = new TextDecoder().decode(take(end)).split('\r\n');
  take(4);
  const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (status === null) throw new HttpProtocolError(`bad status line ${JSON.stringify(lines[0])}`);
  const resHeaders = new Headers();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) resHeaders.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  const code = Number(status[1]);
  const noBody = request.method === 'HEAD' || code === 204 || code === 304 || (code >= 100 && code < 200);
  const length = resHeaders.get('content-length');
  const chunked = /\bchunked\b/i.test(resHeaders.get('transfer-encoding') ?? '');

  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    reader.releaseLock();
    conn.close();
  };
  let stream: ReadableStream<Uint8Array> | null = null;
  if (noBody) finish();
  else if (chunked) {
    stream = new ReadableStream<Uint8Array>({
      pull: async (c) => {
        let nl: number;
        while ((nl = indexOfCrlf(pending)) < 0) {
          if (!(await more())) throw new HttpProtocolError('connection closed inside a chunked body');
        }
        const size = parseInt((new TextDecoder().decode(take(nl)).split(';')[0] as string).trim(), 16);
        take(2);
        if (!Number.isFinite(size) || size < 0) throw new HttpProtocolError('bad chunk size');
        while (pending.length < size + 2) {
          if (!(await more())) throw new HttpProtocolError('connection closed inside a chunk');
        }
        const data = take(size);
        take(2);
        if (size === 0) {
          c.close();
          finish();
        } else c.enqueue(data);
      },
      cancel: () => finish(),
    });
  } else {
    let remaining = length === null ? Infinity : Number(length);
    stream = new ReadableStream<Uint8Array>({
      pull: async (c) => {
        if (pending.length === 0 && remaining > 0 && !(await more())) {
          if (remaining !== Infinity) c.error(new HttpProtocolError('connection closed before the end of the body'));
          else c.close();
          finish();
          return;
        }
        const data = take(Math.min(pending.length, remaining));
        remaining -= data.length;
        if (data.length > 0) c.enqueue(data);
        if (remaining === 0) {
          c.close();
          finish();
        }
      },
      cancel: () => finish(),
    });
  }
  return new Response(stream, { status: code, statusText: status[2] ?? '', headers: resHeaders });
}

function indexOfHeadEnd(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  return -1;
}

function indexOfCrlf(b: Uint8Array): number {
  for (let i = 0; i + 1 < b.length; i++) if (b[i] === 13 && b[i + 1] === 10) return i;
  return -1;
}

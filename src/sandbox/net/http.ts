/**
 * A `fetch`-compatible HTTP/1.1 client over a virtual connection: how in-process
 * callers (and the browser, which has no sockets) reach a container's HTTP server.
 * One request per connection (`Connection: close`); response bodies by Content-Length,
 * chunked transfer coding, or until the server closes. The `Response` streams its body.
 */
import type { VirtualConnection } from './host.js';

const encoder = new TextEncoder();

export class HttpProtocolError extends Error {}

/** How much of a probe's answer is read (Kubernetes' prober reads at most 10 KiB of the body). */
const PROBE_READ_LIMIT = 10 * 1024;

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
    pending = concat(pending, value);
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
  const status = statusLine(lines[0] ?? '');
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

/**
 * An HTTP/1.1 `GET path` that only asks for the status (a kubelet's httpGet probe): sends
 * the request with `headers` (a `host` there overrides `Host: host`; `Connection: close`
 * always), reads the answer as Kubernetes' prober does (to its end, or its first 10 KiB)
 * and resolves with the status code. None of fetch's machinery (Request, Headers,
 * Response, body streams), which a probe would pay every period for every pod. Rejects
 * with `HttpProtocolError` when the connection ends before a status line, or the line is
 * not one; closes the connection either way.
 */
export async function requestStatus(conn: VirtualConnection, host: string, path: string, headers: Readonly<Record<string, string>> = {}): Promise<number> {
  try {
    const fields = new Map<string, string>([['host', host]]);
    for (const [name, value] of Object.entries(headers)) fields.set(name.toLowerCase(), value);
    fields.set('connection', 'close');
    let head = `GET ${path} HTTP/1.1\r\n`;
    for (const [name, value] of fields) head += `${name}: ${value}\r\n`;
    const writer = conn.writable.getWriter();
    await writer.write(encoder.encode(`${head}\r\n`));
    writer.releaseLock();
    const reader = conn.readable.getReader();
    let received = new Uint8Array(0);
    let end: number;
    while ((end = indexOfCrlf(received)) < 0) {
      if (received.length > 1024) throw new HttpProtocolError('status line longer than 1 KiB');
      const { done, value } = await reader.read();
      if (done) throw new HttpProtocolError('connection closed before the status line');
      received = concat(received, value);
    }
    const status = statusLine(new TextDecoder().decode(received.subarray(0, end)));
    for (let read = received.length; read < PROBE_READ_LIMIT; ) {
      const chunk = await reader.read().catch(() => undefined); // a reset after the status: it is the answer
      if (chunk === undefined || chunk.done) break;
      read += chunk.value.length;
    }
    return Number(status[1]);
  } finally {
    conn.close();
  }
}

/** `HTTP/1.x CODE [REASON]`, as [line, code, reason]; an HttpProtocolError when it is not one. */
function statusLine(line: string): RegExpExecArray {
  const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(line);
  if (status === null) throw new HttpProtocolError(`bad status line ${JSON.stringify(line)}`);
  return status;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOfHeadEnd(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  return -1;
}

function indexOfCrlf(b: Uint8Array): number {
  for (let i = 0; i + 1 < b.length; i++) if (b[i] === 13 && b[i + 1] === 10) return i;
  return -1;
}

/**
 * The rehearsal: what a new container thread runs once when it boots for the pool, before
 * it is idle (pool.ts, worker.ts `rehearse`).
 *
 * A thread's first run costs several times its later ones: in a fresh isolate every WASI
 * call, the overlay, the sockets and the start and exit paths run for the first time, so
 * their bytecode is loaded, their feedback allocated and their inline caches filled. The
 * code cache (scripts/warm-code-cache.mjs) spares the compiling, not the rest. Measured
 * here (container-thread CPU of a web server's start, first request and kill, median of
 * 10): 15.1 ms as a warm thread's first run, 2.8 ms as its second; 4.6 ms as the first run
 * after a rehearsal. So a thread that boots ahead of need (a warm pool, a node's
 * `warmThreads`) runs the same kind of work first, off the path of the run that takes it.
 *
 * The work is guests/c/http.c (a static file server, also the web example's server), from
 * an empty root, serving one request the thread queues itself; it is stopped when it would
 * block for the next. Nothing of it leaves the thread but the answer `rehearsed` (how it
 * went): its output, control words and network are its own, thrown away after.
 */
import { REHEARSAL_WASM_BASE64 } from './rehearsal-wasm.js';

/** Its module's cache key in the thread (dropped after), listening port, environment, and the one request it serves (which also writes /hits). */
export const REHEARSAL_KEY = 'skiff-rehearsal';
export const REHEARSAL_PORT = 80;
export const REHEARSAL_ENV: readonly string[] = ['DOCROOT=/', 'HITS_FILE=/hits', 'HOSTNAME=rehearsal'];
export const REHEARSAL_REQUEST = 'GET /hits HTTP/1.1\r\nHost: rehearsal\r\nUser-Agent: skiff-rehearsal\r\nConnection: close\r\n\r\n';

/** guests/wasm/http.wasm, as embedded (rehearsal-wasm.ts). */
export function rehearsalBytes(): Uint8Array<ArrayBuffer> {
  const text = atob(REHEARSAL_WASM_BASE64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

let compiled: WebAssembly.Module | undefined;
let compiling = false;

/**
 * The rehearsal module once compiled (once per process), else undefined, having started
 * the compile: a thread that boots before it is ready is not rehearsed. Never throws: a
 * failed compile (an engine without the instructions it uses) means no rehearsals.
 */
export function rehearsalModule(): WebAssembly.Module | undefined {
  if (compiled === undefined && !compiling) {
    compiling = true;
    WebAssembly.compile(rehearsalBytes()).then(
      (m) => (compiled = m),
      () => undefined,
    );
  }
  return compiled;
}

/**
 * `Threads` over Node's `worker_threads`.
 *
 * A thread runs thread-main.ts, which imports the thread module named in `workerData`
 * and calls its `main(port)` (the `Threads` contract). Both files must be compiled
 * JavaScript: Node 20 workers cannot load TypeScript. `runnableUrl` maps a module URL
 * to the file that really runs, so that the same code works from an installed package
 * and from the sources under vitest (see its comment).
 */
import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type TransferListItem } from 'node:worker_threads';
import type { Thread, ThreadEvents, Threads } from '../threads.js';

const resolved = new Map<string, URL>();

/**
 * The URL of the JavaScript that runs for `url` (a `file:` URL of a `.js` module):
 * - its bundle `x.bundle.js` beside it when that exists (scripts/bundle-threads.mjs,
 *   run by `npm run build`: one file to load instead of a module graph);
 * - the file itself when it exists (an installed package: `dist/src/…/x.js`);
 * - otherwise, when `url` is `<root>/src/…/x.js` beside a `x.ts` (the sources run by
 *   vitest, where `new URL('./x.js', import.meta.url)` names a file that does not exist),
 *   its compiled form `<root>/dist/src/…/x.js`, which `npm run build` (and the vitest
 *   global setup) writes.
 * Throws, naming both paths, when neither exists. Results are cached.
 */
export function runnableUrl(url: URL): URL {
  if (url.protocol !== 'file:') return url;
  const cached = resolved.get(url.href);
  if (cached !== undefined) return cached;
  const path = fileURLToPath(url);
  let out: URL | undefined;
  if (existsSync(path)) out = bundled(path) ?? url;
  else {
    const marker = `${sep}src${sep}`;
    const at = path.lastIndexOf(marker);
    if (at >= 0 && path.endsWith('.js') && existsSync(`${path.slice(0, -3)}.ts`)) {
      const compiled = join(path.slice(0, at), 'dist', 'src', path.slice(at + marker.length));
      if (!existsSync(compiled)) throw new Error(`thread module ${path} runs as ${compiled}, which does not exist: run \`npm run build\``);
      out = bundled(compiled) ?? pathToFileURL(compiled);
    }
  }
  if (out === undefined) throw new Error(`thread module ${path} does not exist`);
  resolved.set(url.href, out);
  return out;
}

/** The bundle of the compiled module at `path`, if one was built: its CommonJS form (loaded with a code cache) first. */
function bundled(path: string): URL | undefined {
  for (const bundle of [path.replace(/\.js$/, '.bundle.cjs'), path.replace(/\.js$/, '.bundle.js')]) if (existsSync(bundle)) return pathToFileURL(bundle);
  return undefined;
}

/**
 * The worker's Node flags: workers inherit `process.execArgv`, but `node --input-type=module
 * -e CODE` would make every worker refuse to load its (file) entry. Then the flags are
 * given explicitly, without the entry-script ones and without V8 flags (which the
 * Worker constructor refuses, and which apply to the whole process anyway). Otherwise
 * undefined: Node's own inheritance.
 */
function threadExecArgv(): string[] | undefined {
  const args = process.execArgv;
  const entry = (a: string): boolean => a === '-e' || a === '--eval' || a === '-p' || a === '--print' || /^--(input-type|eval|print)=/.test(a);
  if (!args.some(entry)) return undefined;
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print' || a === '--input-type') {
      i++;
      continue;
    }
    if (entry(a) || /^--(expose[-_]gc|max[-_]old[-_]space[-_]size|max[-_]semi[-_]space[-_]size|stack[-_]size)/.test(a)) continue;
    out.push(a);
  }
  return out;
}

class NodeThread implements Thread {
  private stopped: Promise<void> | undefined;
  constructor(private readonly worker: Worker) {}
  post(message: unknown, transfer?: readonly Transferable[]): void {
    this.worker.postMessage(message, transfer as readonly TransferListItem[] | undefined);
  }
  terminate(): Promise<void> {
    this.stopped ??= this.worker.terminate().then(() => undefined);
    return this.stopped;
  }
  unref(): void {
    this.worker.unref();
  }
  ref(): void {
    this.worker.ref();
  }
}

export const nodeThreads: Threads = {
  sharedMemory: typeof SharedArrayBuffer === 'function',
  blockingWait: true,
  spawn(module: URL, events: ThreadEvents): Thread {
    const main = runnableUrl(new URL('./thread-main.js', import.meta.url));
    const execArgv = threadExecArgv();
    const worker = new Worker(main, { workerData: { module: runnableUrl(module).href }, ...(execArgv !== undefined ? { execArgv } : {}) });
    let exited = false;
    worker.on('message', (m: unknown) => events.onMessage(m));
    worker.on('error', (e: unknown) => events.onError(e instanceof Error ? e : new Error(String(e))));
    worker.on('exit', (code: number) => {
      if (exited) return;
      exited = true;
      events.onExit(code);
    });
    return new NodeThread(worker);
  },
};

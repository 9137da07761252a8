/**
 * The entry of every Node worker thread skiff spawns (threads.ts): listens at once (so
 * no message is lost while the module loads), loads the thread module named in
 * `workerData.module` (a `.cjs` bundle with its code cache, or any ES module) and hands
 * it its port. Built as a CommonJS bundle too (scripts/bundle-threads.mjs), which a
 * thread starts from: Node then never sets up its ES module loader in a thread that
 * runs a CommonJS bundle (about 10 ms of CPU per thread here).
 */
import { parentPort, threadId, workerData, type TransferListItem } from 'node:worker_threads';
import { renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ThreadHooks, ThreadPort } from '../threads.js';
import { loadCommonJs } from './cached-script.js';

const port = parentPort;
if (port === null) throw new Error('thread-main.js must run in a worker thread');
const queued: unknown[] = [];
let listener: ((message: unknown) => void) | undefined;
port.on('message', (m: unknown) => (listener !== undefined ? listener(m) : queued.push(m)));

const threadPort: ThreadPort = {
  post(message, transfer) {
    port.postMessage(message, transfer as readonly TransferListItem[] | undefined);
  },
  onMessage(fn) {
    listener = fn;
    for (const m of queued.splice(0)) fn(m);
  },
};

interface ThreadModule {
  main(port: ThreadPort, hooks?: ThreadHooks): void;
}

const url = (workerData as { module: string }).module;
// A CommonJS bundle runs with its code cache (cached-script.ts); anything else is imported.
if (url.endsWith('.cjs')) {
  const path = fileURLToPath(url);
  const loaded = loadCommonJs(path);
  // The build's warm-up (scripts/warm-code-cache.mjs) sets this: each time the thread goes
  // idle it rewrites the bundle's code cache with everything compiled so far.
  const write = process.env['SKIFF_WRITE_CODE_CACHE'] === '1';
  // (Written aside and renamed: a thread terminated mid-write leaves the last whole cache.)
  const idle = (): void => {
    const aside = `${path}.cache.${threadId}`;
    writeFileSync(aside, loaded.cache());
    renameSync(aside, `${path}.cache`);
  };
  (loaded.exports as ThreadModule).main(threadPort, write ? { idle } : {});
} else {
  // (No top-level await: this file is also bundled as CommonJS, thread-main.bundle.cjs.)
  import(url).then(
    (m: ThreadModule) => m.main(threadPort),
    (e: unknown) => {
      // As an import failing at the top level would: the thread dies with the error.
      setTimeout(() => {
        throw e;
      });
    },
  );
}

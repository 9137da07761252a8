/**
 * The entry of every Node worker thread skiff spawns (threads.ts): listens at once (so
 * no message is lost while the module loads), loads the thread module named in
 * `workerData.module` (a `.cjs` bundle with its code cache, or any ES module) and hands
 * it its port.
 */
import { parentPort, workerData, type TransferListItem } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { ThreadPort } from '../threads.js';
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

const url = (workerData as { module: string }).module;
// A CommonJS bundle runs with its code cache (cached-script.ts); anything else is imported.
const mod = (url.endsWith('.cjs') ? loadCommonJs(fileURLToPath(url)) : await import(url)) as { main(port: ThreadPort): void };
mod.main(threadPort);

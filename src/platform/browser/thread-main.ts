/**
 * The entry of every Web Worker skiff spawns (threads.ts): the first message names the
 * thread module; later messages are queued until the module's `main` listens.
 */
import type { ThreadPort } from '../threads.js';

interface WorkerScope {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
}
const scope = globalThis as unknown as WorkerScope;
const queued: unknown[] = [];
let listener: ((message: unknown) => void) | undefined;
let loading = false;

scope.onmessage = (e: MessageEvent) => {
  if (!loading) {
    loading = true;
    void start((e.data as { skiffThreadModule: string }).skiffThreadModule);
    return;
  }
  if (listener !== undefined) listener(e.data);
  else queued.push(e.data);
};

async function start(url: string): Promise<void> {
  const port: ThreadPort = {
    post(message, transfer) {
      scope.postMessage(message, transfer === undefined ? [] : [...transfer]);
    },
    onMessage(fn) {
      listener = fn;
      for (const m of queued.splice(0)) fn(m);
    },
  };
  const mod = (await import(url)) as { main(port: ThreadPort): void };
  mod.main(port);
}

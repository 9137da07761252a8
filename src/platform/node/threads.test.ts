import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { threadsSuite } from '../testing/threads-suite.js';
import { nodeThreads, runnableUrl } from './threads.js';

threadsSuite('node worker_threads', nodeThreads, new URL('../testing/echo-thread.js', import.meta.url));

describe('runnableUrl', () => {
  it('maps a module of the sources to its compiled form in dist/', () => {
    const url = runnableUrl(new URL('../testing/echo-thread.js', import.meta.url));
    expect(fileURLToPath(url)).toMatch(/\/dist\/src\/platform\/testing\/echo-thread\.js$/);
    expect(existsSync(url)).toBe(true);
  });
  it('runs a thread module\'s bundle when one was built beside it', () => {
    const url = runnableUrl(new URL('../../sandbox/worker.js', import.meta.url));
    expect(fileURLToPath(url)).toMatch(/\/dist\/src\/sandbox\/worker\.bundle\.js$/);
    expect(existsSync(url)).toBe(true);
  });
  it('names the missing file', () => {
    expect(() => runnableUrl(new URL('file:///nowhere/x.js'))).toThrow(/\/nowhere\/x\.js does not exist/);
  });
  it('reports shared memory and blocking waits', () => {
    expect(nodeThreads.sharedMemory).toBe(true);
    expect(nodeThreads.blockingWait).toBe(true);
  });
});

import { existsSync, readFileSync } from 'node:fs';
import { Script } from 'node:vm';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { threadsSuite } from '../testing/threads-suite.js';
import { loadCommonJs, wrapCommonJs } from './cached-script.js';
import { nodeThreads, runnableUrl } from './threads.js';

threadsSuite('node worker_threads', nodeThreads, new URL('../testing/echo-thread.js', import.meta.url));

describe('runnableUrl', () => {
  it('maps a module of the sources to its compiled form in dist/', () => {
    const url = runnableUrl(new URL('../testing/echo-thread.js', import.meta.url));
    expect(fileURLToPath(url)).toMatch(/\/dist\/src\/platform\/testing\/echo-thread\.js$/);
    expect(existsSync(url)).toBe(true);
  });
  it("runs a thread module's bundle when one was built beside it: the CommonJS one with its code cache when it imports only builtins", () => {
    const url = runnableUrl(new URL('../../sandbox/worker.js', import.meta.url));
    expect(fileURLToPath(url)).toMatch(/\/dist\/src\/sandbox\/worker\.bundle\.cjs$/);
    expect(existsSync(url)).toBe(true);
    expect(existsSync(`${fileURLToPath(url)}.cache`)).toBe(true);
    // The kubelet's bundle imports the component transpiler on demand: an ES module.
    expect(fileURLToPath(runnableUrl(new URL('./kubelet-main.js', import.meta.url)))).toMatch(/kubelet-main\.bundle\.js$/);
  });

  it('a CommonJS bundle loads with its V8 code cache (accepted), and without one', () => {
    const path = fileURLToPath(runnableUrl(new URL('../../sandbox/worker.js', import.meta.url)));
    const source = readFileSync(path, 'utf8');
    const script = new Script(wrapCommonJs(source), { filename: path, cachedData: readFileSync(`${path}.cache`) });
    expect(script.cachedDataRejected).toBe(false);
    expect(typeof (loadCommonJs(path) as { main?: unknown }).main).toBe('function');
  });
  it('names the missing file', () => {
    expect(() => runnableUrl(new URL('file:///nowhere/x.js'))).toThrow(/\/nowhere\/x\.js does not exist/);
  });
  it('reports shared memory and blocking waits', () => {
    expect(nodeThreads.sharedMemory).toBe(true);
    expect(nodeThreads.blockingWait).toBe(true);
  });
});

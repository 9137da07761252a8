import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { threadsSuite } from '../testing/threads-suite.js';
import { codeCache, loadCommonJs, wrapCommonJs } from './cached-script.js';
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
    // Threads start from the CommonJS bundle of their entry (no ES module loader to set up).
    expect(fileURLToPath(runnableUrl(new URL('./thread-main.js', import.meta.url)))).toMatch(/\/dist\/src\/platform\/node\/thread-main\.bundle\.cjs$/);
    // The kubelet's bundle imports the component transpiler on demand: an ES module.
    expect(fileURLToPath(runnableUrl(new URL('./kubelet-main.js', import.meta.url)))).toMatch(/kubelet-main\.bundle\.js$/);
  });

  it('a CommonJS bundle loads with its V8 code cache (accepted), and without one', () => {
    const path = fileURLToPath(runnableUrl(new URL('../../sandbox/worker.js', import.meta.url)));
    const source = readFileSync(path, 'utf8');
    const script = new Script(wrapCommonJs(source), { filename: path, cachedData: readFileSync(`${path}.cache`) });
    expect(script.cachedDataRejected).toBe(false);
    expect(typeof (loadCommonJs(path).exports as { main?: unknown }).main).toBe('function');
  });
  it("the container thread's cache was made after a workload (scripts/warm-code-cache.mjs): it holds the functions a run compiles, beyond those compiled at load", () => {
    const path = fileURLToPath(runnableUrl(new URL('../../sandbox/worker.js', import.meta.url)));
    const atLoad = codeCache(readFileSync(path, 'utf8'), path).length;
    expect(readFileSync(`${path}.cache`).length).toBeGreaterThan(1.5 * atLoad);
  });
  it('cache() of a loaded bundle holds the functions called since it loaded', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-cjs-'));
    try {
      const path = join(dir, 'lazy.cjs');
      const body = Array.from({ length: 50 }, (_, i) => `x = (x * 31 + ${i}) % 1000003;`).join(' ');
      writeFileSync(path, `exports.lazy = function lazy(n) { let x = n; ${body} return x; };\n`);
      const loaded = loadCommonJs(path);
      const before = loaded.cache().length;
      expect((loaded.exports as { lazy(n: number): number }).lazy(1)).toBeTypeOf('number');
      expect(loaded.cache().length).toBeGreaterThan(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('names the missing file', () => {
    expect(() => runnableUrl(new URL('file:///nowhere/x.js'))).toThrow(/\/nowhere\/x\.js does not exist/);
  });
  it('reports shared memory and blocking waits', () => {
    expect(nodeThreads.sharedMemory).toBe(true);
    expect(nodeThreads.blockingWait).toBe(true);
  });
});

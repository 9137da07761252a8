import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { nodePlatform } from '../platform/node/index.js';
import { PooledThread, ThreadPool } from './pool.js';
import type { Thread } from '../platform/threads.js';

const dir = await mkdtemp(join(tmpdir(), 'skiff-pool-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('ThreadPool', () => {
  it('a thread module that fails to load fails the callers waiting for a thread, without a respawn loop', async () => {
    const bad = join(dir, 'bad.js');
    await writeFile(bad, "throw new Error('boom at load');\n");
    const pool = new ThreadPool(nodePlatform, pathToFileURL(bad), 2);
    await expect(pool.acquire()).rejects.toThrow(/failed to start: boom at load/);
    await new Promise((r) => setTimeout(r, 100));
    const { spawned } = pool.stats();
    await new Promise((r) => setTimeout(r, 200));
    expect(pool.stats().spawned).toBe(spawned);
    await expect(pool.warm()).rejects.toThrow(/boom at load/);
    await pool.close();
  });

  it('a missing thread module is an error, not a hang', async () => {
    const pool = new ThreadPool(nodePlatform, pathToFileURL(join(dir, 'missing.js')), 1);
    await expect(pool.acquire()).rejects.toThrow(/does not exist/);
    await pool.close();
  });
});

describe('ThreadPool sizing', () => {
  // The real container thread module (what a Runtime's pool spawns).
  const worker = new URL('./worker.js', import.meta.url);
  /** Runs `test` with a pool of `size` real container threads, closed after. */
  const withPool = async (size: number, test: (pool: ThreadPool) => Promise<void>): Promise<void> => {
    const pool = new ThreadPool(nodePlatform, worker, size);
    try {
      await test(pool);
    } finally {
      await pool.close();
    }
  };

  it('resize grows the pool at once, beyond the cap on idle threads when asked', () =>
    withPool(1, async (pool) => {
      await pool.warm();
      expect(() => pool.resize(-1)).toThrow(/pool size must be a whole number ≥ 0, not -1/);
      pool.resize(33); // more than the 32 idle threads a pool otherwise keeps at most
      expect(pool.stats().booting).toBe(32);
      await pool.warm();
      expect(pool.stats()).toMatchObject({ idle: 33, busy: 0, booting: 0, spawned: 33, ended: 0 });
    }));

  it('prepare(n) boots at once the threads n upcoming runs need beyond those idle or booting', () =>
    withPool(1, async (pool) => {
      await pool.warm();
      pool.prepare(3);
      expect(pool.stats()).toMatchObject({ idle: 1, booting: 2, spawned: 3 });
      pool.prepare(3); // covered by those booting
      expect(pool.stats().spawned).toBe(3);
      for (const end = Date.now() + 10_000; pool.stats().booting > 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
      expect(pool.stats()).toMatchObject({ idle: 3, booting: 0, spawned: 3 });
    }));

  it('a run that waited for its thread leaves the pool refilled, and warm() boots what is missing', () =>
    withPool(1, async (pool) => {
      await pool.acquire(); // none idle yet: waits for the one booting
      expect(pool.stats()).toMatchObject({ idle: 0, busy: 1 });
      const warmed = await Promise.race([pool.warm().then(() => true), new Promise((r) => setTimeout(() => r(false), 10_000))]);
      expect(warmed).toBe(true);
      expect(pool.stats()).toMatchObject({ idle: 1, busy: 1 });
    }));

  it('replaces the threads a burst took only once no thread has been taken for 100 ms per thread missing', () =>
    withPool(3, async (pool) => {
      await pool.warm();
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        await pool.acquire();
        vi.advanceTimersByTime(90);
        await pool.acquire();
        // 180 ms after the first take: a replacement timed from it would be spawning now.
        vi.advanceTimersByTime(90);
        await pool.acquire();
        vi.advanceTimersByTime(299);
        expect(pool.stats()).toMatchObject({ idle: 0, busy: 3, booting: 0, spawned: 3 });
        vi.advanceTimersByTime(1); // 3 × 100 ms after the last take
        expect(pool.stats()).toMatchObject({ busy: 3, booting: 3, spawned: 6 });
      } finally {
        vi.useRealTimers();
      }
      await pool.warm();
      expect(pool.stats()).toMatchObject({ idle: 3, busy: 3 });
    }));
});

describe('PooledThread cache mirror', () => {
  const stub: Thread = { post() {}, terminate: () => Promise.resolve(), ref() {}, unref() {} };

  it('sends a key once, then evicts the least recently used beyond the cap and says so once', () => {
    const t = new PooledThread(1, stub, true, false);
    expect(t.need('layer', 'a')).toBe(true);
    expect(t.need('layer', 'a')).toBe(false);
    expect(t.evictions()).toBeUndefined();
    for (let i = 0; i < 16; i++) t.need('module', `m${i}`);
    t.need('module', 'm0'); // used again: now the most recent
    t.need('module', 'm16'); // 17 > 16: m1 goes
    expect(t.evictions()).toEqual({ modules: ['m1'], layers: [] });
    expect(t.evictions()).toBeUndefined();
    expect(t.holds('module', 'm0')).toBe(true);
    expect(t.holds('module', 'm1')).toBe(false);
    expect(t.need('module', 'm1')).toBe(true);
    expect(t.control).toBeInstanceOf(Int32Array);
  });
});

import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { printModule } from '../../test/helpers/wasm.js';
import { nodePlatform } from '../platform/node/index.js';
import { Runtime } from './runtime.js';
import { rehearsalBytes } from './rehearsal.js';

afterEach(() => vi.restoreAllMocks());

describe('the rehearsal', () => {
  it('is guests/wasm/http.wasm, byte for byte (scripts/embed-rehearsal.mjs)', async () => {
    const http = new Uint8Array(await readFile(new URL('../../guests/wasm/http.wasm', import.meta.url)));
    expect(Buffer.from(rehearsalBytes()).equals(Buffer.from(http))).toBe(true);
  });

  it('threads booted ahead of need rehearse before they are idle, and it succeeds', async () => {
    const warn = vi.spyOn(console, 'warn');
    const runtime = new Runtime({ platform: nodePlatform, poolSize: 3 });
    try {
      await runtime.warm();
      // Idle only once rehearsed; a failed rehearsal (no HTTP 200 from the guest) would warn.
      expect(runtime.stats()).toMatchObject({ idle: 3, booting: 0, rehearsed: 3 });
      expect(warn.mock.calls.flat().join('\n')).not.toMatch(/rehearsal/);
    } finally {
      await runtime.close();
    }
  });

  it('a container on a rehearsed thread sees only its own output and files', async () => {
    const runtime = new Runtime({ platform: nodePlatform, poolSize: 1 });
    try {
      await runtime.warm();
      expect(runtime.stats().rehearsed).toBe(1);
      // The rehearsed thread runs this one (the only idle thread): its logs are its own output only.
      const c = await runtime.create({ module: printModule('only this\n') });
      await runtime.start(c.id);
      expect((await runtime.wait(c.id)).exitCode).toBe(0);
      expect(runtime.logs(c.id).text('stdout')).toBe('only this\n');
      expect(runtime.logs(c.id).text('stderr')).toBe('');
      expect(runtime.stats().spawned).toBe(1);
      // Its files start from the image (none), not from the rehearsal's /hits.
      expect(runtime.diff(c.id)).toEqual([]);
    } finally {
      await runtime.close();
    }
  });

  it('needs shared memory (a page that is not cross-origin isolated has none): without it, threads are idle once booted', async () => {
    const platform = { ...nodePlatform, threads: { ...nodePlatform.threads, sharedMemory: false } };
    const runtime = new Runtime({ platform, poolSize: 2 });
    try {
      await runtime.warm();
      expect(runtime.stats()).toMatchObject({ idle: 2, rehearsed: 0 });
      const c = await runtime.create({ module: printModule('posted\n') });
      await runtime.start(c.id);
      expect((await runtime.wait(c.id)).exitCode).toBe(0);
      expect(runtime.logs(c.id).text('stdout')).toBe('posted\n');
    } finally {
      await runtime.close();
    }
  });

  it('a thread a run is waiting for goes straight to the run, unrehearsed', async () => {
    const runtime = new Runtime({ platform: nodePlatform, poolSize: 0 });
    try {
      const c = await runtime.create({ module: printModule('hi\n') });
      await runtime.start(c.id);
      expect((await runtime.wait(c.id)).exitCode).toBe(0);
      expect(runtime.stats()).toMatchObject({ spawned: 1, rehearsed: 0 });
    } finally {
      await runtime.close();
    }
  });
});

// Remakes the container thread's V8 code cache (dist/src/sandbox/worker.bundle.cjs.cache)
// after a representative workload, so that it holds the functions a run compiles lazily
// (the WASI calls, the overlay, the sockets, the output ring) and not only those compiled
// when the bundle loads: a new thread's first run then skips compiling them. Run by
// bundle-threads.mjs after it writes the bundles; the workload runs in one container
// thread that rewrites the cache each time it goes idle (thread-main.ts,
// SKIFF_WRITE_CODE_CACHE). Cheap (about a second) and idempotent; a failed warm-up
// leaves the load-time cache, which is correct, only slower.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('..', import.meta.url);
const guest = (name) => readFileSync(new URL(`guests/wasm/${name}.wasm`, root));

export async function warmCodeCache() {
  process.env.SKIFF_WRITE_CODE_CACHE = '1';
  try {
    const { Runtime } = await import(new URL('dist/src/index.js', root).href);
    // One thread, reused by each run in turn (runs end cleanly, a server is killed at a WASI call).
    const runtime = new Runtime({ poolSize: 1 });
    try {
      const run = async (spec) => {
        const c = await runtime.create(spec);
        await runtime.start(c.id);
        const status = await runtime.wait(c.id);
        await runtime.remove(c.id);
        return status;
      };
      await run({ module: guest('hello') });
      await run({ module: guest('wasicalls'), cmd: ['/'] });
      await run({ module: guest('fsops'), cmd: ['/'] });
      const web = await runtime.create({ module: guest('http'), ports: [80], env: { DOCROOT: '/', HITS_FILE: '/hits' } });
      await runtime.start(web.id);
      for (let i = 0; i < 20; i++) await (await runtime.fetch(web.id, i % 2 === 0 ? '/hits' : '/missing')).arrayBuffer();
      await runtime.kill(web.id);
      await runtime.remove(web.id);
    } finally {
      await runtime.close();
    }
  } finally {
    delete process.env.SKIFF_WRITE_CODE_CACHE;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await warmCodeCache();

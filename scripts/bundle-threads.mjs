// Bundles each thread module (compiled, in dist/) into one file beside it, `x.bundle.js`
// (and, when it imports only Node builtins, `x.bundle.cjs` with a V8 code cache `x.bundle.cjs.cache`):
// a thread then loads one file instead of a graph of some forty modules, which is about
// 40% of a container thread's start (bench/RESULTS.md, cluster). `runnableUrl`
// (src/platform/node/threads.ts) runs the bundle when it exists. Run by `npm run build`
// after tsc, and by the vitest global setup whenever it compiles.
//
// A bundle sits beside its module, so `import.meta.url` in it names that directory:
// right for code from the same directory, wrong for code from elsewhere. The container
// thread's graph uses no import.meta; the kubelet's uses it only in src/platform/node
// (its own directory) and in the sandbox runtime's default thread module, which
// kubelet-main overrides. Bundling refuses any other use.
import { rolldown } from 'rolldown';
import { writeFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
export const THREAD_MODULES = ['dist/src/sandbox/worker.js', 'dist/src/platform/node/kubelet-main.js', 'dist/src/platform/node/thread-main.js'];
/** import.meta uses a bundle may keep, by module (see above); rolldown's own createRequire for bundled CommonJS is one. */
const ALLOWED = ['createRequire(import.meta.url)', 'createRequire$1(import.meta.url)', 'new URL("./thread-main.js", import.meta.url)', 'new URL(import.meta.url)', 'new URL("../../sandbox/worker.js", import.meta.url)', 'new URL("./worker.js", import.meta.url)'];

export async function bundleThreads() {
  for (const input of THREAD_MODULES) {
    // The component transpiler stays a package import: loaded on first use only (platform/node/transpile.ts).
    // msgpackr's plain entry, not its Node one: the Node entry looks for the native
    // msgpackr-extract addon (file lookups, libc detection) in every thread, about 8 ms of
    // a thread's start, for faster decoding of large strings that thread messages never carry.
    const bundle = await rolldown({
      input: join(root, input),
      platform: 'node',
      logLevel: 'warn',
      external: ['@bytecodealliance/jco-transpile'],
      resolve: { alias: { msgpackr: join(root, 'node_modules/msgpackr/index.js') } },
    });
    const { output } = await bundle.write({ file: join(root, input.replace(/\.js$/, '.bundle.js')), format: 'esm' });
    // A bundle that imports nothing but Node's builtins also gets a CommonJS form and its V8 code cache
    // (src/platform/node/cached-script.ts): a new thread then compiles it from the cache.
    const cjs = join(root, input.replace(/\.js$/, '.bundle.cjs'));
    const selfContained = output.every((c) => c.type !== 'chunk' || (c.imports.every((i) => i.startsWith('node:')) && c.dynamicImports.length === 0));
    if (selfContained) {
      const { output: cjsOutput } = await bundle.write({ file: cjs, format: 'cjs' });
      const { codeCache } = await import(join(root, 'dist/src/platform/node/cached-script.js'));
      writeFileSync(`${cjs}.cache`, codeCache(cjsOutput[0].code, cjs));
    } else {
      rmSync(cjs, { force: true });
      rmSync(`${cjs}.cache`, { force: true });
    }
    await bundle.close();
    for (const chunk of output) {
      if (chunk.type !== 'chunk') continue;
      const uses = chunk.code.split('\n').filter((line) => line.includes('import.meta') && !line.trimStart().startsWith('*') && !line.trimStart().startsWith('//'));
      const bad = uses.filter((line) => !ALLOWED.some((ok) => line.includes(ok)));
      if (bad.length > 0) throw new Error(`${input}: its graph uses import.meta where the bundle's place would be wrong:\n${bad.join('\n')}`);
    }
  }
  // The container thread's cache, remade after a workload (warm-code-cache.mjs). A failure
  // leaves the cache made at load (correct, only slower; threads.test.ts says so).
  const { warmCodeCache } = await import('./warm-code-cache.mjs');
  await warmCodeCache().catch((e) => console.warn(`bundle-threads: the code cache warm-up failed, keeping the cache made at load: ${e?.stack ?? e}`));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundleThreads();

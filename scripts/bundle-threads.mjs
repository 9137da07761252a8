// Bundles each thread module (compiled, in dist/) into one file beside it, `x.bundle.js`:
// a thread then loads one file instead of a graph of some forty modules, which is about
// 40% of a container thread's start (bench/RESULTS.md, cluster). `runnableUrl`
// (src/platform/node/threads.ts) runs the bundle when it exists. Run by `npm run build`
// after tsc, and by the vitest global setup whenever it compiles.
//
// Only modules whose graph has no `new URL(..., import.meta.url)` can be bundled (the URL
// would resolve from the bundle's place): the container thread's has none.
import { rolldown } from 'rolldown';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
export const THREAD_MODULES = ['dist/src/sandbox/worker.js'];

export async function bundleThreads() {
  for (const input of THREAD_MODULES) {
    const bundle = await rolldown({ input: join(root, input), platform: 'neutral', logLevel: 'warn' });
    const { output } = await bundle.write({ file: join(root, input.replace(/\.js$/, '.bundle.js')), format: 'esm' });
    await bundle.close();
    if (output.some((chunk) => chunk.type === 'chunk' && chunk.code.includes('import.meta'))) {
      throw new Error(`${input}: its graph uses import.meta, which would resolve from the bundle's place: do not bundle it`);
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundleThreads();

/**
 * vitest global setup: container threads run compiled JavaScript from dist/ (Node 20
 * workers cannot load TypeScript; see src/platform/node/threads.ts `runnableUrl`). So
 * that `npx vitest` alone works, this compiles the sources (`tsc -p
 * tsconfig.build.json`) when any source file is newer than its output, or has none.
 * `npm test` builds first, and then this finds nothing to do. Then it bundles the thread
 * modules again (scripts/bundle-threads.mjs) when a bundle is missing or older than any
 * compiled file, so that threads never run a stale bundle.
 *
 * Type errors do not stop the build (tsc still emits) nor the tests; they are printed.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { THREAD_MODULES, bundleThreads } from '../scripts/bundle-threads.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

function stale(): string | undefined {
  const src = join(root, 'src');
  for (const entry of readdirSync(src, { recursive: true })) {
    const file = String(entry);
    if (!file.endsWith('.ts') || file.endsWith('.test.ts') || file.endsWith('.d.ts')) continue;
    const input = join(src, file);
    const output = join(root, 'dist', 'src', file.replace(/\.ts$/, '.js'));
    let outTime: number;
    try {
      outTime = statSync(output).mtimeMs;
    } catch {
      return relative(root, input);
    }
    if (statSync(input).mtimeMs > outTime) return relative(root, input);
  }
  return undefined;
}

/** Whether a thread bundle is missing or older than a compiled source file. */
function staleBundles(): boolean {
  const dist = join(root, 'dist', 'src');
  let newest = 0;
  for (const entry of readdirSync(dist, { recursive: true })) {
    const file = String(entry);
    if (!file.endsWith('.js') || file.endsWith('.test.js') || file.endsWith('.bundle.js')) continue;
    newest = Math.max(newest, statSync(join(dist, file)).mtimeMs);
  }
  for (const module of THREAD_MODULES) {
    try {
      if (statSync(join(root, module.replace(/\.js$/, '.bundle.js'))).mtimeMs < newest) return true;
    } catch {
      return true;
    }
  }
  return false;
}

export default async function setup(): Promise<void> {
  compile();
  if (staleBundles()) await bundleThreads();
}

function compile(): void {
  const changed = stale();
  if (changed === undefined) return;
  const started = performance.now();
  const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
  const took = Math.round(performance.now() - started);
  if (r.status !== 0) {
    console.warn(`global setup: tsc -p tsconfig.build.json (${changed} changed) reported errors after ${took} ms; dist/ was written anyway:\n${r.stdout}${r.stderr}`);
  } else {
    console.log(`global setup: compiled src/ to dist/ in ${took} ms (${changed} changed)`);
  }
}

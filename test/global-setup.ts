/**
 * vitest global setup: container threads run compiled JavaScript from dist/ (Node 20
 * workers cannot load TypeScript; see src/platform/node/threads.ts `runnableUrl`). So
 * that `npx vitest` alone works, this compiles the sources (`tsc -p
 * tsconfig.build.json`) when any source file is newer than its output, or has none.
 * `npm test` builds first, and then this finds nothing to do.
 *
 * Type errors do not stop the build (tsc still emits) nor the tests; they are printed.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

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

export default function setup(): void {
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

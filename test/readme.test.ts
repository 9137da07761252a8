/**
 * The README's examples run as written. Every ```js block runs as an ES module from a
 * scratch directory, importing `skiff` the way a user does (through package exports, so
 * `npm run build` must have run first — `npm test` does it). Every ```sh block then runs
 * in the same directory with its own $SKIFF_HOME, with `npx skiff` meaning this build
 * (and `guests/` and `dist/` there, as in a checkout).
 * ```bash blocks are setup commands (npm install, npm test) and are not run here.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { withNodePort } from './helpers/node-port-lock.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const blocks = [...readme.matchAll(/```(js|sh)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1] as string, code: m[2] as string }));

// A scratch project where `skiff` resolves to this package and `npx skiff` to its CLI.
const scratch = mkdtempSync(join(tmpdir(), 'skiff-readme-'));
mkdirSync(join(scratch, 'node_modules', '.bin'), { recursive: true });
symlinkSync(root, join(scratch, 'node_modules', 'skiff'));
symlinkSync(join(root, 'guests'), join(scratch, 'guests'));
symlinkSync(join(root, 'dist'), join(scratch, 'dist')); // `node dist/examples/…` as in a checkout
symlinkSync(join(root, 'examples'), join(scratch, 'examples'));
writeFileSync(join(scratch, 'node_modules', '.bin', 'skiff'), `#!/bin/sh\nexec node ${JSON.stringify(join(root, 'dist/src/cli/main.js'))} "$@"\n`);
chmodSync(join(scratch, 'node_modules', '.bin', 'skiff'), 0o755);
writeFileSync(join(scratch, 'package.json'), '{"type":"module","private":true}\n');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const env = { ...process.env, SKIFF_HOME: join(scratch, 'home'), PATH: `${join(scratch, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` };

describe('README examples', () => {
  it('has examples of both kinds', () => {
    expect(blocks.some((b) => b.lang === 'js')).toBe(true);
    expect(blocks.some((b) => b.lang === 'sh')).toBe(true);
  });
  for (const [i, { lang, code }] of blocks.entries()) {
    // A cluster's first NodePort Service listens on 127.0.0.1:30000, as cluster.test.ts's
    // and the demo's do: those examples wait for the lock on it (up to 120 s).
    const cluster = code.includes('Cluster.start(');
    it(`example ${i + 1} (${lang}) runs and prints what its comments say`, cluster ? { timeout: 200_000 } : {}, async () => {
      const run = (): SpawnSyncReturns<string> =>
        lang === 'js'
          ? spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: scratch, encoding: 'utf8', env })
          : spawnSync('sh', ['-e', '-c', code], { cwd: scratch, encoding: 'utf8', env });
      const r = cluster ? await withNodePort(run) : run();
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      // `console.log(x); // a, b` and `cmd   # a (more words)` list fragments the output must contain.
      const claims =
        lang === 'js'
          ? [...code.matchAll(/console\.log\([^\n]*\); \/\/ ([^\n]*)/g)].map((m) => (m[1] as string).split(':')[0] as string)
          : [...code.matchAll(/#\s*([^(\n]*?(?:: [^(\n]*)?)\s*(?:\(|$)/gm)].map((m) => m[1] as string).filter((c) => /^Loaded image/.test(c));
      for (const claim of claims) for (const fragment of claim.split(', ')) expect(r.stdout).toContain(fragment.trim());
    });
  }
});

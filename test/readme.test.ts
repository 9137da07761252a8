/**
 * The README's examples run as written: every ```js block is run as an ES module from
 * the repository root, importing `skiff` the way a user does (through package exports,
 * so `npm run build` must have run first — `npm test` does).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1] as string);

describe('README examples', () => {
  it('has examples', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });
  for (const [i, code] of blocks.entries()) {
    it(`example ${i + 1} runs and prints what its comments say`, () => {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      // Each `console.log(x); // a, b, c` comment lists fragments the output must contain.
      for (const m of code.matchAll(/console\.log\([^\n]*\); \/\/ ([^\n]*)/g)) {
        const [claim] = (m[1] as string).split(':');
        for (const fragment of (claim as string).split(', ')) expect(r.stdout).toContain(fragment.trim());
      }
    });
  }
});

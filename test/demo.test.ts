/** `npm start` works as written: the demo runs to the end and tells the story it claims. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('npm start (dist/examples/demo.js) runs to completion', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const r = spawnSync(process.execPath, ['dist/examples/demo.js'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/runtime\.fetch\('\/'\)\s+→ 200 text\/html/);
  expect(r.stdout).toMatch(/→ 5 hits, counted in the volume/);
  expect(r.stdout).toMatch(/exit 137 \(Killed\); volumes: hits/);
  expect(r.stdout).toMatch(/refused at 31 MiB/);
  expect(r.stdout).toMatch(/exit 137 DeadlineExceeded/);
});

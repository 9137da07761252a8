/** `npm start` works as written: the demo runs to the end and tells the story it claims. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { withNodePort } from './helpers/node-port-lock.js';

// The time to wait for the NodePort lock, then the demo's own 60 s.
it('npm start (dist/examples/demo.js) runs to completion', { timeout: 200_000 }, async () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  // Its web Service listens on 127.0.0.1:30000, as cluster.test.ts's and the README's do.
  const r = await withNodePort(() => spawnSync(process.execPath, ['dist/examples/demo.js'], { cwd: root, encoding: 'utf8', timeout: 60_000 }));
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  // The cluster story: 3 Ready nodes, 3 pods, 9 requests spread 3/3/3, a node killed and
  // its pod replaced, a rolling update step by step, a rollback.
  expect(r.stdout).toMatch(/nodes: node-1, node-2, node-3 \(Ready\)/);
  expect(r.stdout.match(/^\s+[\d.]+s {2}web-[a-z0-9]+-[a-z0-9]{5} \(v1\): 3 requests$/gm)).toHaveLength(3);
  expect(r.stdout).toMatch(/and from outside, NodePort 127\.0\.0\.1:\d+ → 200 v1/);
  expect(r.stdout).toMatch(/pod\/client → web:80: HTTP\/1\.1 200 OK, served by web-[a-z0-9]+-[a-z0-9]{5}/);
  expect(r.stdout).toMatch(/node-\d killed; Ready=False; its pods: web-/);
  expect(r.stdout).toMatch(/Scaled up replica set web-[a-z0-9]+ from 0 to 1/);
  expect(r.stdout).toMatch(/Scaled down replica set web-[a-z0-9]+ from 1 to 0/);
  expect(r.stdout.match(/^\s+[\d.]+s {2}web-[a-z0-9]+-[a-z0-9]{5} \(v2\): 2 requests$/gm)).toHaveLength(3);
  expect(r.stdout).toMatch(/rolled back to revision 1's template \(now revision 3\)/);
  expect(r.stdout).toMatch(/cluster stopped/);
  expect(r.stdout).toMatch(/refused at 31 MiB/);
  expect(r.stdout).toMatch(/exit 137 DeadlineExceeded/);
});

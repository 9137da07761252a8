import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../cluster/store/object-store.js';
import { unwrap } from '../../cluster/store/store.js';
import { logFilesSuite } from '../../cluster/store/testing/log-files-suite.js';
import { pod, storeSuite } from '../../cluster/store/testing/store-suite.js';
import { NodeLogFiles } from './log-files.js';

const scratch = mkdtempSync(join(tmpdir(), 'skiff-log-files-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(scratch, `d${n++}`, 'store');

logFilesSuite('NodeLogFiles', () => new NodeLogFiles(fresh()));
storeSuite('file log (NodeLogFiles)', (options) => openStore({ ...options, log: new NodeLogFiles(fresh()), snapshot: { minLogBytes: 4096 } }));

describe('NodeLogFiles', () => {
  it('removes temp files a crashed writeAtomic left behind', async () => {
    const dir = fresh();
    const f = new NodeLogFiles(dir);
    await f.writeAtomic('snapshot-1', new Uint8Array([1]));
    writeFileSync(join(dir, '.tmp-snapshot-2-123-0'), 'partial');
    expect(await f.list()).toEqual(['snapshot-1']);
    expect(readdirSync(dir)).toEqual(['snapshot-1']);
  });

  it('keeps a store across reopen on disk', async () => {
    const dir = fresh();
    const s = await openStore({ log: new NodeLogFiles(dir), snapshot: { minLogBytes: 1024 } });
    for (let i = 0; i < 50; i++) unwrap(await s.create(pod(`p${i}`)));
    await s.close();
    expect(readdirSync(dir).some((x) => x.startsWith('snapshot-'))).toBe(true);
    const t = await openStore({ log: new NodeLogFiles(dir) });
    expect(unwrap(t.list('Pod')).items).toHaveLength(50);
    expect(t.revision).toBe(50);
    await t.close();
  });
});

import { describe, expect, it } from 'vitest';
import { MemoryLogFiles } from './log-files.js';
import { openStore } from './object-store.js';
import { logFilesSuite } from './testing/log-files-suite.js';
import { storeSuite } from './testing/store-suite.js';

storeSuite('memory', (options) => openStore(options));
// The file log over memory files, with snapshots small enough to rotate during the suite.
storeSuite('file log (memory files)', (options) => openStore({ ...options, log: new MemoryLogFiles(), snapshot: { minLogBytes: 4096 } }));

describe('openStore', () => {
  it('is in memory without a log', async () => {
    const s = await openStore();
    expect(s.persistence).toBeUndefined();
    await s.close();
  });
});

logFilesSuite('MemoryLogFiles', () => new MemoryLogFiles());

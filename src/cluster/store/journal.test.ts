/**
 * The file log's durability, on memory files that can crash: what is acknowledged
 * survives; what was in flight is lost whole or torn and cut off; snapshots rotate the
 * log; a crash at any step of a rotation still opens; corruption elsewhere is an error.
 */
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/types.js';
import { crc32c } from './crc32c.js';
import { encodeRecord, frame, readFrames } from './journal.js';
import { type AppendFile, type LogFiles, MemoryLogFiles } from './log-files.js';
import { openStore } from './object-store.js';
import { unwrap } from './store.js';
import { pod } from './testing/store-suite.js';

const key = (name: string) => ({ kind: 'Pod', namespace: 'default', name });
const names = (s: { list: (k: string) => ReturnType<Awaited<ReturnType<typeof openStore>>['list']> }): string[] =>
  unwrap(s.list('Pod')).items.map((o) => o.metadata.name as string);

describe('crc32c', () => {
  it('matches the standard check value', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    const data = new TextEncoder().encode('the quick brown fox jumps over the lazy dog');
    expect(crc32c(data, 4, 9)).toBe(crc32c(data.subarray(4, 9)));
  });
});

describe('frames', () => {
  it('reads back what was framed and stops at a torn or corrupt frame', () => {
    const a = frame('{"a":1}');
    const b = frame('{"b":"ü"}');
    const both = new Uint8Array([...a, ...b]);
    expect(readFrames(both)).toEqual({ payloads: [{ a: 1 }, { b: 'ü' }], end: both.length });
    expect(readFrames(both.subarray(0, both.length - 1))).toMatchObject({ payloads: [{ a: 1 }], end: a.length, bad: expect.stringMatching(/frame of/) });
    expect(readFrames(both.subarray(0, a.length + 3))).toMatchObject({ payloads: [{ a: 1 }], end: a.length, bad: expect.stringMatching(/fragment/) });
    const flipped = both.slice();
    flipped[a.length + 9] = (flipped[a.length + 9] as number) ^ 1;
    expect(readFrames(flipped)).toMatchObject({ payloads: [{ a: 1 }], bad: 'a checksum mismatch' });
  });
});

describe('file log', () => {
  it('reopens with every object, revision, uid and generation', async () => {
    const files = new MemoryLogFiles();
    const s = await openStore({ log: files });
    const a = unwrap(await s.create(pod('a', { app: 'web' })));
    const b = unwrap(await s.create(pod('b')));
    unwrap(await s.update({ ...a, spec: { containers: [] } }));
    unwrap(await s.delete(key('b')));
    await s.close();
    const t = await openStore({ log: files });
    expect(t.revision).toBe(4);
    expect(names(t)).toEqual(['a']);
    const a2 = unwrap(t.get(key('a')));
    expect(a2.metadata).toMatchObject({ uid: a.metadata.uid, generation: 2, resourceVersion: '3', labels: { app: 'web' } });
    expect(Object.isFrozen(a2.metadata)).toBe(true);
    expect(t.persistence).toMatchObject({ snapshotRevision: 0, replayedRecords: 4, truncatedBytes: 0 });
    // The replayed records are history: a watch from revision 1 sees them.
    const w = unwrap(t.watch('Pod', { resourceVersion: '1' }));
    const evs = [await w.next(), await w.next(), await w.next()].map((r) => (r.done ? '' : `${r.value.type} ${r.value.object.metadata.name}`));
    expect(evs).toEqual(['ADDED b', 'MODIFIED a', 'DELETED b']);
    w.close();
    expect(b.metadata.uid).not.toBe(a.metadata.uid);
    // Revisions continue.
    expect(unwrap(await t.create(pod('c'))).metadata.resourceVersion).toBe('5');
    await t.close();
  });

  it('keeps every acknowledged write through a crash and loses the ones in flight whole', async () => {
    const files = new MemoryLogFiles();
    const s = await openStore({ log: files, garbageCollector: false });
    const acked = await Promise.all(Array.from({ length: 20 }, (_, i) => s.create(pod(`a${i}`))));
    expect(acked.every((r) => r.ok)).toBe(true);
    // Issued, not yet flushed: the crash happens before the group commit runs.
    const inflight = Array.from({ length: 5 }, (_, i) => s.create(pod(`lost${i}`)));
    const crashed = files.crash();
    await Promise.all(inflight);
    await s.close();
    const t = await openStore({ log: crashed });
    expect(names(t).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `a${i}`).sort());
    expect(t.revision).toBe(20);
    await t.close();
  });

  it('cuts a torn tail off the last log, then appends after it', async () => {
    const files = new MemoryLogFiles();
    const gated = syncGate(files);
    const s = await openStore({ log: gated.files, garbageCollector: false });
    for (let i = 0; i < 5; i++) unwrap(await s.create(pod(`a${i}`)));
    // Stall the next flush between its append and its sync, then crash with half the tail written.
    const slow = gated.arm();
    const pending = s.create(pod('torn'));
    await slow.reached;
    const crashed = files.crash((_name, unsynced) => Math.floor(unsynced / 2));
    slow.release();
    await pending;
    await s.close();
    const t = await openStore({ log: crashed, garbageCollector: false });
    expect(t.persistence?.truncatedBytes).toBeGreaterThan(0);
    expect(names(t)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    unwrap(await t.create(pod('after')));
    await t.close();
    const u = await openStore({ log: crashed, garbageCollector: false });
    expect(u.persistence?.truncatedBytes).toBe(0);
    expect(names(u)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'after']);
    await u.close();
  });

  it('groups concurrent writes into one fsync; one writer pays one per write', async () => {
    const files = new MemoryLogFiles();
    const s = await openStore({ log: files, garbageCollector: false });
    await Promise.all(Array.from({ length: 64 }, (_, i) => s.create(pod(`c${i}`))));
    expect(files.syncs).toBeLessThanOrEqual(2);
    const before = files.syncs;
    for (let i = 0; i < 10; i++) unwrap(await s.create(pod(`s${i}`)));
    expect(files.syncs - before).toBe(10);
    await s.close();
  });

  it('snapshots, rotates and removes old files, and reopens from the snapshot', async () => {
    const files = new MemoryLogFiles();
    const s = await openStore({ log: files, snapshot: { minLogBytes: 2000 }, garbageCollector: false });
    for (let i = 0; i < 100; i++) unwrap(await s.create(pod(`p${i}`, { i: String(i) })));
    for (let i = 0; i < 50; i++) unwrap(await s.delete(key(`p${i * 2}`)));
    await s.whenIdle();
    const stats = s.persistence?.stats;
    expect(stats?.snapshots).toBeGreaterThan(1);
    await s.close();
    const list = await files.list();
    expect(list.filter((n) => n.startsWith('snapshot-'))).toHaveLength(1);
    expect(list.filter((n) => n.startsWith('log-'))).toHaveLength(1);
    const t = await openStore({ log: files, garbageCollector: false });
    expect(t.persistence?.snapshotRevision).toBeGreaterThan(0);
    expect(t.revision).toBe(150);
    expect(names(t)).toEqual(Array.from({ length: 50 }, (_, i) => `p${i * 2 + 1}`).sort());
    // History before the snapshot is gone; after it, it is there.
    const snap = t.persistence?.snapshotRevision as number;
    expect(t.compactedRevision).toBe(snap);
    expect(t.watch('Pod', { resourceVersion: String(snap - 1) }).ok).toBe(false);
    expect(t.watch('Pod', { resourceVersion: String(snap) }).ok).toBe(true);
    await t.close();
  });

  it('opens after a crash at any step of a rotation', async () => {
    for (const step of ['writeAtomic', 'remove'] as const) {
      const files = new MemoryLogFiles();
      const gate = stall(files, step);
      const s = await openStore({ log: gate.files, snapshot: { minLogBytes: 1000 }, garbageCollector: false });
      const acked: string[] = [];
      for (let i = 0; i < 40; i++) {
        unwrap(await s.create(pod(`p${i}`)));
        acked.push(`p${i}`);
      }
      await gate.reached;
      const crashed = files.crash();
      const t = await openStore({ log: crashed, garbageCollector: false });
      expect(names(t).sort(), step).toEqual(acked.sort());
      expect(t.revision).toBe(40);
      await t.close();
      gate.release();
      await s.close();
    }
  });

  it('refuses corruption that is not a torn tail', async () => {
    const files = new MemoryLogFiles();
    const s = await openStore({ log: files, snapshot: { minLogBytes: 500 }, garbageCollector: false });
    for (let i = 0; i < 20; i++) unwrap(await s.create(pod(`p${i}`)));
    await s.close();
    const snapName = (await files.list()).find((n) => n.startsWith('snapshot-')) as string;
    const snap = (await files.read(snapName)) as Uint8Array;
    const bad = files.crash();
    const flipped = snap.slice();
    flipped[20] = (flipped[20] as number) ^ 0xff;
    bad.poke(snapName, flipped);
    await expect(openStore({ log: bad })).rejects.toThrow(/snapshot-\d+ is corrupt/);

    // A bad frame in a log that is not the last one.
    const two = new MemoryLogFiles();
    const rec = (r: number): Uint8Array => encodeRecord({ revision: r, object: pod(`x${r}`) as KubeObject, deleted: false });
    const first = new Uint8Array([...rec(1), ...rec(2)]);
    first[first.length - 3] = (first[first.length - 3] as number) ^ 1;
    two.poke('log-0000000000000000', first);
    two.poke('log-0000000000000002', rec(3));
    await expect(openStore({ log: two })).rejects.toThrow(/log-0000000000000000 is corrupt .* not the last log/);

    // A gap in the revisions.
    const gap = new MemoryLogFiles();
    gap.poke('log-0000000000000000', new Uint8Array([...rec(1), ...rec(3)]));
    await expect(openStore({ log: gap })).rejects.toThrow(/revision 3 follows 1/);
  });

  it('fails writes when the log fails, and stays failed; reads still work', async () => {
    const files = new MemoryLogFiles();
    const broken = { fail: false };
    const wrapped: LogFiles = {
      ...bind(files),
      openAppend: async (name) => {
        const f = await files.openAppend(name);
        return {
          append: (d) => (broken.fail ? Promise.reject(new Error('ENOSPC: no space left on device')) : f.append(d)),
          sync: () => f.sync(),
          close: () => f.close(),
        };
      },
    };
    const s = await openStore({ log: wrapped, garbageCollector: false });
    unwrap(await s.create(pod('a')));
    broken.fail = true;
    await expect(s.create(pod('b'))).rejects.toThrow(/ENOSPC/);
    await expect(s.create(pod('c'))).rejects.toThrow(/failed earlier/);
    expect(names(s)).toEqual(['a']);
    await expect(s.whenIdle()).rejects.toThrow(/log failed/);
    await s.close();
  });
});

function bind(files: MemoryLogFiles): LogFiles {
  return {
    list: () => files.list(),
    read: (n) => files.read(n),
    writeAtomic: (n, d) => files.writeAtomic(n, d),
    openAppend: (n) => files.openAppend(n),
    truncate: (n, s) => files.truncate(n, s),
    remove: (n) => files.remove(n),
  };
}

/** A LogFiles whose append files' `sync` waits, once armed, until released (the append before it has happened). */
function syncGate(files: MemoryLogFiles): { files: LogFiles; arm: () => { reached: Promise<void>; release: () => void } } {
  let hold: (() => Promise<void>) | undefined;
  const wrap = (f: AppendFile): AppendFile => ({
    append: (d) => f.append(d),
    sync: async () => {
      const h = hold;
      hold = undefined;
      if (h !== undefined) await h();
      return f.sync();
    },
    close: () => f.close(),
  });
  return {
    files: { ...bind(files), openAppend: async (n) => wrap(await files.openAppend(n)) },
    arm: () => {
      let release!: () => void;
      let reached!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const hit = new Promise<void>((r) => (reached = r));
      hold = async () => {
        reached();
        await gate;
      };
      return { reached: hit, release };
    },
  };
}

/** A LogFiles whose first call of `step` (during a rotation) never completes until released. */
function stall(files: MemoryLogFiles, step: 'writeAtomic' | 'remove'): { files: LogFiles; reached: Promise<void>; release: () => void } {
  let release!: () => void;
  let reached!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const hit = new Promise<void>((r) => (reached = r));
  let armed = true;
  const b = bind(files);
  const hold = async (): Promise<void> => {
    if (!armed) return;
    armed = false;
    reached();
    await gate;
  };
  return {
    files: {
      ...b,
      writeAtomic: async (n, d) => {
        if (step === 'writeAtomic') await hold();
        return b.writeAtomic(n, d);
      },
      remove: async (n) => {
        if (step === 'remove') await hold();
        return b.remove(n);
      },
    },
    reached: hit,
    release,
  };
}

/**
 * `applyChangeset` is the inverse of `diffLayer`: random operations on an overlay over
 * random lower layers, diffed, then applied onto a fresh overlay over the same lowers,
 * give the same merged tree (and the same tree as stacking the diff as a layer).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyChangeset, diffLayer } from './changeset.js';
import { Errno } from './errno.js';
import { indexLayer } from './layer-import.js';
import type { LayerIndex } from './layer-index.js';
import { DirNode, Overlay, type Node } from './overlay.js';
import { dumpTree, layerOf } from './testing/layers.js';

type Op =
  | { op: 'write'; path: string; pos: number; data: string }
  | { op: 'truncate'; path: string; size: number }
  | { op: 'mkdir'; path: string }
  | { op: 'rm'; path: string }
  | { op: 'symlink'; target: string; path: string }
  | { op: 'link'; from: string; to: string }
  | { op: 'chmod'; path: string; mode: number }
  | { op: 'rename'; from: string; to: string };

function apply(o: Overlay, op: Op): void {
  const r = o.root;
  switch (op.op) {
    case 'write': {
      const n = o.open(r, op.path, { create: true, follow: false });
      if (!(n instanceof Errno)) o.write(n, op.pos, new TextEncoder().encode(op.data));
      return;
    }
    case 'truncate': {
      const n = o.resolve(r, op.path, false);
      if (!(n instanceof Errno) && n.kind === 'file') o.truncate(n, op.size);
      return;
    }
    case 'mkdir':
      o.mkdir(r, op.path);
      return;
    case 'rm':
      if (o.unlink(r, op.path) !== undefined) o.rmdir(r, op.path);
      return;
    case 'symlink':
      o.symlink(op.target, r, op.path);
      return;
    case 'link':
      o.link(r, op.from, r, op.to);
      return;
    case 'chmod': {
      const n = o.resolve(r, op.path, false);
      if (!(n instanceof Errno) && n.kind !== 'symlink') o.chmod(n, op.mode);
      return;
    }
    case 'rename':
      o.rename(r, op.from, r, op.to);
  }
}

const pathArb = fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 3 }).map((p) => p.join('/'));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('write' as const), path: pathArb, pos: fc.nat(6), data: fc.stringMatching(/^[x-z]{1,5}$/) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), path: pathArb, size: fc.nat(8) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('mkdir' as const), path: pathArb }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('rm' as const), path: pathArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('symlink' as const), target: fc.constantFrom('t1', '/t2', 'b/../t3'), path: pathArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('link' as const), from: pathArb, to: pathArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('chmod' as const), path: pathArb, mode: fc.constantFrom(0o600, 0o700, 0o751) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('rename' as const), from: pathArb, to: pathArb }) },
);

/** Owners and mtimes (whole seconds, as tar keeps them) of every node but the root. */
function times(o: Overlay): string[] {
  const out: string[] = [];
  const walk = (dir: DirNode, prefix: string): void => {
    for (const { name } of o.readdir(dir) as readonly { name: string }[]) {
      const n = o.lookup(dir, name) as Node;
      const st = o.stat(n);
      out.push(`${prefix}${name} ${st.uid}:${st.gid} ${st.mtime / 1_000_000_000n}`);
      if (n instanceof DirNode) walk(n, `${prefix}${name}/`);
    }
  };
  walk(o.root, '/');
  return out;
}

let clock = 1_700_000_000_000_000_000n;
const tick = (): bigint => (clock += 1_000_000_000n);

describe('applyChangeset', () => {
  it('diff → apply gives the merged tree back, over random lowers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(opArb, { maxLength: 20 }), { minLength: 1, maxLength: 3 }), fc.array(opArb, { maxLength: 25 }), async (lowerRounds, ops) => {
        const lowers: LayerIndex[] = [];
        for (const [i, round] of lowerRounds.entries()) {
          const o = new Overlay([...lowers], { clock: tick });
          for (const op of round) apply(o, op);
          lowers.push(indexLayer(await diffLayer(o), `lower-${i}`));
        }
        const o = new Overlay(lowers, { clock: tick });
        for (const op of ops) apply(o, op);
        const tar = await diffLayer(o);
        const restored = new Overlay(lowers, { clock: tick });
        expect(applyChangeset(restored, tar)).toBeUndefined();
        expect(dumpTree(restored)).toEqual(dumpTree(o));
        const stacked = new Overlay([...lowers, indexLayer(tar, 'upper')]);
        expect(times(restored)).toEqual(times(stacked));
        // And the restored upper diffs to the same tree again.
        const again = new Overlay(lowers);
        applyChangeset(again, await diffLayer(restored));
        expect(dumpTree(again)).toEqual(dumpTree(o));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps hard links to lower files one file, and removes what whiteouts name', async () => {
    const lower = await layerOf([['etc/hosts', 'h'], ['etc/gone/x', 'x'], ['keep', 'k']]);
    const o = new Overlay([lower]);
    o.link(o.root, 'etc/hosts', o.root, 'hosts2');
    o.unlink(o.root, 'etc/gone/x');
    o.rmdir(o.root, 'etc/gone');
    const restored = new Overlay([lower]);
    applyChangeset(restored, await diffLayer(o));
    expect(dumpTree(restored)).toEqual(dumpTree(o));
    expect(dumpTree(restored)).toContain('/hosts2 file 644 "h" =0');
    expect(restored.resolve(restored.root, 'etc/gone')).toBeInstanceOf(Errno);
  });
});

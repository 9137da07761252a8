/**
 * Property test: random operation sequences on an overlay, over layers that earlier
 * random rounds produced through diff → tar → index, always give the tree a plain
 * in-memory reference filesystem gives; and the diff of each round, applied onto the
 * same lower layers, gives that tree again.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diffLayer, exportTree } from './changeset.js';
import { Errno } from './errno.js';
import { indexLayer } from './layer-import.js';
import type { LayerIndex } from './layer-index.js';
import { DirNode, Overlay, type Node } from './overlay.js';
import { dumpTree } from './testing/layers.js';

// ----------------------------------------------------------------- reference model

type MFile = { kind: 'file'; data: Uint8Array; mode: number };
type MDir = { kind: 'dir'; children: Map<string, MNode>; mode: number };
type MSym = { kind: 'symlink'; target: string };
type MNode = MFile | MDir | MSym;

class Model {
  root: MDir = { kind: 'dir', children: new Map(), mode: 0o755 };

  /** Parent dir and name; intermediate components must be real directories. */
  private parent(path: string): { dir: MDir; name: string } | undefined {
    const parts = path.split('/');
    let dir = this.root;
    for (const p of parts.slice(0, -1)) {
      const next = dir.children.get(p);
      if (next?.kind !== 'dir') return undefined;
      dir = next;
    }
    return { dir, name: parts[parts.length - 1] as string };
  }
  private get(path: string): MNode | undefined {
    const ref = this.parent(path);
    return ref?.dir.children.get(ref.name);
  }
  write(path: string, pos: number, data: Uint8Array): boolean {
    const ref = this.parent(path);
    if (!ref) return false;
    let f = ref.dir.children.get(ref.name);
    if (f === undefined) ref.dir.children.set(ref.name, (f = { kind: 'file', data: new Uint8Array(0), mode: 0o644 }));
    if (f.kind !== 'file') return false;
    if (pos + data.length > f.data.length) {
      const grown = new Uint8Array(pos + data.length);
      grown.set(f.data);
      f.data = grown;
    }
    f.data.set(data, pos);
    return true;
  }
  truncate(path: string, size: number): boolean {
    const f = this.get(path);
    if (f?.kind !== 'file') return false;
    const next = new Uint8Array(size);
    next.set(f.data.subarray(0, Math.min(size, f.data.length)));
    f.data = next;
    return true;
  }
  mkdir(path: string): boolean {
    const ref = this.parent(path);
    if (!ref || ref.dir.children.has(ref.name)) return false;
    ref.dir.children.set(ref.name, { kind: 'dir', children: new Map(), mode: 0o755 });
    return true;
  }
  rmdir(path: string): boolean {
    const ref = this.parent(path);
    const d = ref?.dir.children.get(ref.name);
    if (!ref || d?.kind !== 'dir' || d.children.size > 0) return false;
    ref.dir.children.delete(ref.name);
    return true;
  }
  unlink(path: string): boolean {
    const ref = this.parent(path);
    const n = ref?.dir.children.get(ref.name);
    if (!ref || n === undefined || n.kind === 'dir') return false;
    ref.dir.children.delete(ref.name);
    return true;
  }
  symlink(target: string, path: string): boolean {
    const ref = this.parent(path);
    if (!ref || ref.dir.children.has(ref.name)) return false;
    ref.dir.children.set(ref.name, { kind: 'symlink', target });
    return true;
  }
  link(from: string, to: string): boolean {
    const n = this.get(from);
    const ref = this.parent(to);
    if (n === undefined || n.kind === 'dir' || !ref || ref.dir.children.has(ref.name)) return false;
    ref.dir.children.set(ref.name, n);
    return true;
  }
  chmod(path: string, mode: number): boolean {
    const n = this.get(path);
    if (n === undefined || n.kind === 'symlink') return false;
    n.mode = mode;
    return true;
  }
  rename(from: string, to: string): boolean {
    const a = this.parent(from);
    const b = this.parent(to);
    const n = a?.dir.children.get(a.name);
    if (!a || !b || n === undefined) return false;
    const existing = b.dir.children.get(b.name);
    if (existing === n) return true;
    if (n.kind === 'dir' && (to === from || to.startsWith(`${from}/`))) return false;
    if (existing !== undefined) {
      if (n.kind === 'dir' && existing.kind !== 'dir') return false;
      if (n.kind !== 'dir' && existing.kind === 'dir') return false;
      if (existing.kind === 'dir' && existing.children.size > 0) return false;
    }
    a.dir.children.delete(a.name);
    b.dir.children.set(b.name, n);
    return true;
  }
  dump(): string[] {
    const lines: string[] = [];
    const groups = new Map<MNode, number>();
    const walk = (dir: MDir, prefix: string): void => {
      for (const name of [...dir.children.keys()].sort()) {
        const n = dir.children.get(name) as MNode;
        const path = prefix + name;
        if (n.kind === 'dir') {
          lines.push(`${path}/ dir ${n.mode.toString(8)}`);
          walk(n, `${path}/`);
        } else if (n.kind === 'file') {
          let g = groups.get(n);
          const first = g === undefined;
          if (g === undefined) groups.set(n, (g = groups.size));
          lines.push(`${path} file ${n.mode.toString(8)} ${JSON.stringify(new TextDecoder().decode(n.data))}${first ? '' : ` =${g}`}`);
        } else {
          lines.push(`${path} symlink -> ${n.target}`);
        }
      }
    };
    walk(this.root, '/');
    return lines;
  }
}

// ----------------------------------------------------------------- the same ops on an overlay

type Op =
  | { op: 'write'; path: string; pos: number; data: string }
  | { op: 'truncate'; path: string; size: number }
  | { op: 'mkdir'; path: string }
  | { op: 'rmdir'; path: string }
  | { op: 'unlink'; path: string }
  | { op: 'symlink'; target: string; path: string }
  | { op: 'link'; from: string; to: string }
  | { op: 'chmod'; path: string; mode: number }
  | { op: 'rename'; from: string; to: string };

function applyOverlay(o: Overlay, op: Op): boolean {
  const r = o.root;
  const done = (v: unknown): boolean => !(v instanceof Errno);
  switch (op.op) {
    case 'write': {
      const n = o.open(r, op.path, { create: true, follow: false });
      if (n instanceof Errno) return false;
      return done(o.write(n, op.pos, new TextEncoder().encode(op.data)));
    }
    case 'truncate': {
      const n = o.resolve(r, op.path, false);
      return !(n instanceof Errno) && n.kind === 'file' && done(o.truncate(n, op.size));
    }
    case 'mkdir':
      return done(o.mkdir(r, op.path));
    case 'rmdir':
      return done(o.rmdir(r, op.path));
    case 'unlink':
      return done(o.unlink(r, op.path));
    case 'symlink':
      return done(o.symlink(op.target, r, op.path));
    case 'link':
      return done(o.link(r, op.from, r, op.to));
    case 'chmod': {
      const n = o.resolve(r, op.path, false);
      if (n instanceof Errno || n.kind === 'symlink') return false;
      o.chmod(n, op.mode);
      return true;
    }
    case 'rename':
      return done(o.rename(r, op.from, r, op.to));
  }
}

function applyModel(m: Model, op: Op): boolean {
  switch (op.op) {
    case 'write':
      return m.write(op.path, op.pos, new TextEncoder().encode(op.data));
    case 'truncate':
      return m.truncate(op.path, op.size);
    case 'mkdir':
      return m.mkdir(op.path);
    case 'rmdir':
      return m.rmdir(op.path);
    case 'unlink':
      return m.unlink(op.path);
    case 'symlink':
      return m.symlink(op.target, op.path);
    case 'link':
      return m.link(op.from, op.to);
    case 'chmod':
      return m.chmod(op.path, op.mode);
    case 'rename':
      return m.rename(op.from, op.to);
  }
}

const pathArb = fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 3 }).map((p) => p.join('/'));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('write' as const), path: pathArb, pos: fc.nat(6), data: fc.stringMatching(/^[x-z]{1,5}$/) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), path: pathArb, size: fc.nat(8) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('mkdir' as const), path: pathArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('rmdir' as const), path: pathArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('unlink' as const), path: pathArb }) },
  // Targets never name an existing path, so following them fails the same way in both.
  { weight: 1, arbitrary: fc.record({ op: fc.constant('symlink' as const), target: fc.constantFrom('t1', '/t2', 'b/../t3'), path: pathArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('link' as const), from: pathArb, to: pathArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('chmod' as const), path: pathArb, mode: fc.constantFrom(0o600, 0o700, 0o751) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('rename' as const), from: pathArb, to: pathArb }) },
);

describe('changeset: diff and apply against a reference model', () => {
  it('random rounds of operations, each committed as a layer, give the model tree', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(opArb, { maxLength: 25 }), { minLength: 1, maxLength: 4 }), async (rounds) => {
        const model = new Model();
        const lowers: LayerIndex[] = [];
        for (const [round, ops] of rounds.entries()) {
          const o = new Overlay([...lowers]);
          for (const [i, op] of ops.entries()) {
            const a = applyOverlay(o, op);
            const b = applyModel(model, op);
            if (a !== b) throw new Error(`round ${round} op ${i} ${JSON.stringify(op)}: overlay ${a ? 'succeeded' : 'failed'}, model ${b ? 'succeeded' : 'failed'}`);
          }
          expect(dumpTree(o)).toEqual(model.dump());
          lowers.push(indexLayer(await diffLayer(o), `round-${round}`));
          expect(dumpTree(new Overlay(lowers))).toEqual(model.dump());
        }
        // Exporting the final merged tree as one layer gives the same tree too.
        const flat = indexLayer(await exportTree(new Overlay(lowers)), 'export');
        expect(dumpTree(new Overlay([flat]))).toEqual(model.dump());
      }),
      { numRuns: 300 },
    );
  });

  it('the diff of an untouched overlay is empty and diffs are deterministic', async () => {
    const o = new Overlay([]);
    expect((await diffLayer(o)).length).toBe(1024);
    const mk = async (): Promise<Uint8Array> => {
      const x = new Overlay([], { clock: () => 1_000_000_000_000n });
      x.mkdir(x.root, 'd');
      const f = x.open(x.root, 'd/f', { create: true }) as Node;
      x.write(f, 0, new TextEncoder().encode('same'));
      return diffLayer(x);
    };
    expect(Buffer.from(await mk()).equals(Buffer.from(await mk()))).toBe(true);
    expect((await mk()).length).toBeGreaterThan(1024);
    expect(new Overlay([]).root).toBeInstanceOf(DirNode);
  });
});

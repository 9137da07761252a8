// Round trips between skiff's image store and the real OCI tools, umoci and skopeo.
//
// 1. umoci → skiff: an image umoci builds (repack layers with whiteouts and omitted
//    parent directories, `umoci insert` layers without end-of-archive blocks, an opaque
//    directory, symlinks, hard links) loads into skiff, as a layout tar and as a layout
//    directory, with exactly the tree `umoci unpack` gives.
// 2. skiff → tools: an image skiff builds and saves passes `skopeo inspect` and
//    `skopeo copy` (OCI layout tar, docker archive, and skiff's store directory itself),
//    and `umoci raw unpack` of it gives exactly skiff's merged tree. (Plain `umoci unpack`
//    refuses a config with `os: wasip1`: it cannot generate a runtime config for it.)
//
// The tools are required in CI; elsewhere the suites skip with a printed reason.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { packTar, type TarEntry } from 'modern-tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../src/layers/digest.js';
import { MemoryFiles } from '../../src/layers/files.js';
import { type Image, ImageStore } from '../../src/layers/image-store.js';
import { DirNode, FileNode, type Node, Overlay, SymlinkNode } from '../../src/layers/overlay.js';
import { NodeFiles } from '../../src/platform/node/files.js';

// ---------------------------------------------------------------------------------------
// Tools

function has(tool: string): boolean {
  const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  return r.error === undefined && r.status === 0;
}

const hasUmoci = has('umoci');
const hasSkopeo = has('skopeo');
const missing = [hasUmoci ? [] : ['umoci'], hasSkopeo ? [] : ['skopeo']].flat();
if (missing.length > 0) {
  console.warn(
    `test/interop/oci-tools.test.ts: skipping the suites that need ${missing.join(' and ')} (not on PATH); install with \`apt-get install umoci skopeo\``,
  );
}

/** As root, umoci keeps owners and the test can chown; otherwise everything is rootless and owners are not compared. */
const isRoot = process.getuid?.() === 0;
const rootless = isRoot ? [] : ['--rootless'];

/** Runs a tool; throws with its output if it fails. Returns stdout as bytes. */
function run(cmd: string, args: readonly string[], cwd?: string): Buffer {
  const r = spawnSync(cmd, args, { cwd, maxBuffer: 64 * 1024 * 1024 });
  if (r.error !== undefined) throw r.error;
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}:\n${r.stderr.toString()}${r.stdout.toString()}`);
  }
  return r.stdout;
}

function runJSON<T>(cmd: string, args: readonly string[]): T {
  return JSON.parse(run(cmd, args).toString('utf8')) as T;
}

// ---------------------------------------------------------------------------------------
// Trees: a disk tree and an overlay tree, both as sorted lines that compare exactly.

interface TreeEntry {
  readonly path: string;
  readonly kind: 'dir' | 'file' | 'symlink';
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly content?: Uint8Array;
  readonly target?: string;
  /** Files with the same identity are hard links of one another. */
  readonly identity?: unknown;
}

function describeContent(bytes: Uint8Array): string {
  if (bytes.length <= 256) {
    try {
      return JSON.stringify(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch {
      // binary: fall through
    }
  }
  return `<${bytes.length} bytes ${digestOf(bytes).slice(0, 23)}…>`;
}

/**
 * One line per path, sorted: `path kind mode [uid:gid] content|-> target [=first-link]`.
 * Symlink modes are not compared (Linux has none); a hard-link group is named by its
 * first path, on every member, so two trees agree on groups iff their lines agree.
 */
function treeLines(entries: readonly TreeEntry[], owners: boolean): string[] {
  const groups = new Map<unknown, string[]>();
  for (const e of entries) {
    if (e.kind !== 'file') continue;
    const g = groups.get(e.identity) ?? [];
    g.push(e.path);
    groups.set(e.identity, g);
  }
  const lines = entries.map((e) => {
    const owner = owners ? ` ${e.uid}:${e.gid}` : '';
    if (e.kind === 'symlink') return `${e.path} symlink${owner} -> ${e.target as string}`;
    const mode = e.mode.toString(8).padStart(4, '0');
    if (e.kind === 'dir') return `${e.path === '/' ? '/' : `${e.path}/`} dir ${mode}${owner}`;
    const group = (groups.get(e.identity) as string[]).slice().sort();
    const link = group.length > 1 ? ` =${group[0] as string}` : '';
    return `${e.path} file ${mode}${owner} ${describeContent(e.content as Uint8Array)}${link}`;
  });
  return lines.sort();
}

/** The tree under a directory on disk (an unpacked rootfs). */
function diskTree(root: string): TreeEntry[] {
  const out: TreeEntry[] = [];
  const visit = (abs: string, path: string): void => {
    const st = lstatSync(abs);
    const base = { path, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    if (st.isDirectory()) {
      out.push({ ...base, kind: 'dir' });
      for (const name of readdirSync(abs).sort()) visit(join(abs, name), path === '/' ? `/${name}` : `${path}/${name}`);
    } else if (st.isSymbolicLink()) {
      out.push({ ...base, kind: 'symlink', target: readlinkSync(abs) });
    } else if (st.isFile()) {
      out.push({ ...base, kind: 'file', content: readFileSync(abs), identity: `${st.dev}:${st.ino}` });
    } else {
      throw new Error(`${abs}: unexpected file type (mode ${st.mode.toString(8)})`);
    }
  };
  visit(root, '/');
  return out;
}

/** The merged tree of an overlay, through its public reading API. */
function overlayTree(overlay: Overlay): TreeEntry[] {
  const out: TreeEntry[] = [];
  const visit = (node: Node, path: string): void => {
    const st = overlay.stat(node);
    const base = { path, mode: st.mode, uid: st.uid, gid: st.gid };
    if (node instanceof DirNode) {
      out.push({ ...base, kind: 'dir' });
      const listing = overlay.readdir(node);
      if (!Array.isArray(listing)) throw new Error(`readdir ${path}: ${String(listing)}`);
      for (const { name } of listing) {
        const child = overlay.lookup(node, name);
        if (child === undefined) throw new Error(`${path}: readdir lists ${name} but lookup finds nothing`);
        visit(child, path === '/' ? `/${name}` : `${path}/${name}`);
      }
    } else if (node instanceof SymlinkNode) {
      out.push({ ...base, kind: 'symlink', target: overlay.readlink(node) as string });
    } else if (node instanceof FileNode) {
      out.push({ ...base, kind: 'file', content: overlay.contentOf(node).slice(), identity: node });
    }
  };
  visit(overlay.root, '/');
  return out;
}

async function skiffTree(store: ImageStore, image: Image): Promise<string[]> {
  return treeLines(overlayTree(new Overlay(await store.layers(image))), isRoot);
}

// ---------------------------------------------------------------------------------------
// Raw tar inspection, independent of skiff's tar reader: proves what a layer looks like.

interface TarShape {
  /** Entry names as written (PAX `path` applied), without a leading `./`. */
  readonly names: string[];
  /** Two zero blocks were found after the last entry. */
  readonly eof: boolean;
  /** Offset just past the last entry's data, before any padding. */
  readonly dataEnd: number;
  readonly length: number;
}

function tarShape(tar: Uint8Array): TarShape {
  const text = (from: number, len: number): string => {
    const b = tar.subarray(from, from + len);
    const nul = b.indexOf(0);
    return new TextDecoder().decode(nul === -1 ? b : b.subarray(0, nul));
  };
  const names: string[] = [];
  let off = 0;
  let dataEnd = 0;
  let eof = false;
  let paxPath: string | undefined;
  while (off + 512 <= tar.length) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) {
      eof = off + 1024 <= tar.length && tar.subarray(off + 512, off + 1024).every((b) => b === 0);
      break;
    }
    const size = parseInt(text(off + 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] as number);
    const data = tar.subarray(off + 512, off + 512 + size);
    if (type === 'x') {
      for (const m of new TextDecoder().decode(data).matchAll(/^\d+ path=(.*)$/gm)) paxPath = m[1];
    } else if (type !== 'g') {
      const prefix = text(off + 345, 155);
      const name = paxPath ?? (prefix === '' ? text(off, 100) : `${prefix}/${text(off, 100)}`);
      names.push(name.replace(/^\.\//, ''));
      paxPath = undefined;
    }
    dataEnd = off + 512 + size;
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return { names, eof, dataEnd, length: tar.length };
}

// ---------------------------------------------------------------------------------------
// Filesystem edits for building bundles

function put(root: string, path: string, content: string, mode = 0o644): void {
  const abs = join(root, path);
  mkdirSync(join(abs, '..'), { recursive: true });
  writeFileSync(abs, content);
  chmodSync(abs, mode);
}

function dir(root: string, path: string, mode = 0o755): void {
  mkdirSync(join(root, path), { recursive: true });
  chmodSync(join(root, path), mode);
}

function owner(root: string, path: string, uid: number, gid: number): void {
  if (isRoot) chownSync(join(root, path), uid, gid);
}

interface Manifest {
  readonly config: { readonly digest: string };
  readonly layers: readonly { readonly digest: string; readonly mediaType: string; readonly size: number }[];
}

interface LayoutIndex {
  readonly manifests: readonly { readonly digest: string; readonly annotations?: Record<string, string> }[];
}

function blobPath(layout: string, digest: string): string {
  return join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
}

function readJSON<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** The manifest a tag of an OCI layout names. */
function manifestOf(layout: string, tag: string): Manifest {
  const index = readJSON<LayoutIndex>(join(layout, 'index.json'));
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (entry === undefined) throw new Error(`${layout}: no tag ${tag}`);
  return readJSON<Manifest>(blobPath(layout, entry.digest));
}

function layerTar(layout: string, layer: Manifest['layers'][number]): Uint8Array {
  const blob = readFileSync(blobPath(layout, layer.digest));
  return layer.mediaType.endsWith('+gzip') ? new Uint8Array(gunzipSync(blob)) : new Uint8Array(blob);
}

let scratch = '';
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'skiff-oci-tools-'));
});
afterAll(() => {
  // SKIFF_KEEP_SCRATCH=1 keeps the layouts, archives and unpacked trees for a look.
  if (process.env.SKIFF_KEEP_SCRATCH === '1') console.warn(`kept ${scratch}`);
  else if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

/** `umoci unpack` into a fresh bundle; returns its rootfs. */
function unpack(layout: string, tag: string, bundle: string): string {
  rmSync(bundle, { recursive: true, force: true });
  run('umoci', ['unpack', ...rootless, '--image', `${layout}:${tag}`, bundle]);
  return join(bundle, 'rootfs');
}

/** One umoci edit round: unpack, edit the rootfs, repack. */
function round(layout: string, tag: string, edit: (rootfs: string) => void): void {
  const bundle = join(scratch, `bundle-${Math.random().toString(36).slice(2)}`);
  edit(unpack(layout, tag, bundle));
  run('umoci', ['repack', '--image', `${layout}:${tag}`, bundle]);
  rmSync(bundle, { recursive: true, force: true });
}

function newLayout(name: string): string {
  const layout = join(scratch, name);
  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', `${layout}:t`]);
  return layout;
}

// ---------------------------------------------------------------------------------------
// 1. umoci → skiff

describe.skipIf(!hasUmoci)('an image umoci builds loads into skiff with the tree umoci unpacks', () => {
  let layout = '';
  const repacks = 3;
  const inserts = 4;

  beforeAll(() => {
    layout = newLayout('umoci-layout');
    // Round 1: everything new.
    round(layout, 't', (r) => {
      dir(r, 'etc');
      put(r, 'etc/hello', 'hello\n', 0o600);
      owner(r, 'etc/hello', 1000, 1001);
      put(r, 'etc/conf', 'conf=1\n');
      put(r, 'etc/ünïcödé', 'pax name\n');
      put(r, `long/${'n'.repeat(150)}`, 'long name\n');
      dir(r, 'a', 0o1777);
      put(r, 'a/b/c/deep', 'x\n', 0o755);
      put(r, 'bin/tool', 'setgid\n', 0o2755);
      put(r, 'olddir/keep', 'keep\n');
      put(r, 'olddir/sub/s', 's\n');
      put(r, 'rep/file', 'f\n');
      put(r, 'gone', 'gone\n');
      put(r, 'f2d', 'a file that becomes a directory\n');
      dir(r, 'empty', 0o750);
      symlinkSync('/etc/hello', join(r, 'abs'));
      symlinkSync('../etc/hello', join(r, 'a/rel'));
      symlinkSync('nowhere', join(r, 'dangling'));
      put(r, 'h1', 'hard\n');
      linkSync(join(r, 'h1'), join(r, 'a/h2'));
      put(r, 'bin/binary', '\u0000\u0001\u0002wasm\u00ff'.repeat(100), 0o755);
    });
    // Round 2: deletions (whiteouts), a directory deleted and recreated, mode and content changes.
    round(layout, 't', (r) => {
      rmSync(join(r, 'gone'));
      rmSync(join(r, 'olddir'), { recursive: true });
      put(r, 'olddir/new/n', 'new\n');
      rmSync(join(r, 'rep'), { recursive: true });
      put(r, 'rep/inner', 'inner\n');
      chmodSync(join(r, 'etc'), 0o700);
      chmodSync(join(r, 'etc/conf'), 0o444);
      writeFileSync(join(r, 'a/b/c/deep'), 'changed\n'); // parents unchanged: umoci omits their entries
      chmodSync(join(r, 'h1'), 0o640);
    });
    // Round 3: a file replaced by a directory, a symlink by a directory, a rename,
    // new links (a hard link to a file of a lower layer).
    round(layout, 't', (r) => {
      rmSync(join(r, 'f2d'));
      put(r, 'f2d/in', 'in\n');
      rmSync(join(r, 'abs'));
      put(r, 'abs/f', 'now a dir\n');
      renameSync(join(r, 'etc/conf'), join(r, 'etc/conf.renamed'));
      symlinkSync('../../h1', join(r, 'a/b/lnk'));
      linkSync(join(r, 'etc/hello'), join(r, 'etc/hello2'));
      rmSync(join(r, 'dangling'));
      symlinkSync('/etc/conf.renamed', join(r, 'dangling'));
    });
    // umoci insert: a file, a directory, an opaque directory, a whiteout.
    const src = join(scratch, 'insert-src');
    put(src, 'file', 'inserted\n', 0o751);
    put(src, 'dir/sub/x', 'x\n');
    symlinkSync('x', join(src, 'dir/sub/y'));
    put(src, 'opq/only', 'only\n');
    run('umoci', ['insert', '--image', `${layout}:t`, join(src, 'file'), '/etc/inserted']);
    run('umoci', ['insert', '--image', `${layout}:t`, join(src, 'dir'), '/a/b/insdir']);
    run('umoci', ['insert', '--image', `${layout}:t`, '--opaque', join(src, 'opq'), '/rep']);
    run('umoci', ['insert', '--image', `${layout}:t`, '--whiteout', '/a/rel']);
    // A Wasm config under a second tag (same layers): the image skiff would run.
    run('umoci', [
      'config',
      '--image',
      `${layout}:t`,
      '--tag',
      'wasm',
      '--os',
      'wasip1',
      '--architecture',
      'wasm',
      '--config.entrypoint',
      '/bin/binary',
      '--config.entrypoint',
      'arg1',
      '--config.workingdir',
      '/etc',
    ]);
  });

  it('the image has the layers the test means: EOF-less insert layers, a repack layer without parent entries, an opaque directory', () => {
    const m = manifestOf(layout, 't');
    expect(m.layers.length).toBe(repacks + inserts);
    const config = readJSON<{ history: { created_by?: string; empty_layer?: boolean }[] }>(blobPath(layout, m.config.digest));
    const makers = config.history.filter((h) => h.empty_layer !== true).map((h) => h.created_by);
    expect(makers).toEqual([...Array<string>(repacks).fill('umoci repack'), ...Array<string>(inserts).fill('umoci insert')]);
    const shapes = m.layers.map((l) => tarShape(layerTar(layout, l)));

    // Repack layers end properly; insert layers end right after their last entry's data.
    for (const s of shapes.slice(0, repacks)) expect(s.eof).toBe(true);
    for (const s of shapes.slice(repacks)) {
      expect(s.eof).toBe(false);
      expect(s.dataEnd).toBe(s.length);
    }
    // The file insert ends mid-block: not even the data is padded.
    expect(shapes[repacks]?.names).toEqual(['etc/inserted']);
    expect((shapes[repacks] as TarShape).length % 512).not.toBe(0);

    // Round 2 changed a/b/c/deep alone: its parents have no entries in that layer.
    const round2 = (shapes[1] as TarShape).names.map((n) => n.replace(/\/$/, ''));
    expect(round2).toContain('a/b/c/deep');
    expect(round2).not.toContain('a/b/c');
    expect(round2).not.toContain('a/b');
    expect(round2).not.toContain('a');
    // Whiteouts from round 2, the opaque marker from `insert --opaque`.
    expect(round2).toEqual(expect.arrayContaining(['.wh.gone', 'olddir/.wh.keep', 'olddir/.wh.sub', 'rep/.wh.file']));
    expect(shapes[repacks + 2]?.names).toContain('rep/.wh..wh..opq');
    expect(shapes[repacks + 3]?.names).toEqual(['a/.wh.rel']);
  });

  it('loaded from a layout tar and from the layout directory, skiff has exactly the tree of `umoci unpack`', async () => {
    const expected = treeLines(diskTree(unpack(layout, 't', join(scratch, 'umoci-unpacked'))), isRoot);
    // Sanity: the unpacked tree shows the edits (so equal trees are not vacuous).
    expect(expected).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/rep\/only file /),
        expect.stringMatching(/^\/abs\/f file /),
        expect.stringMatching(/^\/a\/h2 file 0640 .*=\/a\/h2$/),
        expect.stringMatching(/^\/h1 file 0640 .*=\/a\/h2$/),
        expect.stringMatching(/^\/etc\/hello2 file 0600 .*=\/etc\/hello$/),
        expect.stringMatching(/^\/a\/ dir 1777/),
        expect.stringMatching(/^\/bin\/tool file 2755/),
        expect.stringMatching(/^\/a\/b\/insdir\/sub\/y symlink.* -> x$/),
        expect.stringMatching(/^\/f2d\/in file /),
        expect.stringMatching(isRoot ? /^\/etc\/hello file 0600 1000:1001 / : /^\/etc\/hello file 0600 /),
      ]),
    );
    for (const gone of ['/gone ', '/rep/file ', '/rep/inner ', '/olddir/keep ', '/a/rel ', '/etc/conf ']) {
      expect(expected.some((l) => l.startsWith(gone))).toBe(false);
    }

    const tarPath = join(scratch, 'umoci-layout.tar');
    run('tar', ['-C', layout, '-cf', tarPath, '.']);
    const fromTar = await ImageStore.open(new MemoryFiles());
    const loadedTar = await fromTar.load(new Uint8Array(readFileSync(tarPath)), { baseName: 'umoci/test' });
    const fromDir = await ImageStore.open(new MemoryFiles());
    const loadedDir = await fromDir.load(new NodeFiles(layout, { durable: false }), { baseName: 'umoci/test' });

    const index = readJSON<LayoutIndex>(join(layout, 'index.json'));
    const digestOfTag = (tag: string): string | undefined =>
      index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)?.digest;
    const want = [
      { ref: 'umoci/test:t', digest: digestOfTag('t') },
      { ref: 'umoci/test:wasm', digest: digestOfTag('wasm') },
    ];
    const byRef = (a: { ref?: string }, b: { ref?: string }): number => String(a.ref).localeCompare(String(b.ref));
    expect([...loadedTar].sort(byRef)).toEqual(want);
    expect([...loadedDir].sort(byRef)).toEqual(want);

    for (const [from, store] of [
      ['layout tar', fromTar],
      ['layout directory', fromDir],
    ] as const) {
      for (const ref of ['umoci/test:t', 'umoci/test:wasm']) {
        const image = await store.get(ref);
        expect(image, `${ref} from the ${from}`).toBeDefined();
        expect((await store.layers(image as Image)).length).toBe(repacks + inserts);
        expect(await skiffTree(store, image as Image), `${ref} from the ${from}`).toEqual(expected);
      }
    }
    const wasm = (await fromTar.get('umoci/test:wasm')) as Image;
    expect(wasm.config.os).toBe('wasip1');
    expect(wasm.config.architecture).toBe('wasm');
    expect(wasm.config.config?.Entrypoint).toEqual(['/bin/binary', 'arg1']);
    expect(wasm.config.config?.WorkingDir).toBe('/etc');
  });

  // umoci 0.4.7 `repack`, when a non-empty directory became a file or a symlink, writes the
  // new entry and then whiteouts for the old children *beneath* it (`d2f`, `d2f/.wh.y`).
  // `umoci unpack` ignores those under a file (ENOTDIR) and applies those under a symlink
  // *through* it (it would delete `target/c`; here there is none, so the tree is the same
  // as dropping the marker). Such a marker cannot change the merged tree: the file or
  // symlink already hides everything that was below it. indexLayer (layer-import.ts)
  // refuses both layers today ("a parent of this entry … is not a directory / is a symlink
  // in this layer"), so these two tests fail until it drops such markers.
  it('loads a repack layer that replaced a non-empty directory by a file (whiteouts beneath the file)', async () => {
    const l = newLayout('umoci-dir-to-file');
    round(l, 't', (r) => {
      put(r, 'd2f/y', 'y\n');
      put(r, 'd2f/sub/z', 'z\n');
      put(r, 'other', 'o\n');
    });
    round(l, 't', (r) => {
      rmSync(join(r, 'd2f'), { recursive: true });
      put(r, 'd2f', 'now a file\n');
    });
    const m = manifestOf(l, 't');
    expect(tarShape(layerTar(l, m.layers[1] as Manifest['layers'][number])).names).toEqual(
      expect.arrayContaining(['d2f', 'd2f/.wh.y', 'd2f/.wh.sub']),
    );
    const expected = treeLines(diskTree(unpack(l, 't', join(scratch, 'umoci-d2f-unpacked'))), isRoot);
    expect(expected.some((e) => e.startsWith('/d2f file '))).toBe(true);

    const store = await ImageStore.open(new MemoryFiles());
    await store.load(new NodeFiles(l, { durable: false }), { baseName: 'umoci/d2f' });
    expect(await skiffTree(store, (await store.get('umoci/d2f:t')) as Image)).toEqual(expected);
  });

  it('loads a repack layer that replaced a non-empty directory by a symlink (whiteouts beneath the symlink)', async () => {
    const l = newLayout('umoci-dir-to-symlink');
    round(l, 't', (r) => {
      put(r, 'd2s/c/x', 'x\n');
      put(r, 'target/k', 'k\n');
    });
    round(l, 't', (r) => {
      rmSync(join(r, 'd2s'), { recursive: true });
      symlinkSync('target', join(r, 'd2s'));
    });
    const m = manifestOf(l, 't');
    expect(tarShape(layerTar(l, m.layers[1] as Manifest['layers'][number])).names).toEqual(expect.arrayContaining(['d2s', 'd2s/.wh.c']));
    const expected = treeLines(diskTree(unpack(l, 't', join(scratch, 'umoci-d2s-unpacked'))), isRoot);
    expect(expected.some((e) => e.startsWith('/d2s symlink'))).toBe(true);

    const store = await ImageStore.open(new MemoryFiles());
    await store.load(new NodeFiles(l, { durable: false }), { baseName: 'umoci/d2s' });
    expect(await skiffTree(store, (await store.get('umoci/d2s:t')) as Image)).toEqual(expected);
  });
});

// ---------------------------------------------------------------------------------------
// 2. skiff → skopeo and umoci

const mtime = new Date(1_700_000_000_000);
const enc = new TextEncoder();

function fileEntry(name: string, body: string | Uint8Array, mode = 0o644, uid = 0, gid = 0): TarEntry {
  const data = typeof body === 'string' ? enc.encode(body) : body;
  return { header: { name, type: 'file', size: data.length, mode, uid, gid, mtime, uname: '', gname: '' }, body: data };
}
function dirEntry(name: string, mode = 0o755): TarEntry {
  return { header: { name, type: 'directory', size: 0, mode, uid: 0, gid: 0, mtime, uname: '', gname: '' } };
}
function symlinkEntry(name: string, target: string): TarEntry {
  return { header: { name, type: 'symlink', size: 0, linkname: target, mode: 0o777, uid: 0, gid: 0, mtime, uname: '', gname: '' } };
}
function hardlinkEntry(name: string, target: string): TarEntry {
  return { header: { name, type: 'link', size: 0, linkname: target, mode: 0o644, uid: 0, gid: 0, mtime, uname: '', gname: '' } };
}

const wasmBytes = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...Array.from({ length: 600 }, (_, i) => (i * 7) & 0xff)]);

async function skiffLayers(): Promise<Uint8Array[]> {
  const base = await packTar([
    dirEntry('./', 0o755),
    dirEntry('app/'),
    fileEntry('app/main.wasm', wasmBytes, 0o755),
    dirEntry('etc/'),
    fileEntry('etc/conf', 'v=1\n'),
    fileEntry('etc/secret', 'shh\n', 0o600, 1000, 1000),
    dirEntry('bin/'),
    symlinkEntry('bin/run', '/app/main.wasm'),
    dirEntry('data/', 0o700),
    fileEntry('data/old', 'old\n'),
    dirEntry('data/sub/'),
    fileEntry('data/sub/x', 'x\n'),
    fileEntry('hard1', 'linked\n', 0o640),
    hardlinkEntry('app/hard2', 'hard1'),
    fileEntry('rm-me', 'bye\n'),
    dirEntry('tmp/', 0o1777),
  ]);
  const top = await packTar([
    fileEntry('.wh.rm-me', ''),
    dirEntry('data/', 0o750),
    fileEntry('data/.wh..wh..opq', ''),
    fileEntry('data/new', 'new\n'),
    fileEntry('etc/conf', 'v=2\n', 0o444),
    dirEntry('lib/'),
    symlinkEntry('lib/conf', '../etc/conf'),
    fileEntry('app/hard3', 'own\n', 0o4755),
  ]);
  return [base, top];
}

describe.skipIf(!hasUmoci || !hasSkopeo)('an image skiff saves passes skopeo and umoci', () => {
  // Familiar form: what skiff writes as org.opencontainers.image.ref.name, so what skopeo and umoci match.
  const ref = 'interop/wasm-app:v1';
  let store: ImageStore;
  let storeDir = '';
  let image: Image;
  let manifestBytes: Uint8Array;
  let expected: string[] = [];
  let ociTar = '';
  let dockerTar = '';

  beforeAll(async () => {
    storeDir = join(scratch, 'skiff-store');
    store = await ImageStore.open(new NodeFiles(storeDir, { durable: false }));
    const [base, top] = await skiffLayers();
    image = await store.put({
      config: {
        architecture: 'wasm',
        os: 'wasip1',
        config: { Entrypoint: ['/app/main.wasm'], Cmd: ['--serve'], Env: ['MODE=prod'], WorkingDir: '/app' },
      },
      layers: [{ tar: base as Uint8Array, gzip: true }, { tar: top as Uint8Array }],
      ref,
    });
    manifestBytes = await store.content.read(image.descriptor.digest);
    expected = await skiffTree(store, image);
    ociTar = join(scratch, 'skiff-oci.tar');
    dockerTar = join(scratch, 'skiff-docker.tar');
    writeFileSync(ociTar, await store.save([ref]));
    writeFileSync(dockerTar, await store.save([ref], { format: 'docker' }));
  });

  it("skiff's own tree is the one the layers describe", () => {
    // So that the comparisons below compare something: whiteout, opaque dir, links, modes.
    const owners = isRoot ? ' 0:0' : '';
    expect(expected).toEqual(
      [
        `/ dir 0755${owners}`,
        `/app/ dir 0755${owners}`,
        `/app/hard2 file 0640${owners} "linked\\n" =/app/hard2`,
        `/app/hard3 file 4755${owners} "own\\n"`,
        `/app/main.wasm file 0755${owners} ${describeContent(wasmBytes)}`,
        `/bin/ dir 0755${owners}`,
        `/bin/run symlink${owners} -> /app/main.wasm`,
        `/data/ dir 0750${owners}`,
        `/data/new file 0644${owners} "new\\n"`,
        `/etc/ dir 0755${owners}`,
        `/etc/conf file 0444${owners} "v=2\\n"`,
        `/etc/secret file 0600${isRoot ? ' 1000:1000' : ''} "shh\\n"`,
        `/hard1 file 0640${owners} "linked\\n" =/app/hard2`,
        `/lib/ dir 0755${owners}`,
        `/lib/conf symlink${owners} -> ../etc/conf`,
        `/tmp/ dir 1777${owners}`,
      ].sort(),
    );
  });

  it('skopeo inspects the OCI layout tar: digest, layers, platform, config, raw manifest bytes', () => {
    const info = runJSON<{ Digest: string; Layers: string[]; Os: string; Architecture: string }>('skopeo', ['inspect', `oci-archive:${ociTar}`]);
    expect(info.Digest).toBe(image.descriptor.digest);
    expect(info.Layers).toEqual(image.manifest.layers.map((l) => l.digest));
    expect(info.Os).toBe('wasip1');
    expect(info.Architecture).toBe('wasm');
    // By the name skiff wrote into the archive, too.
    expect(runJSON<{ Digest: string }>('skopeo', ['inspect', `oci-archive:${ociTar}:${ref}`]).Digest).toBe(image.descriptor.digest);

    expect(new Uint8Array(run('skopeo', ['inspect', '--raw', `oci-archive:${ociTar}`]))).toEqual(manifestBytes);
    const config = runJSON<{ os: string; architecture: string; config: { Entrypoint: string[] }; rootfs: { diff_ids: string[] } }>('skopeo', [
      'inspect',
      '--config',
      `oci-archive:${ociTar}`,
    ]);
    expect(config.os).toBe('wasip1');
    expect(config.architecture).toBe('wasm');
    expect(config.config.Entrypoint).toEqual(['/app/main.wasm']);
    expect(config.rootfs.diff_ids).toEqual(image.config.rootfs.diff_ids);
  });

  it('skopeo copies the OCI layout tar to a layout directory that loads back with the same digest, and umoci raw unpack gives skiff\'s tree', async () => {
    // With --preserve-digests every blob is copied as it is: same manifest, same digest.
    const dirLayout = join(scratch, 'skopeo-oci');
    run('skopeo', ['copy', '--preserve-digests', `oci-archive:${ociTar}`, `oci:${dirLayout}:copied`]);
    const back = await ImageStore.open(new MemoryFiles());
    const loaded = await back.load(new NodeFiles(dirLayout, { durable: false }), { baseName: 'back' });
    expect(loaded).toEqual([{ ref: 'back:copied', digest: image.descriptor.digest }]);
    expect(await skiffTree(back, (await back.get('back:copied')) as Image)).toEqual(expected);

    const rootfs = join(scratch, 'umoci-raw-unpacked');
    run('umoci', ['raw', 'unpack', ...rootless, '--image', `${dirLayout}:copied`, rootfs]);
    expect(treeLines(diskTree(rootfs), isRoot)).toEqual(expected);
  });

  it('a plain skopeo copy (which gzips the uncompressed layer) still loads back with the same config, diffIDs and tree', async () => {
    const dirLayout = join(scratch, 'skopeo-oci-plain');
    run('skopeo', ['copy', `oci-archive:${ociTar}`, `oci:${dirLayout}:copied`]);
    const back = await ImageStore.open(new MemoryFiles());
    await back.load(new NodeFiles(dirLayout, { durable: false }), { baseName: 'back' });
    const copied = (await back.get('back:copied')) as Image;
    expect(copied.manifest.layers.map((l) => l.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.tar+gzip',
      'application/vnd.oci.image.layer.v1.tar+gzip',
    ]);
    expect(copied.manifest.layers[0]?.digest).toBe(image.manifest.layers[0]?.digest);
    expect(copied.manifest.config.digest).toBe(image.manifest.config.digest);
    expect(await skiffTree(back, copied)).toEqual(expected);
  });

  it('skopeo reads the docker archive; its OCI copy loads into skiff with the same config and tree', async () => {
    // skopeo presents a docker archive's layers as uncompressed: by their diffIDs.
    const info = runJSON<{ Layers: string[]; Os: string; Architecture: string }>('skopeo', ['inspect', `docker-archive:${dockerTar}`]);
    expect(info.Os).toBe('wasip1');
    expect(info.Architecture).toBe('wasm');
    expect(info.Layers).toEqual(image.config.rootfs.diff_ids);

    const dirLayout = join(scratch, 'skopeo-from-docker');
    run('skopeo', ['copy', `docker-archive:${dockerTar}`, `oci:${dirLayout}:fromdocker`]);
    const back = await ImageStore.open(new MemoryFiles());
    await back.load(new NodeFiles(dirLayout, { durable: false }), { baseName: 'back' });
    const copied = (await back.get('back:fromdocker')) as Image;
    expect(copied).toBeDefined();
    expect(copied.manifest.config.digest).toBe(image.manifest.config.digest);
    expect(copied.config.rootfs.diff_ids).toEqual(image.config.rootfs.diff_ids);
    expect(await skiffTree(back, copied)).toEqual(expected);

    const rootfs = join(scratch, 'umoci-raw-unpacked-docker');
    run('umoci', ['raw', 'unpack', ...rootless, '--image', `${dirLayout}:fromdocker`, rootfs]);
    expect(treeLines(diskTree(rootfs), isRoot)).toEqual(expected);
  });

  it("skopeo inspects and copies from the image store's home directory, named by the familiar ref", () => {
    const info = runJSON<{ Digest: string; Os: string }>('skopeo', ['inspect', `oci:${storeDir}:${ref}`]);
    expect(info.Digest).toBe(image.descriptor.digest);
    expect(info.Os).toBe('wasip1');
    expect(new Uint8Array(run('skopeo', ['inspect', '--raw', `oci:${storeDir}:${ref}`]))).toEqual(manifestBytes);
    const out = join(scratch, 'skopeo-from-store');
    run('skopeo', ['copy', '--preserve-digests', `oci:${storeDir}:${ref}`, `oci-archive:${out}.tar`]);
    expect(runJSON<{ Digest: string }>('skopeo', ['inspect', `oci-archive:${out}.tar`]).Digest).toBe(image.descriptor.digest);
  });

  it("umoci lists and unpacks the image store's home directory, giving skiff's tree", () => {
    expect(run('umoci', ['ls', '--layout', storeDir]).toString('utf8').trim().split('\n')).toEqual([ref]);
    const rootfs = join(scratch, 'umoci-raw-unpacked-store');
    run('umoci', ['raw', 'unpack', ...rootless, '--image', `${storeDir}:${ref}`, rootfs]);
    expect(treeLines(diskTree(rootfs), isRoot)).toEqual(expected);
  });
});

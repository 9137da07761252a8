/**
 * The image commands end to end: the built `skiff` (dist/src/cli/main.js) runs as a child
 * process with `SKIFF_HOME` set to a fresh directory per test, on archives made here with
 * the library (`ImageStore.put` into memory, then `save`). A few behaviours that need a
 * terminal (refusing binary output, the progress bar) run `run()` in-process with fake IO.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { packTar, type TarEntry } from 'modern-tar';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { humanDuration, humanSize, table } from '../src/cli/format.js';
import type { IO } from '../src/cli/io.js';
import { run } from '../src/cli/program.js';
import type { Digest } from '../src/layers/digest.js';
import { MemoryFiles } from '../src/layers/files.js';
import { type Image, ImageStore } from '../src/layers/image-store.js';
import { readTar } from '../src/layers/tar.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(root, 'dist/src/cli/main.js');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

// ---------------------------------------------------------------------------------------
// Fixtures

const EPOCH = new Date(0);
const file = (name: string, body: string): TarEntry => ({ header: { name, type: 'file', size: enc(body).length, mode: 0o644, mtime: EPOCH }, body: enc(body) });
const LAYER1_MOTD = 'motd from layer one';

interface Fixture {
  dir: string;
  web: Image;
  unnamed: Image;
  /** web:1.0 as an OCI layout tar, and as a docker save archive. */
  ociTar: string;
  dockerTar: string;
  /** The unnamed image alone (saved by digest). */
  unnamedTar: string;
  /** web:1.0's archive with one byte of a layer blob changed. */
  corruptTar: string;
  /** web:1.0 as an OCI layout directory. */
  layoutDir: string;
  manifestJSON: unknown;
  configJSON: unknown;
}

let fx: Fixture;

async function makeFixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-cli-fx-'));
  const store = await ImageStore.open(new MemoryFiles());
  const layer1 = await packTar([
    { header: { name: 'etc/', type: 'directory', size: 0, mode: 0o755, mtime: EPOCH } },
    file('etc/motd', LAYER1_MOTD),
    file('app.wasm', '\0asm'),
    file('tmp/old', 'deleted by layer two'),
  ]);
  const layer2 = await packTar([file('etc/motd', 'motd from layer two'), file('tmp/.wh.old', '')]);
  const web = await store.put({
    ref: 'web:1.0',
    config: {
      architecture: 'wasm',
      os: 'wasip1',
      created: '2024-01-02T03:04:05Z',
      config: {
        Entrypoint: ['/app.wasm'],
        Cmd: ['--serve'],
        Env: ['A=1'],
        WorkingDir: '/srv',
        ExposedPorts: { '8080/tcp': {} },
        Volumes: { '/data': {} },
        Labels: { 'org.example.team': 'skiff' },
      },
      history: [
        { created: '2024-01-01T00:00:00Z', created_by: 'COPY app.wasm /' },
        { created: '2024-01-01T00:00:01Z', created_by: 'ENV A=1', empty_layer: true },
        { created: '2024-01-02T03:04:05Z', created_by: 'RUN a long command line that goes on well past forty-five characters', comment: 'the top' },
      ],
    },
    layers: [{ tar: layer1 }, { tar: layer2, gzip: true }],
  });
  const unnamed = await store.put({
    config: { architecture: 'wasm', os: 'wasip1', created: '2025-06-01T00:00:00Z' },
    layers: [{ tar: await packTar([file('only', 'unnamed')]) }],
  });
  const ociBytes = await store.save(['web:1.0']);
  const w = (name: string, bytes: Uint8Array): string => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  // A byte of layer one's blob (stored uncompressed) changed: the tar stays well-formed.
  const corrupt = ociBytes.slice();
  const at = Buffer.from(corrupt).indexOf(LAYER1_MOTD);
  expect(at).toBeGreaterThan(0);
  corrupt[at] = (corrupt[at] as number) ^ 0x20;
  const layoutDir = join(dir, 'layout');
  for (const e of readTar(ociBytes, 'fixture', { maxPathBytes: 4096 })) {
    if (e.type !== 'file') continue;
    mkdirSync(dirname(join(layoutDir, e.name)), { recursive: true });
    writeFileSync(join(layoutDir, e.name), ociBytes.subarray(e.dataOffset, e.dataOffset + e.size));
  }
  return {
    dir,
    web,
    unnamed,
    ociTar: w('web-oci.tar', ociBytes),
    dockerTar: w('web-docker.tar', await store.save(['web:1.0'], { format: 'docker' })),
    unnamedTar: w('unnamed.tar', await store.save([unnamed.descriptor.digest])),
    corruptTar: w('corrupt.tar', corrupt),
    layoutDir,
    manifestJSON: JSON.parse(dec(await store.content.read(web.descriptor.digest))),
    configJSON: JSON.parse(dec(await store.content.read(web.manifest.config.digest))),
  };
}

// ---------------------------------------------------------------------------------------
// Running the CLI

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout as bytes, for binary output. */
  bytes: Uint8Array;
}

let home: string;
let scratch: string;

function skiff(args: string[], opts: { home?: string; input?: Uint8Array; env?: Record<string, string> } = {}): Result {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: scratch,
    env: { ...process.env, SKIFF_HOME: opts.home ?? home, ...opts.env },
    input: opts.input ?? new Uint8Array(0),
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), bytes: new Uint8Array(r.stdout) };
}

/** `skiff …` that must succeed with nothing on stderr. */
function ok(args: string[], opts: Parameters<typeof skiff>[1] = {}): Result {
  return succeeded(skiff(args, opts));
}

function succeeded(r: Result): Result {
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r;
}

/** Several `skiff …` run concurrently (for commands that only read): results in order. */
function concurrently(commands: string[][]): Promise<Result[]> {
  const run1 = (args: string[]): Promise<Result> =>
    new Promise((done, fail) => {
      const child = spawn(process.execPath, [CLI, ...args], { cwd: scratch, env: { ...process.env, SKIFF_HOME: home } });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      child.on('error', fail);
      child.on('close', (status) => {
        const o = Buffer.concat(out);
        done({ status, stdout: o.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), bytes: new Uint8Array(o) });
      });
      child.stdin.end();
    });
  return Promise.all(commands.map(run1));
}

const id = (d: Digest): string => d.slice(7, 19);
const blobs = (h = home): string[] => (existsSync(join(h, 'images/blobs/sha256')) ? readdirSync(join(h, 'images/blobs/sha256')).sort() : []);
const hexOf = (d: Digest): string => d.slice(7);
/** Table rows as cells (columns are separated by 2+ spaces), header first. */
const rowsOf = (out: string): string[][] => out.trimEnd().split('\n').map((l) => l.split(/ {2,}/));

function tarEntries(bytes: Uint8Array): Map<string, { type: string; body: string }> {
  const out = new Map<string, { type: string; body: string }>();
  for (const e of readTar(bytes, 'output', { maxPathBytes: 4096 })) {
    out.set(e.name, { type: e.type, body: dec(bytes.subarray(e.dataOffset, e.dataOffset + e.size)) });
  }
  return out;
}

beforeAll(async () => {
  if (!existsSync(CLI)) {
    const b = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
    expect(b.status).toBe(0);
  }
  fx = await makeFixture();
});

afterAll(() => {
  rmSync(fx.dir, { recursive: true, force: true });
});

beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'skiff-cli-'));
  home = join(scratch, 'home');
  return () => rmSync(scratch, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------

describe('skiff (usage)', () => {
  it('prints help, per-command help and the version', async () => {
    const [help, bare, load, save, version] = (await concurrently([['--help'], [], ['load', '--help'], ['help', 'save'], ['--version']])).map(
      (r) => succeeded(r).stdout,
    );
    for (const c of ['images', 'load', 'save', 'rmi', 'tag', 'inspect', 'history', 'export']) expect(help).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(help).toContain('SKIFF_HOME');
    expect(help).toContain('~/.skiff');
    expect(bare).toBe(help); // no arguments: the same help, exit 0
    expect(load).toMatch(/-i, --input <path>/);
    expect(save).toMatch(/--format <format>/);
    expect(version).toBe(`skiff version ${pkg.version}\n`);
  });

  it('exits 2 for unknown commands, unknown options, missing arguments and bad option values', async () => {
    const cases: [string[], RegExp][] = [
      [['imagez'], /skiff: unknown command 'imagez'\n\(Did you mean images\?\)/],
      [['images', '--bogus'], /skiff: unknown option '--bogus'\nSee 'skiff images --help'/],
      [['rmi'], /missing required argument 'image'/],
      [['save', 'web', '--format', 'xml'], /argument 'xml' is invalid/],
      [['load', 'extra'], /too many arguments/],
    ];
    const results = await concurrently(cases.map(([args]) => args));
    for (const [i, [, message]] of cases.entries()) {
      const r = results[i] as Result;
      expect(r.stderr).toMatch(message);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
    }
    expect(existsSync(home)).toBe(false); // usage errors touch no state
  });
});

describe('skiff load / images / inspect / history', () => {
  it('loads an OCI layout tar and lists, inspects and shows the history of the image', async () => {
    const digest = fx.web.descriptor.digest;
    expect(ok(['load', '-i', fx.ociTar]).stdout).toBe('Loaded image: web:1.0\n');
    const args = ['web:1.0', id(digest), digest, hexOf(digest), id(digest).slice(0, 4)];
    const [images, quiet, quietFull, digests, json, byRepo, byTag, other, inspected, missing, history, historyFull] = await concurrently([
      ['images'],
      ['images', '-q'],
      ['images', '-q', '--no-trunc'],
      ['images', '--digests'],
      ['images', '--format', 'json'],
      ['images', 'web'],
      ['images', 'web:2'],
      ['images', 'other'],
      ['inspect', ...args],
      ['inspect', 'web:1.0', 'nope'],
      ['history', 'web:1.0'],
      ['history', '--no-trunc', id(digest)],
    ]) as [Result, Result, Result, Result, Result, Result, Result, Result, Result, Result, Result, Result];

    // images: a docker-like table
    const rows = rowsOf(succeeded(images).stdout);
    expect(rows[0]).toEqual(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']);
    expect(rows).toHaveLength(2);
    const [repo, tag, imageId, created, size] = rows[1] as string[];
    expect([repo, tag, imageId]).toEqual(['web', '1.0', id(digest)]);
    expect(created).toMatch(/^\d+ (months|years) ago$/);
    const layerBytes = fx.web.manifest.layers.reduce((n, l) => n + l.size, 0);
    expect(size).toBe(humanSize(layerBytes));
    expect(succeeded(quiet).stdout).toBe(`${id(digest)}\n`);
    expect(succeeded(quietFull).stdout).toBe(`${digest}\n`);
    expect(rowsOf(succeeded(digests).stdout)[1]?.slice(0, 4)).toEqual(['web', '1.0', digest, id(digest)]);
    const lines = succeeded(json).stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(lines).toEqual([expect.objectContaining({ ID: id(digest), Repository: 'web', Tag: '1.0', Digest: digest, CreatedAt: '2024-01-02T03:04:05Z' })]);
    expect(rowsOf(succeeded(byRepo).stdout)[1]?.[2]).toBe(id(digest));
    expect(rowsOf(succeeded(byTag).stdout)).toHaveLength(1); // header only
    expect(rowsOf(succeeded(other).stdout)).toHaveLength(1);

    // inspect: docker's keys plus the stored OCI documents
    const infos = JSON.parse(succeeded(inspected).stdout) as Record<string, unknown>[];
    expect(infos).toHaveLength(args.length);
    for (const info of infos) {
      expect(info).toMatchObject({
        Id: digest,
        RepoTags: ['web:1.0'],
        RepoDigests: [`web@${digest}`],
        Created: '2024-01-02T03:04:05Z',
        Architecture: 'wasm',
        Os: 'wasip1',
        Size: layerBytes,
        Config: {
          Entrypoint: ['/app.wasm'],
          Cmd: ['--serve'],
          Env: ['A=1'],
          WorkingDir: '/srv',
          ExposedPorts: { '8080/tcp': {} },
          Volumes: { '/data': {} },
          Labels: { 'org.example.team': 'skiff' },
        },
        RootFS: { Type: 'layers', Layers: fx.web.config.rootfs.diff_ids },
        Descriptor: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: fx.web.descriptor.size },
      });
      expect(info?.Manifest).toEqual(fx.manifestJSON);
      expect(info?.ImageConfig).toEqual(fx.configJSON);
    }
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('skiff: no such container, image or volume: nope\n');
    expect((JSON.parse(missing.stdout) as { Id: string }[]).map((i) => i.Id)).toEqual([digest]);

    // history: newest first, the layer sizes against the non-empty entries
    const [l1, l2] = fx.web.manifest.layers;
    const hist = rowsOf(succeeded(history).stdout);
    expect(hist[0]).toEqual(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT']);
    expect(hist.slice(1).map((r) => [r[0], r[2], r[3], r[4]])).toEqual([
      [id(digest), 'RUN a long command line that goes on well pa…', humanSize(l2?.size ?? -1), 'the top'],
      ['<missing>', 'ENV A=1', '0B', undefined],
      ['<missing>', 'COPY app.wasm /', humanSize(l1?.size ?? -1), undefined],
    ]);
    const full = succeeded(historyFull).stdout;
    expect(full).toContain(digest);
    expect(full).toContain('RUN a long command line that goes on well past forty-five characters');
  });

  it('keeps images in $SKIFF_HOME/images, an OCI layout, across invocations (~/.skiff by default)', () => {
    ok(['load', '-i', fx.ociTar]);
    expect(JSON.parse(readFileSync(join(home, 'images/oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(readFileSync(join(home, 'images/index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests.map((m) => m.digest)).toEqual([fx.web.descriptor.digest]);
    expect(blobs()).toContain(hexOf(fx.web.descriptor.digest));
    expect(ok(['images', '-q']).stdout).toBe(`${id(fx.web.descriptor.digest)}\n`); // a new process reads it back

    const userHome = join(scratch, 'user');
    const env = { SKIFF_HOME: '', HOME: userHome };
    ok(['load', '-i', fx.ociTar], { env });
    expect(existsSync(join(userHome, '.skiff/images/index.json'))).toBe(true);
    expect(ok(['images', '-q'], { env }).stdout).toBe(`${id(fx.web.descriptor.digest)}\n`);
  });

  it('loads docker save archives, OCI layout directories, gzipped tars and stdin, and unnamed images by ID', () => {
    expect(ok(['load', '--input', fx.dockerTar]).stdout).toBe('Loaded image: web:1.0\n');
    expect(ok(['images', '-q', '--no-trunc']).stdout).toBe(`${fx.web.descriptor.digest}\n`);

    const h2 = join(scratch, 'h2');
    expect(ok(['load', '-i', fx.layoutDir], { home: h2 }).stdout).toBe('Loaded image: web:1.0\n');
    expect(ok(['images', '-q', '--no-trunc'], { home: h2 }).stdout).toBe(`${fx.web.descriptor.digest}\n`);

    const h3 = join(scratch, 'h3');
    const gz = join(scratch, 'web.tar.gz');
    writeFileSync(gz, gzipSync(readFileSync(fx.ociTar)));
    expect(ok(['load', '-q', '-i', gz], { home: h3 }).stdout).toBe('Loaded image: web:1.0\n');

    const h4 = join(scratch, 'h4');
    expect(ok(['load'], { home: h4, input: readFileSync(fx.unnamedTar) }).stdout).toBe(`Loaded image ID: ${fx.unnamed.descriptor.digest}\n`);
    expect(rowsOf(ok(['images'], { home: h4 }).stdout)[1]?.slice(0, 3)).toEqual(['<none>', '<none>', id(fx.unnamed.descriptor.digest)]);
    const empty = skiff(['load'], { home: join(scratch, 'h5') });
    expect(empty.status).toBe(1);
    expect(empty.stderr).toBe('skiff: load: stdin is empty: give -i FILE, or redirect an archive to stdin\n');
  });

  it('still lists an image it cannot read, with CREATED and SIZE N/A; inspect then names the problem', () => {
    ok(['load', '-i', fx.ociTar]);
    rmSync(join(home, 'images/blobs/sha256', hexOf(fx.web.manifest.config.digest)));
    expect(rowsOf(ok(['images']).stdout)[1]).toEqual(['web', '1.0', id(fx.web.descriptor.digest), 'N/A', 'N/A']);
    const r = skiff(['inspect', 'web:1.0']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`skiff: image store: config ${fx.web.manifest.config.digest}: blob is missing\n`);
  });
});

describe('skiff load (bad input)', () => {
  it('refuses a corrupt archive with a message naming the problem, and changes nothing', () => {
    ok(['load', '-i', fx.unnamedTar]);
    const before = { images: ok(['images']).stdout, blobs: blobs(), index: readFileSync(join(home, 'images/index.json')) };

    const r = skiff(['load', '-i', fx.corruptTar]);
    expect(r.status).toBe(1);
    const layer1 = fx.web.manifest.layers[0]?.digest as string;
    expect(r.stderr).toMatch(new RegExp(`^skiff: ${fx.corruptTar}: archive: layer ${layer1}: expected ${layer1}, got sha256:[0-9a-f]{64}\n$`));
    expect(r.stdout).toBe('');

    const garbage = join(scratch, 'garbage.tar');
    writeFileSync(garbage, 'this is not a tar archive at all');
    const g = skiff(['load', '-i', garbage]);
    expect(g.status).toBe(1);
    expect(g.stderr).toMatch(/^skiff: .*garbage\.tar: archive: is not a valid tar archive/);

    const m = skiff(['load', '-i', join(scratch, 'missing.tar')]);
    expect(m.status).toBe(1);
    expect(m.stderr).toBe(`skiff: ${join(scratch, 'missing.tar')}: no such file or directory\n`);

    expect(ok(['images']).stdout).toBe(before.images);
    expect(blobs()).toEqual(before.blobs);
    expect(readFileSync(join(home, 'images/index.json'))).toEqual(before.index);
  });
});

describe('skiff save', () => {
  it('saves an OCI layout tar that loads into another SKIFF_HOME with the same digest (file, and stdout to stdin)', () => {
    ok(['load', '-i', fx.ociTar]);
    expect(ok(['save', '-o', 'out.tar', 'web:1.0']).stdout).toBe(''); // relative to the working directory
    const saved = new Uint8Array(readFileSync(join(scratch, 'out.tar')));
    const entries = tarEntries(saved);
    expect(entries.has('oci-layout')).toBe(true);
    const index = JSON.parse(entries.get('index.json')?.body ?? 'null') as { manifests: { digest: string; annotations: Record<string, string> }[] };
    expect(index.manifests).toEqual([
      expect.objectContaining({ digest: fx.web.descriptor.digest, annotations: expect.objectContaining({ 'io.containerd.image.name': 'docker.io/library/web:1.0' }) }),
    ]);
    for (const l of fx.web.manifest.layers) expect(entries.has(`blobs/sha256/${hexOf(l.digest)}`)).toBe(true);

    const other = join(scratch, 'other');
    expect(ok(['load', '-i', join(scratch, 'out.tar')], { home: other }).stdout).toBe('Loaded image: web:1.0\n');
    expect(ok(['images', '-q', '--no-trunc'], { home: other }).stdout).toBe(`${fx.web.descriptor.digest}\n`);

    // To stdout (a pipe here), and back in through stdin.
    expect(ok(['save', 'web:1.0']).bytes).toEqual(saved);
    const third = join(scratch, 'third');
    expect(ok(['load'], { home: third, input: saved }).stdout).toBe('Loaded image: web:1.0\n');
    expect(ok(['images', '-q', '--no-trunc'], { home: third }).stdout).toBe(`${fx.web.descriptor.digest}\n`);

    const missing = skiff(['save', '-o', 'x.tar', 'web:1.0', 'nope']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('skiff: no such image: nope\n');
    expect(existsSync(join(scratch, 'x.tar'))).toBe(false);
  });

  it('saves a docker save archive with --format docker, which loads back with the same digest', () => {
    ok(['load', '-i', fx.ociTar]);
    ok(['save', '--format', 'docker', '-o', 'd.tar', id(fx.web.descriptor.digest), 'web:1.0']);
    const entries = tarEntries(new Uint8Array(readFileSync(join(scratch, 'd.tar'))));
    expect(entries.has('index.json')).toBe(false);
    const manifest = JSON.parse(entries.get('manifest.json')?.body ?? 'null') as { Config: string; RepoTags: string[]; Layers: string[] }[];
    expect(manifest).toEqual([
      {
        Config: `blobs/sha256/${hexOf(fx.web.manifest.config.digest)}`,
        RepoTags: ['web:1.0'],
        Layers: fx.web.manifest.layers.map((l) => `blobs/sha256/${hexOf(l.digest)}`),
      },
    ]);
    const other = join(scratch, 'other');
    expect(ok(['load', '-i', join(scratch, 'd.tar')], { home: other }).stdout).toBe('Loaded image: web:1.0\n');
    expect(ok(['images', '-q', '--no-trunc'], { home: other }).stdout).toBe(`${fx.web.descriptor.digest}\n`);
  });
});

describe('skiff export', () => {
  it("writes the image's merged tree as one tar: upper files win, whiteouts hide, no whiteout entries", () => {
    ok(['load', '-i', fx.ociTar]);
    ok(['export', 'web:1.0', '-o', 'rootfs.tar']);
    const bytes = new Uint8Array(readFileSync(join(scratch, 'rootfs.tar')));
    const entries = tarEntries(bytes);
    expect([...entries.keys()].sort()).toEqual(['app.wasm', 'etc/', 'etc/motd', 'tmp/']);
    expect(entries.get('etc/motd')).toEqual({ type: 'file', body: 'motd from layer two' });
    expect(entries.get('app.wasm')).toEqual({ type: 'file', body: '\0asm' });
    expect(ok(['export', id(fx.web.descriptor.digest)]).bytes).toEqual(bytes); // to stdout
    const r = skiff(['export', 'nope', '-o', 'x.tar']);
    expect([r.status, r.stderr]).toEqual([1, 'skiff: no such image: nope\n']);
  });
});

describe('skiff tag / rmi', () => {
  it('tags, untags, refuses to remove by ID an image of several repositories without -f, and sweeps blobs', () => {
    const digest = fx.web.descriptor.digest;
    ok(['load', '-i', fx.ociTar]);
    const loaded = blobs();
    expect(loaded).toHaveLength(4); // manifest, config, two layers
    expect(ok(['tag', 'web:1.0', 'other:2']).stdout).toBe('');
    expect(rowsOf(ok(['images']).stdout).slice(1).map((r) => r.slice(0, 3))).toEqual([
      ['web', '1.0', id(digest)],
      ['other', '2', id(digest)],
    ]);
    const badTag = skiff(['tag', 'nope', 'x:1']);
    expect([badTag.status, badTag.stderr]).toEqual([1, 'skiff: no such image: nope\n']);

    // By ref: only that ref goes; the image stays for web:1.0.
    expect(ok(['rmi', 'other:2']).stdout).toBe('Untagged: other:2\n');
    expect(blobs()).toEqual(loaded);

    // By ID with refs in two repositories: refused, then forced.
    ok(['tag', 'web:1.0', 'other:2']);
    const refused = skiff(['rmi', id(digest)]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/must be forced/);
    expect(blobs()).toEqual(loaded);
    const forced = ok(['rmi', '-f', id(digest)]).stdout.trimEnd().split('\n');
    expect(forced.slice(0, 3)).toEqual(['Untagged: web:1.0', 'Untagged: other:2', `Deleted: ${digest}`]);
    expect(forced.slice(3).sort()).toEqual(loaded.filter((h) => h !== hexOf(digest)).map((h) => `Deleted: sha256:${h}`));
    expect(blobs()).toEqual([]);
    expect(rowsOf(ok(['images']).stdout)).toHaveLength(1);
  });

  it('reports an unknown image, goes on with the others, and exits 1', () => {
    ok(['load', '-i', fx.ociTar]);
    ok(['load', '-i', fx.unnamedTar]);
    const r = skiff(['rmi', 'nope', 'web:1.0']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('skiff: no such image: nope\n');
    expect(r.stdout).toMatch(new RegExp(`^Untagged: web:1.0\nDeleted: ${fx.web.descriptor.digest}\n`));
    // web's blobs are gone; the unnamed image's remain.
    expect(blobs()).not.toContain(hexOf(fx.web.descriptor.digest));
    expect(blobs()).toContain(hexOf(fx.unnamed.descriptor.digest));
    expect(ok(['images', '-q', '--no-trunc']).stdout).toBe(`${fx.unnamed.descriptor.digest}\n`);
  });
});

// ---------------------------------------------------------------------------------------
// In-process: behaviours that need a terminal

interface FakeIO extends IO {
  readonly out: () => string;
  readonly err: () => string;
}

function fakeIO(opts: { stdoutTTY?: boolean; stderrTTY?: boolean; stdinTTY?: boolean }): FakeIO {
  const out: string[] = [];
  const err: string[] = [];
  const text = (d: string | Uint8Array): string => (typeof d === 'string' ? d : `<${d.length} bytes>`);
  return {
    stdin: { isTTY: opts.stdinTTY ?? false, readAll: async () => new Uint8Array(0) },
    stdout: { isTTY: opts.stdoutTTY ?? false, columns: 100, write: async (d) => void out.push(text(d)) },
    stderr: { isTTY: opts.stderrTTY ?? false, columns: 100, write: async (d) => void err.push(text(d)) },
    env: { SKIFF_HOME: home },
    cwd: scratch,
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

describe('skiff (terminals)', () => {
  const info = { version: 'test' };

  it('draws a progress bar on a terminal stderr, none with -q', async () => {
    const io = fakeIO({ stderrTTY: true });
    expect(await run(['load', '-i', fx.ociTar], io, info)).toBe(0);
    expect(io.out()).toBe('Loaded image: web:1.0\n');
    expect(io.err()).toMatch(/Verifying \[[=-]+\] [\d.]+k?B\/[\d.]+k?B/);
    expect(io.err()).toMatch(/Writing/);

    const quiet = fakeIO({ stderrTTY: true });
    expect(await run(['load', '-q', '-i', fx.ociTar], quiet, info)).toBe(0);
    expect(quiet.out()).toBe('Loaded image: web:1.0\n');
    expect(quiet.err()).toBe('');
  });

  it('refuses to write a tar to a terminal, and to read one from a terminal', async () => {
    ok(['load', '-i', fx.ociTar]);
    for (const args of [['save', 'web:1.0'], ['export', 'web:1.0']]) {
      const io = fakeIO({ stdoutTTY: true });
      expect(await run(args, io, info)).toBe(1);
      expect(io.err()).toMatch(/^skiff: (save|export): cowardly refusing to write a tar archive to a terminal: use -o FILE or redirect stdout\n$/);
      expect(io.out()).toBe('');
    }
    const io = fakeIO({ stdoutTTY: true });
    expect(await run(['save', '-o', 'ok.tar', 'web:1.0'], io, info)).toBe(0);
    expect(existsSync(join(scratch, 'ok.tar'))).toBe(true);

    const tty = fakeIO({ stdinTTY: true });
    expect(await run(['load'], tty, info)).toBe(1);
    expect(tty.err()).toMatch(/^skiff: load: no input: give -i FILE/);
  });
});

describe('formats', () => {
  it('sizes, durations and tables as docker prints them', () => {
    expect([0, 999, 1000, 1234, 999_999, 45_600_000, 1.5e9].map(humanSize)).toEqual(['0B', '999B', '1kB', '1.23kB', '1MB', '45.6MB', '1.5GB']);
    const s = 1000;
    const h = 3600 * s;
    expect([500, 1 * s, 59 * s, 60 * s, 59 * 60 * s, h, 47 * h, 13 * 24 * h, 8 * 7 * 24 * h, 700 * 24 * h, 3 * 365 * 24 * h].map(humanDuration)).toEqual([
      'Less than a second',
      '1 second',
      '59 seconds',
      'About a minute',
      '59 minutes',
      'About an hour',
      '47 hours',
      '13 days',
      '8 weeks',
      '23 months',
      '3 years',
    ]);
    expect(table(['A', 'LONGER HEADER', 'C'], [['x', 'y', ''], ['a-rather-long-cell', 'z', 'last']])).toBe(
      'A                    LONGER HEADER   C\n' + 'x                    y\n' + 'a-rather-long-cell   z               last\n',
    );
  });
});

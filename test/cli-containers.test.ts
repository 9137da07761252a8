/**
 * The container commands end to end: `skiff run` (images and bare FILE.wasm), `ps`,
 * `logs`, `diff`, `commit`, `stop`, `rm`, `inspect` and `volume …`. Most invocations run
 * `run()` in-process with fake IO, each with a runtime of its own, so what one leaves in
 * $SKIFF_HOME is all the next one sees, as across processes; signals and a stop from
 * another process use the built CLI (dist/src/cli/main.js) as a child process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IO, Signal } from '../src/cli/io.js';
import { run } from '../src/cli/program.js';
import { createImage } from '../src/layers/build.js';
import { MemoryFiles } from '../src/layers/files.js';
import { ImageStore } from '../src/layers/image-store.js';
import { readTar } from '../src/layers/tar.js';
import { I32, I64, assemble, op, touchModule } from './helpers/wasm.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(root, 'dist/src/cli/main.js');
const guest = (name: string): Promise<Uint8Array> => readFile(join(root, 'guests/wasm', `${name}.wasm`));
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

const scratch = mkdtempSync(join(tmpdir(), 'skiff-cli-containers-'));
const home = join(scratch, 'home');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------
// Guests made here

/** Unlinks `etc/motd` and creates `etc/added` (both from the root preopen, fd 3), then exits 0: one of each docker diff kind. */
function editModule(): Uint8Array<ArrayBuffer> {
  return assemble({
    types: [[[I32, I32, I32], [I32]], [[I32, I32, I32, I32, I32, I64, I64, I32, I32], [I32]], [[], []]],
    imports: [['path_unlink_file', 0], ['path_open', 1]],
    memory: { min: 1 },
    data: [[16, 'etc/motd'], [32, 'etc/added']],
    funcs: [
      {
        type: 2,
        body: [
          op.i32(3), op.i32(16), op.i32(8), op.call(0), op.drop,
          op.i32(3), op.i32(0), op.i32(32), op.i32(9), op.i32(1 | 4), op.i64(0), op.i64(0x40), op.i32(0), op.i32(8), op.call(1), op.drop,
        ],
      },
    ],
  });
}

/** Copies up to 4 KiB of stdin to stdout (one fd_read, one fd_write). */
function catModule(): Uint8Array<ArrayBuffer> {
  const IOV = [[I32, I32, I32, I32], [I32]] as [number[], number[]];
  return assemble({
    types: [IOV, IOV, [[], []]],
    imports: [['fd_read', 0], ['fd_write', 1]],
    memory: { min: 1 },
    funcs: [
      {
        type: 2,
        body: [
          op.i32(0), op.i32(1024), op.i32Store, op.i32(4), op.i32(4096), op.i32Store,
          op.i32(0), op.i32(0), op.i32(1), op.i32(8), op.call(0), op.drop,
          // iov.len = bytes read
          op.i32(4), op.i32(8), [0x28, 0x02, 0x00], op.i32Store,
          op.i32(1), op.i32(0), op.i32(1), op.i32(12), op.call(1), op.drop,
        ],
      },
    ],
  });
}

// ---------------------------------------------------------------------------------------
// Running the CLI

interface Result {
  status: number;
  stdout: string;
  stderr: string;
  bytes: Uint8Array;
}

interface Invocation {
  /** Resolves when the command is done. */
  readonly done: Promise<Result>;
  readonly stdout: () => string;
  /** Delivers a signal as main.ts would (SIGINT/SIGTERM while `run` catches them). */
  readonly signal: (s: Signal) => void;
}

function start(args: string[], options: { stdin?: string } = {}): Invocation {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const bytes = (d: string | Uint8Array): Uint8Array => (typeof d === 'string' ? new TextEncoder().encode(d) : d.slice());
  let handler: ((s: Signal) => void) | undefined;
  const io: IO = {
    stdin: { isTTY: false, readAll: async () => new TextEncoder().encode(options.stdin ?? '') },
    stdout: { isTTY: false, write: async (d) => void out.push(bytes(d)) },
    stderr: { isTTY: false, write: async (d) => void err.push(bytes(d)) },
    env: { SKIFF_HOME: home, FROM_HOST: 'host value' },
    cwd: scratch,
    onSignal: (h) => {
      handler = h;
      return () => (handler = undefined);
    },
  };
  const joined = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
  const done = run(args, io, { version: 'test' }).then((status) => {
    const o = joined(out);
    return { status, stdout: dec(o), stderr: dec(joined(err)), bytes: o };
  });
  return { done, stdout: () => dec(joined(out)), signal: (s) => handler?.(s) };
}

const skiff = (args: string[], options: { stdin?: string } = {}): Promise<Result> => start(args, options).done;

/** `skiff …` that must succeed with nothing on stderr. */
async function ok(args: string[]): Promise<Result> {
  const r = await skiff(args);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r;
}

/** The built CLI as a child process; resolves when `text` appears on its stdout. */
function child(args: string[], text: string): { exited: Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string }>; printed: Promise<void>; kill: (s: NodeJS.Signals) => void } {
  const p = spawn(process.execPath, [CLI, ...args], { cwd: scratch, env: { ...process.env, SKIFF_HOME: home } });
  let out = '';
  let err = '';
  const printed = new Promise<void>((resolve, reject) => {
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes(text)) resolve();
    });
    p.on('close', () => reject(new Error(`exited before printing ${JSON.stringify(text)}: ${out}${err}`)));
  });
  printed.catch(() => undefined);
  p.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => p.on('close', (status, signal) => resolve({ status, signal, stderr: err })));
  return { exited, printed, kill: (s) => p.kill(s) };
}

const until = async (what: () => boolean, ms = 10_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

const rowsOf = (out: string): string[][] => out.trimEnd().split('\n').map((l) => l.split(/ {2,}/));

beforeAll(async () => {
  const store = await ImageStore.open(new MemoryFiles());
  await createImage(store, {
    ref: 'tools:1',
    layers: [
      {
        'hello.wasm': await guest('hello'),
        'spin.wasm': await guest('spin'),
        'membomb.wasm': await guest('membomb'),
        'edit.wasm': editModule(),
        'touch.wasm': touchModule('data/touched'),
        'cat.wasm': catModule(),
        'files.wasm': await guest('files'),
        'etc/motd': 'from the image',
      },
    ],
    config: { Entrypoint: ['/hello.wasm'], Cmd: ['0'], Env: ['FROM_IMAGE=1'] },
  });
  writeFileSync(join(scratch, 'tools.tar'), await store.save(['tools:1']));
  expect((await ok(['load', '-q', '-i', 'tools.tar'])).stdout).toBe('Loaded image: tools:1\n');
});

// ---------------------------------------------------------------------------------------

describe('skiff run IMAGE', () => {
  it("exits with the guest's code and streams its output; options after IMAGE are the guest's", async () => {
    const r = await skiff(['run', '--rm', 'tools:1', '3', '-v', '--rm']);
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('arg[0]=/hello.wasm\narg[1]=3\narg[2]=-v\narg[3]=--rm\nenv FROM_IMAGE=1\ncwd=/\n');
    expect(r.stderr).toBe('');
  });

  it('sets the environment (-e, --env-file, a bare KEY from skiff\'s), the working directory and the entrypoint', async () => {
    writeFileSync(join(scratch, 'vars.env'), '# comment\n\nFILE_VAR=from file\nFROM_IMAGE=overridden\nFROM_HOST\n');
    const r = await ok(['run', '--rm', '--env-file', 'vars.env', '-e', 'A=1', '-e', 'FILE_VAR=from -e', '-w', '/srv/app', 'tools:1']);
    expect(r.stdout).toBe(
      ['arg[0]=/hello.wasm', 'arg[1]=0', 'env FROM_IMAGE=overridden', 'env FILE_VAR=from -e', 'env FROM_HOST=host value', 'env A=1', 'env PWD=/srv/app', 'cwd=/', ''].join('\n'),
    );
    // --entrypoint replaces the image's Entrypoint and drops its Cmd; ARGs follow it.
    const e = await skiff(['run', '--rm', '--entrypoint', '/membomb.wasm', 'tools:1', 'nonsense']);
    expect([e.status, e.stderr]).toEqual([2, 'membomb: bad STEP_PAGES "nonsense"\n']);
    // -i gives the guest our stdin.
    expect((await skiff(['run', '--rm', '-i', '--entrypoint', '/cat.wasm', 'tools:1'], { stdin: 'piped in\n' })).stdout).toBe('piped in\n');
    expect((await skiff(['run', '--rm', '--entrypoint', '/cat.wasm', 'tools:1'], { stdin: 'not given\n' })).stdout).toBe('');
  });

  it("exits 125 for skiff's own errors, 127 when the entrypoint is not in the image", async () => {
    const cases: [string[], number, RegExp][] = [
      [['run', 'nope'], 125, /^skiff: no such image: nope: load it first/],
      [['run', '--memory', 'lots', 'tools:1'], 125, /invalid size "lots"/],
      [['run', '--timeout', 'soon', 'tools:1'], 125, /invalid duration "soon"/],
      [['run', '--bogus', 'tools:1'], 125, /unknown option '--bogus'/],
      [['run', '-d', 'tools:1'], 125, /^skiff: run -d: detached containers come with the skiff daemon/],
      [['run', '-v', 'not a volume:/x', 'tools:1'], 125, /invalid volume "not a volume:\/x"/],
      [['run', '--dir', '.', 'tools:1'], 125, /--dir grants a host directory to a bare module/],
      [['run', '--entrypoint', '/missing.wasm', 'tools:1'], 127, /"\/missing.wasm" is not a file in the image/],
    ];
    for (const [args, status, message] of cases) {
      const r = await skiff(args);
      expect(r.stderr).toMatch(message);
      expect(r.status, args.join(' ')).toBe(status);
    }
    const named = await skiff(['run', '--name', 'taken', 'tools:1']);
    expect(named.status).toBe(0);
    const again = await skiff(['run', '--name', 'taken', 'tools:1']);
    expect(again.status).toBe(125);
    expect(again.stderr).toMatch(/^skiff: the container name "taken" is already in use by container [0-9a-f]{12}: remove that container/);
    await ok(['rm', 'taken']);
  });

  it('-p publishes a container port on a loopback port: the web example serves through it', async () => {
    const built = spawnSync(process.execPath, [join(root, 'dist/examples/apps/web/build.js'), join(scratch, 'web.tar')], { encoding: 'utf8' });
    expect(built.status).toBe(0);
    await ok(['load', '-q', '-i', 'web.tar']);
    const web = start(['run', '--rm', '--name', 'web', '-p', '127.0.0.1::80', 'web:latest']);
    await until(() => web.stdout().includes('listening on fd 3'));
    const row = rowsOf((await ok(['ps'])).stdout)[1] as string[];
    const published = /^127\.0\.0\.1:(\d+)->80\/tcp$/.exec(row[5] as string);
    expect(published, row.join(' | ')).not.toBeNull();
    const [info] = JSON.parse((await ok(['inspect', 'web'])).stdout) as { NetworkSettings: unknown; HostConfig: { PortBindings: unknown } }[];
    expect(info?.NetworkSettings).toEqual({ Ports: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: published?.[1] }] } });
    expect(info?.HostConfig.PortBindings).toEqual({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
    const response = await fetch(`http://127.0.0.1:${published?.[1] as string}/`);
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/<html/i);
    expect((await ok(['stop', 'web'])).stdout).toBe('web\n');
    expect((await web.done).status).toBe(137);
    const bad = await skiff(['run', '--rm', '-p', '0.0.0.0:8080:80', 'tools:1']);
    expect(bad.status).toBe(125);
    expect(bad.stderr).toMatch(/^skiff: -p 0\.0\.0\.0:8080:80: invalid port mapping .*not a loopback address/);
    await ok(['rmi', 'web:latest']);
  });

  it('--memory: membomb sees memory.grow refused at the limit (exit 0); --abort traps there: 137, OOMKilled', async () => {
    const r = await ok(['run', '--rm', '--memory', '16m', '--entrypoint', '/membomb.wasm', 'tools:1']);
    expect(r.stdout).toMatch(/grown to 8 MiB\n[\s\S]*refused at 1[56] MiB\n$/);
    const oom = await skiff(['run', '--name', 'oom', '-m', '16m', '--entrypoint', '/membomb.wasm', 'tools:1', '--abort']);
    expect(oom.status).toBe(137);
    expect(oom.stderr).toMatch(/memory allocation of \d+ bytes failed\n[\s\S]*trap at the memory limit/);
    const [info] = JSON.parse((await ok(['inspect', 'oom'])).stdout) as { State: { ExitCode: number; OOMKilled: boolean; Reason: string } }[];
    expect(info?.State).toMatchObject({ ExitCode: 137, OOMKilled: true, Reason: 'OOMKilled' });
    await ok(['rm', 'oom']);
  });

  it('--timeout ends a spinning guest: 137, DeadlineExceeded', async () => {
    const t0 = Date.now();
    const r = await skiff(['run', '--name', 'late', '--timeout', '300ms', '--entrypoint', '/spin.wasm', 'tools:1']);
    expect(r.status).toBe(137);
    expect(r.stdout).toBe('spinning\n');
    expect(Date.now() - t0).toBeLessThan(5000);
    const [info] = JSON.parse((await ok(['inspect', '--type', 'container', 'late'])).stdout) as { State: { Reason: string }; HostConfig: { Timeout: number } }[];
    expect(info?.State.Reason).toBe('DeadlineExceeded');
    expect(info?.HostConfig.Timeout).toBe(300);
    await ok(['rm', 'late']);
  });

  it('streams output while the guest runs; a signal stops it (137), as `skiff stop` does', async () => {
    const spin = start(['run', '--name', 'spinner', '--entrypoint', '/spin.wasm', 'tools:1']);
    await until(() => spin.stdout() === 'spinning\n');
    const ps = rowsOf((await ok(['ps'])).stdout);
    expect(ps[0]).toEqual(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']);
    expect(ps.slice(1).map((r) => [r[1], r[2], r[4]?.replace(/\d+ seconds?|Less than a second/, 'T'), r.at(-1)])).toEqual([['tools:1', '"/spin.wasm"', 'Up T', 'spinner']]);
    spin.signal('SIGINT');
    expect((await spin.done).status).toBe(137);
    expect((await ok(['ps', '-a'])).stdout).toMatch(/Exited \(137\) (Less than a second|\d+ seconds?) ago +spinner\n/);
    expect((await ok(['ps'])).stdout.trimEnd().split('\n')).toHaveLength(1);

    // The same container, stopped by another invocation (`stop` in this process; --rm removes it after).
    const again = start(['run', '--rm', '--name', 'stopped', '--entrypoint', '/spin.wasm', 'tools:1']);
    await until(() => again.stdout() === 'spinning\n');
    expect((await ok(['stop', 'stopped'])).stdout).toBe('stopped\n');
    expect((await again.done).status).toBe(137);
    expect((await skiff(['inspect', 'stopped'])).status).toBe(1);
    await ok(['rm', 'spinner']);
  });

  it('SIGINT to `skiff run` stops the container; the process exits 137; rm -f from another process stops one too', async () => {
    const a = child(['run', '--name', 'sigint', '--entrypoint', '/spin.wasm', 'tools:1'], 'spinning\n');
    await a.printed;
    const t0 = Date.now();
    a.kill('SIGINT');
    const exit = await a.exited;
    expect(exit).toEqual({ status: 137, signal: null, stderr: '' });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((await ok(['ps', '-a'])).stdout).toMatch(/Exited \(137\) .* sigint\n/);
    await ok(['rm', 'sigint']);

    const b = child(['run', '--name', 'forced', '--entrypoint', '/spin.wasm', 'tools:1'], 'spinning\n');
    await b.printed;
    const refused = await skiff(['rm', 'forced']);
    expect([refused.status, refused.stderr]).toEqual([1, 'skiff: cannot remove container forced: it is running: stop it first (skiff stop forced), or remove it with -f\n']);
    expect((await ok(['rm', '-f', 'forced'])).stdout).toBe('forced\n');
    expect((await b.exited).status).toBe(137);
    expect((await skiff(['logs', 'forced'])).stderr).toBe('skiff: no such container: forced\n');
  });
});

describe('kept containers across invocations: ps, logs, diff, commit, inspect, rm', () => {
  it('keeps what a run did for later invocations', async () => {
    const r = await skiff(['run', '--name', 'keeper', '-w', '/srv', '-e', 'K=v', 'tools:1', '7', 'two words']);
    expect(r.status).toBe(7);
    const edit = await ok(['run', '--name', 'editor', '--entrypoint', '/edit.wasm', 'tools:1']);
    expect(edit.stdout).toBe('');

    // ps -a: newest first, docker's columns; -q: IDs.
    const rows = rowsOf((await ok(['ps', '-a'])).stdout);
    expect(rows.slice(1).map((row) => [row[1], row[2], row[4]?.replace(/ (Less than a second|\d+ seconds?) ago/, ''), row.at(-1)])).toEqual([
      ['tools:1', '"/edit.wasm"', 'Exited (0)', 'editor'],
      ['tools:1', '"/hello.wasm 7 two w…"', 'Exited (7)', 'keeper'],
    ]);
    const ids = (await ok(['ps', '-aq'])).stdout.trimEnd().split('\n');
    expect(ids.map((i) => i.length)).toEqual([12, 12]);
    expect((await ok(['ps', '-a', '--no-trunc'])).stdout).toContain('"/hello.wasm 7 two words"');

    // logs, with -t one RFC 3339 stamp per line.
    expect((await ok(['logs', 'keeper'])).stdout).toBe('arg[0]=/hello.wasm\narg[1]=7\narg[2]=two words\nenv FROM_IMAGE=1\nenv K=v\nenv PWD=/srv\ncwd=/\n');
    const stamped = (await ok(['logs', '-t', ids[1] as string])).stdout.trimEnd().split('\n');
    expect(stamped).toHaveLength(7);
    for (const line of stamped) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z \S/);

    // diff: docker's A/C/D lines.
    expect((await ok(['diff', 'keeper'])).stdout).toBe('A /srv\n');
    expect((await ok(['diff', 'editor'])).stdout).toBe('C /etc\nA /etc/added\nD /etc/motd\n');

    // inspect: docker's container shape.
    const [info] = JSON.parse((await ok(['inspect', 'keeper'])).stdout) as Record<string, unknown>[];
    expect(info).toMatchObject({
      Name: '/keeper',
      Path: '/hello.wasm',
      Args: ['7', 'two words'],
      State: { Status: 'exited', Running: false, ExitCode: 7, OOMKilled: false, Reason: 'Error' },
      Config: { Image: 'tools:1', Entrypoint: ['/hello.wasm'], Cmd: ['7', 'two words'], Env: ['FROM_IMAGE=1', 'K=v'], WorkingDir: '/srv' },
      Mounts: [],
    });
    expect(info?.Id).toMatch(new RegExp(`^${ids[1] as string}[0-9a-f]{52}$`));
    const state = info?.State as { StartedAt: string; FinishedAt: string };
    expect(Date.parse(state.FinishedAt)).toBeGreaterThanOrEqual(Date.parse(state.StartedAt));

    // commit: the changes as a layer, the container's config, and -c changes on top.
    const committed = await ok(['commit', '-m', 'edited', '-c', 'ENV EDITED=yes', '-c', 'CMD ["5"]', 'editor', 'tools:edited']);
    expect(committed.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const run2 = await skiff(['run', '--rm', '--entrypoint', '/hello.wasm', 'tools:edited', '5']);
    expect(run2.status).toBe(5);
    const [image] = JSON.parse((await ok(['inspect', '--type', 'image', 'tools:edited'])).stdout) as { Config: { Env: string[]; Cmd: string[]; Entrypoint: string[] } }[];
    expect(image?.Config).toMatchObject({ Env: ['FROM_IMAGE=1', 'EDITED=yes'], Cmd: ['5'], Entrypoint: ['/edit.wasm'] });
    expect((await ok(['history', 'tools:edited'])).stdout).toMatch(/\/edit\.wasm .* edited\n/);
    const tar = (await ok(['export', 'tools:edited'])).bytes;
    const names = [...readTar(tar, 'export', { maxPathBytes: 4096 })].map((e) => e.name);
    expect(names).toContain('etc/added');
    expect(names).not.toContain('etc/motd');

    // The image of a kept container stays until the container is removed (docker's rule).
    const rmi = await skiff(['rmi', 'tools:1']);
    expect([rmi.status, rmi.stderr]).toEqual([1, `skiff: unable to delete tools:1 (must be forced with -f): the image is used by container ${ids[0] as string}, ${ids[1] as string}: remove the container first (skiff rm)\n`]);

    // rm: several at once; a missing one is reported and the others go on.
    const rm = await skiff(['rm', 'keeper', 'nope', 'editor']);
    expect([rm.status, rm.stdout, rm.stderr]).toEqual([1, 'keeper\neditor\n', 'skiff: no such container: nope\n']);
    expect((await ok(['ps', '-aq'])).stdout).toBe('');
    await ok(['rmi', 'tools:edited']);
  });
});

describe('skiff volume, and -v NAME:/path', () => {
  it('creates, lists, inspects and removes volumes; a named volume persists across runs and is made on first use', async () => {
    expect((await ok(['volume', 'create', 'made'])).stdout).toBe('made\n');
    // The first run creates `data` and a file in it; the second sees the file (EEXIST: 20).
    expect((await skiff(['run', '--rm', '-v', 'data:/data', '--entrypoint', '/touch.wasm', 'tools:1'])).status).toBe(0);
    expect((await skiff(['run', '--rm', '-v', 'data:/data', '--entrypoint', '/touch.wasm', 'tools:1'])).status).toBe(20);
    expect(existsSync(join(home, 'volumes/data/_data/touched'))).toBe(true);
    // Without the volume, the container's /data is its own (and empty).
    expect((await skiff(['run', '--rm', '--tmpfs', '/data', '--entrypoint', '/touch.wasm', 'tools:1'])).status).toBe(0);

    expect((await ok(['volume', 'ls'])).stdout).toBe('DRIVER    VOLUME NAME\nlocal     data\nlocal     made\n');
    expect((await ok(['volume', 'ls', '-q'])).stdout).toBe('data\nmade\n');
    const [info] = JSON.parse((await ok(['volume', 'inspect', 'data'])).stdout) as Record<string, unknown>[];
    expect(info).toMatchObject({ Name: 'data', Driver: 'local', Scope: 'local', Mountpoint: join(home, 'volumes/data/_data') });

    // A kept container holds its volume: rm is refused until the container is removed.
    await ok(['run', '--name', 'holder', '-v', 'data:/data:ro', 'tools:1']);
    const [holder] = JSON.parse((await ok(['inspect', 'holder'])).stdout) as { Mounts: unknown[]; HostConfig: { Binds: string[] } }[];
    expect(holder?.Mounts).toEqual([{ Type: 'volume', Name: 'data', Source: join(home, 'volumes/data/_data'), Destination: '/data', Driver: 'local', Mode: 'ro', RW: false, Propagation: '' }]);
    expect(holder?.HostConfig.Binds).toEqual(['data:/data:ro']);
    const refused = await skiff(['volume', 'rm', 'data', 'made']);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toBe('made\n');
    expect(refused.stderr).toMatch(/^skiff: remove data: volume is in use - \[[0-9a-f]{12}\]/);
    await ok(['rm', 'holder']);
    expect((await ok(['volume', 'rm', 'data'])).stdout).toBe('data\n');
    expect(existsSync(join(home, 'volumes/data'))).toBe(false);
    expect((await skiff(['volume', 'rm', 'data'])).stderr).toBe('skiff: no such volume: data\n');
    expect((await ok(['volume', 'ls', '-q'])).stdout).toBe('');
  });

  it("an image's VOLUME gets an anonymous volume, removed with --rm (or rm -v)", async () => {
    const store = await ImageStore.open(new MemoryFiles());
    await createImage(store, {
      ref: 'withvol:1',
      layers: [{ 'touch.wasm': touchModule('data/touched'), 'data/seed': 'from the image' }],
      config: { Entrypoint: ['/touch.wasm'], Volumes: { '/data': {} } },
    });
    writeFileSync(join(scratch, 'withvol.tar'), await store.save(['withvol:1']));
    await ok(['load', '-q', '-i', 'withvol.tar']);
    await ok(['run', '--rm', 'withvol:1']);
    expect((await ok(['volume', 'ls', '-q'])).stdout).toBe('');
    await ok(['run', '--name', 'anon', 'withvol:1']);
    const [anonymous] = (await ok(['volume', 'ls', '-q'])).stdout.trimEnd().split('\n');
    expect(anonymous).toMatch(/^[0-9a-f]{64}$/);
    // Docker's populate rule: the image's /data was copied into the new volume.
    expect(readFileSync(join(home, 'volumes', anonymous as string, '_data/seed'), 'utf8')).toBe('from the image');
    await ok(['rm', '-v', 'anon']);
    expect((await ok(['volume', 'ls', '-q'])).stdout).toBe('');
    // Without -v the anonymous volume stays, unused: prune removes it.
    await ok(['run', '--name', 'anon2', 'withvol:1']);
    await ok(['rm', 'anon2']);
    const [left] = (await ok(['volume', 'ls', '-q'])).stdout.trimEnd().split('\n');
    expect((await ok(['volume', 'prune'])).stdout).toBe(`Deleted Volumes:\n${left as string}\n`);
    expect((await ok(['volume', 'ls', '-q'])).stdout).toBe('');
    await ok(['rmi', 'withvol:1']);
  });
});

describe('skiff run FILE.wasm', () => {
  it('runs a bare module as wasmtime does: --dir HOST::GUEST, --env, argv[0] as given, its exit code', async () => {
    const dir = join(scratch, 'host-dir');
    mkdirSync(dir);
    const fsops = await skiff(['run', join(root, 'guests/wasm/fsops.wasm'), '--dir', `${dir}::/sandbox`, '/sandbox']);
    expect(fsops.stdout).toBe(readFileSync(join(root, 'guests/expected/fsops.txt'), 'utf8'));
    expect([fsops.status, fsops.stderr]).toEqual([0, '']);

    writeFileSync(join(scratch, 'hello.wasm'), await guest('hello'));
    const hello = await skiff(['run', '--env', 'A=1', 'hello.wasm', '-e', 'B=2', '4', '--env', 'guest']);
    expect([hello.status, hello.stdout]).toEqual([4, 'arg[0]=hello.wasm\narg[1]=4\narg[2]=--env\narg[3]=guest\nenv A=1\nenv B=2\ncwd=/\n']);
    expect((await skiff(['run', 'hello.wasm', '--', '--dir', 'x'])).stdout).toMatch(/^arg\[0\]=hello.wasm\narg\[1\]=--dir\narg\[2\]=x\n/);
    // Nothing is kept, and nothing a container needs is refused silently.
    expect((await ok(['ps', '-aq'])).stdout).toBe('');
    const bad = await skiff(['run', '-v', 'data:/data', 'hello.wasm']);
    expect([bad.status, bad.stderr]).toEqual([125, 'skiff: -v: not for a bare module (hello.wasm is run as wasmtime runs it, and not kept): grant directories with --dir HOST[::GUEST], environment with --env\n']);
    expect((await skiff(['run', 'hello.wasm', '--dir', 'nowhere::/x'])).stderr).toBe('skiff: --dir nowhere::/x: no such directory nowhere\n');
  });

  it('runs a WASI 0.2 component as `wasmtime run` does: --dir is its preopen (wasi:filesystem), its arguments after the file', async () => {
    const dir = join(scratch, 'notes-dir');
    mkdirSync(dir);
    writeFileSync(join(dir, 'n.txt'), 'already here\n');
    const r = await skiff(['run', join(root, 'guests/wasm/notes.wasm'), '--dir', `${dir}::/data`, 'n.txt', 'from the cli']);
    expect([r.status, r.stderr, r.stdout]).toEqual([0, '', 'already here\nfrom the cli\n']);
    expect(readFileSync(join(dir, 'n.txt'), 'utf8')).toBe('already here\nfrom the cli\n');
    const missing = await skiff(['run', join(root, 'guests/wasm/notes.wasm'), '--dir', `${dir}::/data`, 'nothing']);
    expect([missing.status, missing.stdout]).toEqual([1, 'open: no-entry\n']);
  });

  it("preopens each --dir as wasmtime does: wasicalls prints wasmtime's transcript but for the deliberate lines and the host's time precision", async () => {
    // The setup of guests/expected/wasicalls.wasmtime.txt (guests/README.md): two empty
    // directories as /sandbox and /spare, argv[0] `wasicalls`, these arguments and env.
    const a = join(scratch, 'wasicalls-a');
    const b = join(scratch, 'wasicalls-b');
    mkdirSync(a);
    mkdirSync(b);
    const r = await skiff(['run', join(root, 'guests/wasm/wasicalls.wasm'), '--dir', `${a}::/sandbox`, '--dir', `${b}::/spare`, '--argv0', 'wasicalls', '--env', 'A=1', '--env', 'ÜNI=€uro ☃', '/sandbox', '7', 'héllo', '', 'a b']);
    expect([r.status, r.stderr]).toEqual([7, '']);
    const lines = r.stdout.split('\n');
    const wasmtime = readFileSync(join(root, 'guests/expected/wasicalls.wasmtime.txt'), 'utf8').split('\n');
    expect(lines.length).toBe(wasmtime.length);
    // The same four lines as test/wasi-conformance.test.ts (skiff follows POSIX there; see its
    // DELIBERATE), and two more that are the host's: these are real host directories, whose
    // times node:fs sets through a double of seconds, truncated to the microsecond (libuv's
    // uv_fs_futime), where wasmtime's utimensat keeps nanoseconds. (Over in-memory preopens, src/sandbox/runtime.test.ts
    // shows exactly the four.)
    expect(lines.filter((line, i) => line !== wasmtime[i]).sort()).toEqual(
      [
        'fd_read f into 5+100 bytes: SUCCESS 11 (both iovecs)',
        'path_filestat_get dlnk/ (trailing slash): DIRECTORY',
        'path_filestat_get f/ (trailing slash): NOTDIR',
        'path_remove_directory e/ (trailing slash): SUCCESS',
        '  atim=1000000000123456000 mtim=1100000000987653000',
        '  atim=1000000000123456000 mtim=1200000000000000000',
      ].sort(),
    );
    expect(wasmtime).toEqual(expect.arrayContaining(['  atim=1000000000123456789 mtim=1100000000987654321', '  atim=1000000000123456789 mtim=1200000000000000000']));
  });
});

describe('skiff start -a and skiff exec', () => {
  it('start -a runs a kept container again, in another invocation, with the files and logs its runs left', async () => {
    // touch.wasm creates /data/touched exclusively: 0 the first time, EEXIST (20) once the file exists.
    expect((await skiff(['run', '--name', 'toucher', '-w', '/data', '--entrypoint', '/touch.wasm', 'tools:1'])).status).toBe(0);
    const again = await skiff(['start', '-a', 'toucher']);
    expect([again.status, again.stderr]).toEqual([20, '']);
    expect((await ok(['diff', 'toucher'])).stdout).toBe('A /data\nA /data/touched\n');
    expect((await ok(['ps', '-a'])).stdout).toMatch(/Exited \(20\) .* toucher\n/);

    // Output streams and is appended to the container's log; the exit code is the guest's.
    expect((await skiff(['run', '--name', 'twice', '-e', 'K=v', 'tools:1', '3'])).status).toBe(3);
    const second = await skiff(['start', '-a', 'twice']);
    const hello = 'arg[0]=/hello.wasm\narg[1]=3\nenv FROM_IMAGE=1\nenv K=v\ncwd=/\n';
    expect([second.status, second.stdout, second.stderr]).toEqual([3, hello, '']);
    expect((await ok(['logs', 'twice'])).stdout).toBe(hello + hello);

    const detached = await skiff(['start', 'twice']);
    expect([detached.status, detached.stderr]).toEqual([1, 'skiff: start without -a would run container twice in the background, which needs the skiff daemon (not available yet): start it in the foreground with skiff start -a twice\n']);
    expect((await skiff(['start', '-a', 'nosuch'])).stderr).toBe('skiff: no such container: nosuch\n');
    await ok(['rm', 'toucher', 'twice']);
  });

  it('exec runs a command in a container this process runs; from another process it needs the daemon', async () => {
    // The container waits (asleep, at WASI calls) for /go, which the exec writes.
    const waiting = start(['run', '--name', 'execd', '--entrypoint', '/files.wasm', 'tools:1', 'wait', '/go', '20000', 'cat', '/msg']);
    for (let i = 0; !(await skiff(['ps'])).stdout.includes('execd'); i++) {
      if (i > 1000) throw new Error('execd never ran');
      await new Promise((r) => setTimeout(r, 10));
    }
    const hello = await skiff(['exec', '-e', 'X=1', 'execd', '/hello.wasm', '5']);
    expect([hello.status, hello.stdout, hello.stderr]).toEqual([5, 'arg[0]=/hello.wasm\narg[1]=5\nenv FROM_IMAGE=1\nenv X=1\ncwd=/\n', '']);
    const missing = await skiff(['exec', 'execd', 'nosuch.wasm']);
    expect(missing.status).toBe(127);
    expect(missing.stderr).toMatch(/"nosuch.wasm" is not a file in the container/);
    // The message first, then the marker the container waits for: a directory, made in
    // one call (a file exists before its bytes are written, so waiting on the message
    // itself would race its write; and the container exits as soon as it sees the
    // marker, so the exec must do nothing in it after that call).
    expect((await skiff(['exec', 'execd', '/files.wasm', 'write', '/msg', 'from exec', 'mkdir', '/go'])).stdout).toBe('write /msg: ok\nmkdir /go: ok\n');
    const done = await waiting.done;
    expect([done.status, done.stdout]).toEqual([0, 'wait /go: ok\ncat /msg: "from exec"\n']);
    const stopped = await skiff(['exec', 'execd', '/hello.wasm']);
    expect([stopped.status, stopped.stderr]).toEqual([1, 'skiff: container execd is not running: exec runs a command in a running container (start it with skiff start -a execd)\n']);
    await ok(['rm', 'execd']);

    const elsewhere = child(['run', '--name', 'elsewhere', '--entrypoint', '/files.wasm', 'tools:1', 'spin'], 'spinning\n');
    await elsewhere.printed;
    const refused = await skiff(['exec', 'elsewhere', '/hello.wasm']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^skiff: container elsewhere runs in another skiff process \(pid \d+\): exec across processes comes with the skiff daemon, which is not available yet/);
    await ok(['rm', '-f', 'elsewhere']);
    expect((await elsewhere.exited).status).toBe(137);
  });
});

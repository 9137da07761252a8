/**
 * `skiff run`: runs a container in the foreground, as `docker run` without `-d` does, or a
 * bare module, as `wasmtime run` does.
 *
 *   skiff run [OPTIONS] IMAGE [ARGS…]       a container of an image: kept in
 *                                           $SKIFF_HOME/containers (container-store.ts) for
 *                                           `ps -a`, `logs`, `diff`, `commit`, `rm`,
 *                                           unless --rm
 *   skiff run [OPTIONS] FILE.wasm [ARGS…]   a bare module, as wasmtime runs it: the
 *                                           host directories granted by `--dir`
 *                                           preopened under their guest names (no `/`);
 *                                           nothing kept
 *
 * IMAGE is taken as a FILE.wasm when it ends in `.wasm` and names an existing file.
 * Options after IMAGE belong to the guest (`skiff run hello -v` passes `-v` to hello).
 *
 * What a container gets (docker's flags): `-e`/`--env-file`, `-w`, `--entrypoint`, `-v`
 * (named volumes in $SKIFF_HOME/volumes, made on first use; host directories, which the
 * user grants by typing them; anonymous volumes, also one per image VOLUME not otherwise
 * mounted), `--tmpfs`, `-p` (a real listener on a loopback address forwarding to a
 * container port), `-m`, `--timeout`, `-i` (stdin, read to its end before the start).
 *
 * While it runs, the guest's stdout and stderr are written to ours as they arrive, and
 * its exit code becomes ours. Exit status, as docker run's:
 *   the guest's own code (0–255); 134 when it trapped (like SIGABRT); 137 when it was
 *   killed: by SIGINT or SIGTERM to skiff (see below), `skiff stop`/`rm -f`, --timeout,
 *   or at its --memory limit (OOMKilled);
 *   125 skiff's own errors (bad options, no such image, a name in use, a bad volume);
 *   126 the module cannot be run (refused by the checks, or not a WASI command);
 *   127 the image's Entrypoint/Cmd names no file in the image.
 *
 * Signals: SIGINT (Ctrl-C) and SIGTERM stop the container at once (the runtime's kill: a
 * WASI guest has no signal handlers to run) and skiff exits with the container's exit
 * code, 137 — as `docker run` exits with its container's code, and docker's is 137 after
 * a kill. The container is recorded as exited (137, Killed).
 *
 * There is no daemon yet, so `-d` is refused: detached containers come with it.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { SkiffError } from '../layers/errors.js';
import type { Image } from '../layers/image-store.js';
import { nodePlatform } from '../platform/node/index.js';
import { memoryVolumes } from '../platform/node/volumes.js';
import type { LogEntry } from '../sandbox/logs.js';
import { ModuleError } from '../sandbox/module.js';
import { parsePublish, type PublishSpec } from '../sandbox/network.js';
import { Runtime, type ContainerInfo, type ContainerSpec, type ExecOptions, type ExecResult, type ExitStatus, type PreopenEntry } from '../sandbox/runtime.js';
import { parseDuration, parseSize } from '../sandbox/units.js';
import { VolumeError, parseVolumeSpec, type MountRequest, type VolumeManager } from '../sandbox/volumes.js';
import {
  ContainerStore,
  ZERO_TIME,
  createdState,
  type ContainerConfigRecord,
  type MountRecord,
  type StateRecord,
} from './container-store.js';
import { containersDir, openImageStore, openVolumes } from './home.js';
import { findImage } from './images.js';
import { CliError, type CommandContext, type IO } from './io.js';

/** skiff's own failure (docker run's 125). */
export const RUN_FAILED = 125;
/** The module cannot be run (docker run's 126: "cannot invoke"). */
export const RUN_CANNOT_INVOKE = 126;
/** The command is not in the image (docker run's 127). */
export const RUN_NOT_FOUND = 127;

/** A kept container running in this process (`skiff run`, `skiff start -a`). */
export interface RunningHere {
  /** Kills it; resolves once it has exited. */
  stop(): Promise<unknown>;
  /** `Runtime.exec` on it. */
  exec(options: ExecOptions): Promise<ExecResult>;
}

/**
 * Containers running in this process, by their kept id: how `skiff stop`/`rm -f` and
 * `skiff exec` run in the same process (tests) reach them. Other processes are asked to
 * stop with a signal (containers.ts); exec into them needs the daemon.
 */
export const runningHere = new Map<string, RunningHere>();

interface RunOptions {
  rm?: boolean;
  name?: string;
  env: string[];
  envFile: string[];
  volume: string[];
  tmpfs: string[];
  workdir?: string;
  memory?: number;
  timeout?: number;
  entrypoint?: string;
  publish: string[];
  interactive?: boolean;
  detach?: boolean;
  dir: string[];
  argv0?: string;
}

/** A repeatable option's values (no default, so that help shows none). */
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function parsed<T>(parse: (v: string) => T): (v: string) => T {
  return (v) => {
    try {
      return parse(v);
    } catch (e) {
      throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
    }
  };
}

export function registerRunCommand(program: Command, ctx: CommandContext): void {
  program
    .command('run')
    .summary('Run a container (or a bare FILE.wasm) in the foreground')
    .description('Run a container of IMAGE in the foreground, or a bare WebAssembly module FILE.wasm as wasmtime runs it')
    .usage('[OPTIONS] IMAGE|FILE.wasm [ARG...]')
    .argument('<image>', 'an image (ref, digest or ID), or FILE.wasm: a .wasm file, run as a bare module')
    .argument('[args...]', "the guest's arguments (replacing the image's Cmd)")
    .option('--rm', 'remove the container (and its anonymous volumes) when it exits')
    .option('--name <name>', 'name the container')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (KEY alone: take its value from here); repeatable', collect)
    .option('--env-file <file>', 'read environment variables from a file of KEY=VALUE lines; repeatable', collect)
    .option('-v, --volume <SRC:DST[:ro]>', 'mount a named volume (NAME:/path), a host directory (/abs/dir:/path) or an anonymous volume (/path); repeatable', collect)
    .option('--tmpfs <path>', 'mount an empty in-memory directory at PATH; repeatable', collect)
    .option('-w, --workdir <dir>', 'working directory in the container (created if missing)')
    .addOption(new Option('-m, --memory <size>', "memory limit: bytes or 64m, 1g (the module's memory maximum is capped)").argParser(parsed(parseSize)))
    .addOption(new Option('--timeout <duration>', 'wall-clock limit of the run: 500ms, 2s, 1m (then killed: 137)').argParser(parsed(parseDuration)))
    .option('--entrypoint <command>', "replace the image's Entrypoint (its Cmd is then dropped unless ARGs are given)")
    .option('-p, --publish <[IP:]HOST:CONTAINER>', 'publish a container port on a host loopback port; repeatable', collect)
    .option('-i, --interactive', "read stdin to its end and give it to the guest (without -i the guest's stdin is empty)")
    .option('-d, --detach', 'run in the background (needs the daemon: not available yet)')
    .option('--dir <HOST[::GUEST]>', 'FILE.wasm only: preopen the host directory HOST for the guest as GUEST (wasmtime --dir); repeatable', collect)
    .option('--argv0 <name>', 'FILE.wasm only: argv[0] of the guest (default: FILE as given; wasmtime --argv0)')
    .passThroughOptions()
    .addHelpText(
      'after',
      `
Exit status: the guest's exit code; 134 if it trapped; 137 if it was killed (SIGINT or
SIGTERM to skiff, skiff stop, --timeout, or its --memory limit); 125 skiff's own errors;
126 the module cannot be run; 127 the Entrypoint is not a file in the image.

Kept containers (without --rm) are listed by 'skiff ps -a'; 'skiff logs', 'skiff diff',
'skiff commit' and 'skiff rm' take their name or ID.`,
    )
    .action((image: string, args: string[], opts: Partial<RunOptions>) =>
      runCommand(ctx, image, args, { ...opts, env: opts.env ?? [], envFile: opts.envFile ?? [], volume: opts.volume ?? [], tmpfs: opts.tmpfs ?? [], publish: opts.publish ?? [], dir: opts.dir ?? [] }),
    );
}

async function runCommand(ctx: CommandContext, target: string, args: string[], opts: RunOptions): Promise<void> {
  if (opts.detach === true) {
    throw new CliError('run -d: detached containers come with the skiff daemon, which is not available yet: run in the foreground (without -d)');
  }
  const path = resolve(ctx.io.cwd, target);
  const isModule = target.endsWith('.wasm') && (await stat(path).then((s) => s.isFile(), () => false));
  if (isModule) return runModule(ctx, target, path, ...leadingModuleOptions(args, opts));
  if (opts.dir.length > 0) {
    throw new CliError(`--dir grants a host directory to a bare module (FILE.wasm); ${target} is not a .wasm file here: to give a container a host directory, use -v /abs/host/dir:/path`);
  }
  if (opts.argv0 !== undefined) throw new CliError(`--argv0 names a bare module's argv[0] (FILE.wasm); ${target} is not a .wasm file here: a container's argv[0] is its entrypoint (--entrypoint)`);
  return runImage(ctx, target, args, opts);
}

// ---------------------------------------------------------------------------------------
// Containers of images

async function runImage(ctx: CommandContext, ref: string, args: readonly string[], opts: RunOptions): Promise<void> {
  const { io } = ctx;
  const publish = opts.publish.map((p) => {
    try {
      return parsePublish(p);
    } catch (e) {
      throw new CliError(`-p ${p}: ${(e as Error).message}`, { cause: e });
    }
  });
  const store = await openImageStore(io);
  const image = await findImage(store, ref);
  if (image === undefined) throw new CliError(`no such image: ${ref}: load it first (skiff load -i FILE)`);
  const env = await environment(io, opts);
  const requests = mountRequests(io, opts, image);
  const stdin = opts.interactive === true ? await io.stdin.readAll() : undefined;
  const containers = new ContainerStore(containersDir(io));
  const volumes = openVolumes(io, { allowBind: true });
  const runtime = new Runtime({ platform: nodePlatform, store, volumes, poolSize: 1 });
  const out = new Forwarder(io);
  let writer: ReturnType<ContainerStore['logWriter']> | undefined;
  try {
    const spec: ContainerSpec = {
      image,
      store,
      ...(opts.entrypoint !== undefined ? { entrypoint: opts.entrypoint === '' ? [] : [opts.entrypoint] } : {}),
      ...(args.length > 0 ? { cmd: args } : {}),
      env,
      ...(opts.workdir !== undefined ? { workingDir: opts.workdir } : {}),
      mounts: requests,
      ...(publish.length > 0 ? { publish } : {}),
      ...(opts.memory !== undefined ? { memory: opts.memory } : {}),
      ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}),
      ...(stdin !== undefined ? { stdin } : {}),
      onLog: (entry) => {
        out.forward(entry);
        writer?.append(entry);
      },
      // A container removed at exit is never diffed nor committed: its files need not be packed.
      keepFiles: opts.rm !== true,
    };
    const info = await createNamed(runtime, containers, spec, opts.name);
    const id = info.id;
    const record = configRecord(info, ref, image, env, requests, opts, volumes);
    await containers.create(record, createdState());
    writer = containers.logWriter(id);

    // Recorded as running before the guest runs; then with its host ports, once they are open.
    const running = { ...createdState(), Status: 'running', Running: true, Pid: process.pid, StartedAt: new Date().toISOString() } as const;
    let status: ExitStatus;
    try {
      status = await runForeground(io, runtime, id, {
        starting: () => containers.setState(id, running),
        started: async () => {
          const { ports } = runtime.inspect(id);
          if (ports.length > 0) await containers.setState(id, { ...running, Ports: portsOf(ports) });
        },
      });
    } finally {
      // However the run ended (a host port in use fails the start), its end is recorded.
      writer.close();
      await out.flushed();
      await containers.writeUpper(id, runtime.upper(id));
      await containers.setState(id, exitedState(runtime.inspect(id)));
      if (opts.rm === true) {
        await runtime.remove(id, { force: true, volumes: true });
        await containers.remove({ config: record });
      } else {
        await runtime.remove(id, { force: true });
      }
    }
    ctx.exit(status.exitCode);
  } finally {
    writer?.close();
    await runtime.close();
  }
}

/** docker's `NetworkSettings.Ports`: `"80/tcp": [{ HostIp, HostPort }]`, or null for a port not published. */
export function portsOf(ports: ContainerInfo['ports']): Record<string, { HostIp: string; HostPort: string }[] | null> {
  return Object.fromEntries(
    ports.map((p) => [`${p.containerPort}/${p.protocol}`, p.published.length === 0 ? null : p.published.map((b) => ({ HostIp: b.hostAddress, HostPort: String(b.hostPort) }))]),
  );
}

/**
 * Creates the container in `runtime` under a name no kept container holds: `name`, or a
 * generated one (generated again on a clash with a kept container).
 */
async function createNamed(runtime: Runtime, containers: ContainerStore, spec: ContainerSpec, name: string | undefined): Promise<ContainerInfo> {
  for (let attempt = 0; ; attempt++) {
    const info = await createContainer(runtime, name === undefined ? spec : { ...spec, name });
    if (await containers.claimName(info.name, info.id)) return info;
    await runtime.remove(info.id, { volumes: true });
    if (name !== undefined) {
      const holder = await containers.find(name);
      const by = holder === undefined ? '' : ` by container ${holder.config.Id.slice(0, 12)}`;
      throw new CliError(`the container name "${name}" is already in use${by}: remove that container (skiff rm ${name}) or choose another name`);
    }
    if (attempt >= 8) throw new CliError('could not find a free container name: give one with --name');
  }
}

/** `runtime.create`, its refusals turned into run's exit statuses. */
export async function createContainer(runtime: Runtime, spec: ContainerSpec): Promise<ContainerInfo> {
  try {
    return await runtime.create(spec);
  } catch (e) {
    if (e instanceof ModuleError) throw new CliError(e.message, { cause: e, status: RUN_CANNOT_INVOKE });
    if (e instanceof SkiffError && e.code === 'NOT_FOUND') throw new CliError(e.message, { cause: e, status: RUN_NOT_FOUND });
    throw e;
  }
}

/**
 * Starts container `id` and waits for it to exit, stopping it on SIGINT/SIGTERM.
 * `starting` runs before the run starts, `started` once it has (its host ports open).
 * While it runs it is in `runningHere` under `keptId` (default `id`).
 */
export async function runForeground(
  io: IO,
  runtime: Runtime,
  id: string,
  hooks: { starting?: () => Promise<void>; started?: () => Promise<void> } = {},
  keptId = id,
): Promise<ExitStatus> {
  let stop = false;
  const kill = async (): Promise<void> => {
    stop = true;
    await runtime.kill(id);
  };
  const unsubscribe = io.onSignal?.(() => void kill());
  runningHere.set(keptId, { stop: kill, exec: (options) => runtime.exec(id, options) });
  try {
    await hooks.starting?.();
    const exited = runtime.wait(id);
    await runtime.start(id);
    if (stop) await runtime.kill(id);
    await hooks.started?.();
    return await exited;
  } finally {
    runningHere.delete(keptId);
    unsubscribe?.();
  }
}

/** The state to record once the runtime has ended the run (a run that never started: 125). */
export function exitedState(info: ContainerInfo): StateRecord {
  const s = info.state;
  return {
    ...createdState(),
    Status: 'exited',
    ExitCode: s.exitCode ?? RUN_FAILED,
    Reason: s.reason ?? 'Error',
    OOMKilled: s.oomKilled,
    Error: s.message ?? '',
    StartedAt: s.startedAt ?? ZERO_TIME,
    FinishedAt: s.finishedAt ?? new Date().toISOString(),
  };
}

// ---------------------------------------------------------------------------------------
// Bare modules

/**
 * A bare module, as `wasmtime run FILE.wasm` runs it: argv[0] is FILE as given (or
 * `--argv0`), the environment only what `-e`/`--env` grant, the files only the `--dir`
 * directories, each preopened under its guest name (fd 3 onward, in order) as a
 * capability of its own: `..` above it and absolute symlinks are refused (EPERM), as in
 * wasmtime, and there is no `/`. Nothing is kept afterwards (so `--rm` changes nothing).
 */
async function runModule(ctx: CommandContext, file: string, path: string, args: readonly string[], opts: RunOptions): Promise<void> {
  const { io } = ctx;
  const refused = [
    ['-v', opts.volume.length > 0],
    ['--tmpfs', opts.tmpfs.length > 0],
    ['-p', opts.publish.length > 0],
    ['--name', opts.name !== undefined],
    ['-w', opts.workdir !== undefined],
    ['--entrypoint', opts.entrypoint !== undefined],
  ].filter(([, given]) => given === true);
  if (refused.length > 0) {
    const list = refused.map(([flag]) => flag).join(', ');
    throw new CliError(`${list}: not for a bare module (${file} is run as wasmtime runs it, and not kept): grant directories with --dir HOST[::GUEST], environment with --env`);
  }
  const bytes = await readFile(path);
  const module = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const env = await environment(io, opts);
  const preopens: PreopenEntry[] = [];
  for (const d of opts.dir) preopens.push(await preopen(io, d));
  const stdin = opts.interactive === true ? await io.stdin.readAll() : undefined;
  const runtime = new Runtime({ platform: nodePlatform, volumes: memoryVolumes({ allowBind: true }), poolSize: 1 });
  const out = new Forwarder(io);
  try {
    const info = await createContainer(runtime, {
      module,
      entrypoint: [opts.argv0 ?? file],
      cmd: args,
      env,
      preopens,
      ...(opts.memory !== undefined ? { memory: opts.memory } : {}),
      ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}),
      ...(stdin !== undefined ? { stdin } : {}),
      onLog: (entry) => out.forward(entry),
      keepFiles: false,
    });
    const status = await runForeground(io, runtime, info.id);
    await out.flushed();
    await runtime.remove(info.id);
    ctx.exit(status.exitCode);
  } finally {
    await runtime.close();
  }
}

/**
 * `skiff run FILE.wasm --dir D --env K=V ARGS…`: `--dir`, `--env` (`-e`) and `--argv0`
 * given right after FILE are skiff's, as the synopsis writes them (wasmtime takes
 * them before FILE, which works too); the first other argument, or `--`, starts the
 * guest's.
 */
function leadingModuleOptions(args: readonly string[], opts: RunOptions): [string[], RunOptions] {
  const dir = [...opts.dir];
  const env = [...opts.env];
  let argv0 = opts.argv0;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') {
      i++;
      break;
    }
    const m = /^(--dir|--env|-e|--argv0)(?:=(.*))?$/.exec(a);
    if (m === null) break;
    const value = m[2] ?? args[++i];
    if (value === undefined) throw new CliError(`option '${m[1] as string}' argument missing`);
    if (m[1] === '--argv0') argv0 = value;
    else (m[1] === '--dir' ? dir : env).push(value);
  }
  return [args.slice(i), { ...opts, dir, env, ...(argv0 !== undefined ? { argv0 } : {}) }];
}

/**
 * `--dir HOST[::GUEST]` (wasmtime's syntax; GUEST defaults to HOST as typed, and may be
 * relative, e.g. `.`): HOST, a bind of the host directory, preopened under the name GUEST.
 */
async function preopen(io: IO, spec: string): Promise<PreopenEntry> {
  const sep = spec.indexOf('::');
  const host = sep < 0 ? spec : spec.slice(0, sep);
  const guest = sep < 0 ? spec : spec.slice(sep + 2);
  if (host === '' || guest === '') throw new CliError(`--dir ${spec}: give HOST or HOST::GUEST`);
  let source: string;
  try {
    source = await realpath(resolve(io.cwd, host));
  } catch {
    throw new CliError(`--dir ${spec}: no such directory ${host}`);
  }
  if (!(await stat(source)).isDirectory()) throw new CliError(`--dir ${spec}: ${host} is not a directory`);
  return { name: guest, mount: { type: 'bind', source, target: '/' } };
}

// ---------------------------------------------------------------------------------------
// Options

/**
 * The environment `--env-file` and `-e` give, in that order (a later one wins): `K=V`
 * lines or arguments; a bare `K` takes K's value from skiff's environment (and is left
 * out when K is not set there), as docker does. In a file, blank lines and `#` comments
 * are skipped.
 */
export async function environment(io: IO, opts: Pick<RunOptions, 'env' | 'envFile'>): Promise<string[]> {
  const out: string[] = [];
  const add = (item: string, where: string): void => {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    if (key === '' || /\s/.test(key)) throw new CliError(`${where}: invalid environment variable ${JSON.stringify(item)}: use KEY=VALUE`);
    if (eq >= 0) out.push(item);
    else if (io.env[key] !== undefined) out.push(`${key}=${io.env[key] as string}`);
  };
  for (const file of opts.envFile) {
    let text: string;
    try {
      text = await readFile(resolve(io.cwd, file), 'utf8');
    } catch (e) {
      throw new CliError(`--env-file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { cause: e });
    }
    for (const [i, raw] of text.split(/\r?\n/).entries()) {
      const line = raw.replace(/^\s+/, '');
      if (line === '' || line.startsWith('#')) continue;
      add(line, `${file}:${i + 1}`);
    }
  }
  for (const e of opts.env) add(e, '-e');
  return out;
}

/**
 * The mounts of `-v` and `--tmpfs`, then an anonymous volume for each of the image's
 * `Volumes` that no option covers (docker's rule). A bind source may be relative when it
 * starts with `.` (resolved from here, as docker does).
 */
function mountRequests(io: IO, opts: RunOptions, image: Image): MountRequest[] {
  const out: MountRequest[] = [];
  for (const v of opts.volume) {
    const source = v.split(':')[0] as string;
    const spec = source === '.' || source.startsWith('./') || source.startsWith('../') ? resolve(io.cwd, source) + v.slice(source.length) : v;
    const r = parseVolumeSpec(spec);
    if (r instanceof VolumeError) throw new CliError(r.message);
    out.push(r);
  }
  for (const t of opts.tmpfs) {
    if (t.includes(':')) throw new CliError(`--tmpfs ${t}: options are not supported: give the mount point only`);
    if (!isAbsolute(t)) throw new CliError(`--tmpfs ${t}: the mount point must be an absolute path`);
    out.push({ type: 'tmpfs', target: t });
  }
  const targets = new Set(out.map((m) => normal(m.target)));
  for (const path of Object.keys(image.config.config?.Volumes ?? {})) {
    if (!targets.has(normal(path))) out.push({ type: 'volume', target: normal(path) });
  }
  return out;
}

function normal(path: string): string {
  return `/${path.split('/').filter((p) => p !== '' && p !== '.').join('/')}`;
}

function configRecord(
  info: ContainerInfo,
  ref: string,
  image: Image,
  env: readonly string[],
  requests: readonly MountRequest[],
  opts: RunOptions,
  volumes: VolumeManager,
): ContainerConfigRecord {
  const config = image.config.config ?? {};
  const entrypoint = opts.entrypoint !== undefined ? (opts.entrypoint === '' ? [] : [opts.entrypoint]) : (config.Entrypoint ?? null);
  const args = info.argv.slice((entrypoint ?? []).length);
  const cmd = args.length > 0 || opts.entrypoint === undefined ? args : null;
  const mounts = requests.map((r, i): MountRecord => mountRecord(r, info.mounts[i] ?? '', volumes));
  return {
    Id: info.id,
    Name: info.name,
    Created: info.created,
    Path: info.argv[0] ?? '',
    Args: info.argv.slice(1),
    Image: image.descriptor.digest,
    Config: {
      Image: ref,
      Cmd: cmd,
      Entrypoint: entrypoint,
      Env: mergeEnv(config.Env ?? [], env),
      WorkingDir: info.workingDir,
      Labels: config.Labels ?? {},
      OpenStdin: opts.interactive === true,
      Volumes: config.Volumes ?? null,
    },
    HostConfig: {
      AutoRemove: opts.rm === true,
      Memory: opts.memory ?? 0,
      Timeout: opts.timeout ?? 0,
      Binds: opts.volume,
      Tmpfs: Object.fromEntries(opts.tmpfs.map((t) => [t, ''])),
      PortBindings: portBindings(opts.publish.map(parsePublish)),
    },
    Mounts: mounts,
  };
}

function portBindings(publish: readonly PublishSpec[]): Record<string, { HostIp: string; HostPort: string }[]> {
  const out: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of publish) {
    const key = `${p.containerPort}/tcp`;
    out[key] = [...(out[key] ?? []), { HostIp: p.hostAddress ?? '127.0.0.1', HostPort: p.hostPort ? String(p.hostPort) : '' }];
  }
  return out;
}

/** Docker's Mounts entry for a request, `source` being the runtime's `-v` form of it (`name:/path[:ro]`). */
function mountRecord(r: MountRequest, source: string, volumes: VolumeManager): MountRecord {
  switch (r.type) {
    case 'tmpfs':
      return { Type: 'tmpfs', Source: '', Destination: r.target, Mode: '', RW: true, Propagation: '' };
    case 'bind':
      return { Type: 'bind', Source: r.source, Destination: r.target, Mode: r.readonly === true ? 'ro' : '', RW: r.readonly !== true, Propagation: 'rprivate' };
    case 'volume': {
      const name = r.name ?? source.split(':')[0] ?? '';
      const info = volumes.inspect(name);
      const where = info instanceof VolumeError ? '' : info.Mountpoint;
      return { Type: 'volume', Name: name, Source: where, Destination: r.target, Driver: 'local', Mode: r.readonly === true ? 'ro' : 'z', RW: r.readonly !== true, Propagation: '' };
    }
  }
}

/** The image's Env with `over` applied (same key: replaced in place), as the container sees it. */
function mergeEnv(base: readonly string[], over: readonly string[]): string[] {
  const out = [...base];
  for (const e of over) {
    const key = e.slice(0, Math.max(0, e.indexOf('=')));
    const at = out.findIndex((x) => x.startsWith(`${key}=`) || x === key);
    if (at >= 0) out[at] = e;
    else out.push(e);
  }
  return out;
}

/** Writes a guest's output to our stdout and stderr as it arrives, in order per stream. */
export class Forwarder {
  private stdout: Promise<void> = Promise.resolve();
  private stderr: Promise<void> = Promise.resolve();
  constructor(private readonly io: IO) {}

  forward(entry: LogEntry): void {
    if (entry.stream === 'stdout') this.stdout = this.io.stdout.write(entry.bytes);
    else this.stderr = this.io.stderr.write(entry.bytes);
  }

  /** Resolves when everything forwarded so far is written. */
  async flushed(): Promise<void> {
    await Promise.all([this.stdout, this.stderr]);
  }
}

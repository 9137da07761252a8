/**
 * The commands on kept containers (container-store.ts): `ps`, `logs`, `diff`, `commit`,
 * `stop`, `kill`, `rm`, and the container half of `inspect`. `skiff run` (run.ts) makes
 * them.
 *
 * CONTAINER arguments, as docker takes them: a name, a full ID, or a unique prefix of an
 * ID (`3f2a9c01b7de`, as `skiff ps` prints it).
 *
 * A running container belongs to the `skiff run` process running it (there is no daemon
 * yet). `stop`, `kill` and `rm -f` ask that process to stop it, with SIGTERM (the same as
 * a Ctrl-C there: the container is killed and exits with 137), and wait until it has
 * recorded the exit.
 */
import { type Command, Option } from 'commander';
import { Errno } from '../layers/errno.js';
import { applyChangeset } from '../layers/changeset.js';
import { listChanges } from '../layers/changes.js';
import { commit as commitImage } from '../layers/build.js';
import type { Image, ImageStore } from '../layers/image-store.js';
import type { ContainerConfig } from '../layers/oci.js';
import { Overlay } from '../layers/overlay.js';
import type { VolumeManager } from '../sandbox/volumes.js';
import { ContainerStore, ZERO_TIME, processAlive, type KeptContainer } from './container-store.js';
import { ellipsis, humanDuration, parseTime, table, timeAgo } from './format.js';
import { containersDir, openImageStore, openVolumes } from './home.js';
import { CliError, type CommandContext, type IO, expectedMessage } from './io.js';
import { runningHere } from './run.js';

/** How long `stop`, `kill` and `rm -f` wait for a container's owner to record its exit. */
const STOP_WAIT_MS = 10_000;

export function registerContainerCommands(program: Command, ctx: CommandContext): void {
  program
    .command('ps')
    .description('List containers (running ones, or all with -a)')
    .option('-a, --all', 'show all containers (default: running ones only)')
    .option('-q, --quiet', 'only show container IDs')
    .option('--no-trunc', "don't truncate output")
    .addOption(new Option('--format <format>', 'table, or json: one JSON object per line').choices(['table', 'json']).default('table'))
    .action((opts: PsOptions) => ps(ctx, opts));

  program
    .command('logs')
    .description("Show a container's logs: its stdout on stdout, its stderr on stderr")
    .argument('<container>', 'a name or ID')
    .option('-t, --timestamps', 'prefix each line with the time it was written (RFC 3339, nanoseconds)')
    .action((arg: string, opts: { timestamps?: boolean }) => logs(ctx, arg, opts));

  program
    .command('diff')
    .summary("List the changes to a container's files")
    .description("List the files a container's runs added (A), changed (C) or deleted (D) in its image's filesystem")
    .argument('<container>', 'a name or ID')
    .action((arg: string) => diff(ctx, arg));

  program
    .command('commit')
    .summary("Create a new image from a container's changes")
    .description("Create a new image: the container's image plus one layer of its file changes, and its configuration (Cmd, Entrypoint, Env, WorkingDir)")
    .argument('<container>', 'a name or ID')
    .argument('[repository]', 'REPOSITORY[:TAG] to name the new image')
    .option('-m, --message <message>', 'commit message (the history comment)')
    .option('-a, --author <author>', 'author (e.g. "Ann <ann@example.com>")')
    .option('-c, --change <instruction>', 'apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR, LABEL, EXPOSE, VOLUME, USER, STOPSIGNAL; repeatable', (v: string, p: string[] | undefined) => [...(p ?? []), v])
    .addHelpText('after', '\nPrints the new image\'s ID (sha256:…). A shell form (CMD a b) is split on blanks: a WASI image has no shell.')
    .action((arg: string, repository: string | undefined, opts: CommitOptions) => commit(ctx, arg, repository, opts));

  for (const verb of ['stop', 'kill'] as const) {
    program
      .command(verb)
      .summary(verb === 'stop' ? 'Stop running containers' : 'Kill running containers')
      .description(
        `${verb === 'stop' ? 'Stop' : 'Kill'} running containers: the guest is ended at once (a WASI guest has no signal handlers), exit code 137`,
      )
      .argument('<container...>', 'names or IDs')
      .action((args: string[]) => stopAll(ctx, args, verb));
  }

  program
    .command('rm')
    .description('Remove containers')
    .argument('<container...>', 'names or IDs')
    .option('-f, --force', 'stop a running container first')
    .option('-v, --volumes', 'also remove its anonymous volumes')
    .action((args: string[], opts: { force?: boolean; volumes?: boolean }) => rm(ctx, args, opts));
}

// ---------------------------------------------------------------------------------------
// ps

interface PsOptions {
  all?: boolean;
  quiet?: boolean;
  trunc: boolean;
  format: 'table' | 'json';
}

async function ps(ctx: CommandContext, opts: PsOptions): Promise<void> {
  const { io } = ctx;
  const now = (io.now ?? Date.now)();
  const all = await new ContainerStore(containersDir(io)).list();
  const shown = opts.all === true ? all : all.filter((c) => c.state.Status === 'running');
  const id = (c: KeptContainer): string => (opts.trunc ? c.config.Id.slice(0, 12) : c.config.Id);
  if (opts.quiet === true) {
    await io.stdout.write(shown.map((c) => `${id(c)}\n`).join(''));
    return;
  }
  const command = (c: KeptContainer): string => {
    const line = [c.config.Path, ...c.config.Args].join(' ');
    return JSON.stringify(opts.trunc ? ellipsis(line, 20) : line);
  };
  if (opts.format === 'json') {
    const lines = shown.map((c) =>
      JSON.stringify({
        ID: id(c),
        Image: c.config.Config.Image,
        Command: command(c),
        CreatedAt: c.config.Created,
        RunningFor: humanDuration(now - (parseTime(c.config.Created) ?? now)),
        State: c.state.Status,
        Status: statusText(c, now),
        Ports: portsText(c),
        Names: c.config.Name,
        Mounts: c.config.Mounts.map((m) => m.Name ?? m.Source).join(','),
      }),
    );
    await io.stdout.write(lines.map((l) => `${l}\n`).join(''));
    return;
  }
  const rows = shown.map((c) => [id(c), c.config.Config.Image, command(c), timeAgo(c.config.Created, now), statusText(c, now), portsText(c), c.config.Name]);
  await io.stdout.write(table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'], rows));
}

/** docker's PORTS of a running container: `127.0.0.1:8080->80/tcp, 443/tcp`. */
function portsText(c: KeptContainer): string {
  if (c.state.Status !== 'running') return '';
  return Object.entries(c.state.Ports ?? {})
    .flatMap(([port, bound]) => (bound === null || bound.length === 0 ? [port] : bound.map((b) => `${b.HostIp}:${b.HostPort}->${port}`)))
    .join(', ');
}

/** docker's STATUS: `Created`, `Up 3 seconds`, `Exited (0) 3 seconds ago`. */
export function statusText(c: KeptContainer, now: number): string {
  const s = c.state;
  switch (s.Status) {
    case 'created':
      return 'Created';
    case 'running': {
      const started = parseTime(s.StartedAt);
      return `Up ${humanDuration(started === undefined ? 0 : now - started)}`;
    }
    case 'exited': {
      const finished = parseTime(s.FinishedAt);
      return finished === undefined ? `Exited (${s.ExitCode})` : `Exited (${s.ExitCode}) ${humanDuration(now - finished)} ago`;
    }
  }
}

// ---------------------------------------------------------------------------------------
// logs, diff

async function logs(ctx: CommandContext, arg: string, opts: { timestamps?: boolean }): Promise<void> {
  const { io } = ctx;
  const containers = new ContainerStore(containersDir(io));
  const c = await containers.require(arg);
  for (const line of await containers.readLogs(c.config.Id)) {
    const out = line.stream === 'stderr' ? io.stderr : io.stdout;
    if (opts.timestamps !== true) {
      await out.write(line.bytes);
      continue;
    }
    // One stamp per line, as docker's json-file keeps one record per line.
    const text = new TextDecoder().decode(line.bytes);
    await out.write(text.split(/(?<=\n)/).map((l) => `${line.time} ${l}`).join(''));
  }
}

async function diff(ctx: CommandContext, arg: string): Promise<void> {
  const { io } = ctx;
  const containers = new ContainerStore(containersDir(io));
  const c = await containers.require(arg);
  const upper = await containers.readUpper(c.config.Id);
  if (upper === undefined) return;
  const store = await openImageStore(io);
  const image = await imageOf(store, c);
  const changes = listChanges(await store.layers(image), upper);
  await io.stdout.write(changes.map((ch) => `${ch.kind} ${ch.path}\n`).join(''));
}

async function imageOf(store: ImageStore, c: KeptContainer): Promise<Image> {
  const image = await store.get(c.config.Image);
  if (image === undefined) {
    throw new CliError(`container ${c.config.Name}: its image ${c.config.Config.Image} (${c.config.Image}) is no longer in the image store; load it again to diff or commit this container`);
  }
  return image;
}

// ---------------------------------------------------------------------------------------
// commit

interface CommitOptions {
  message?: string;
  author?: string;
  change?: string[];
}

async function commit(ctx: CommandContext, arg: string, repository: string | undefined, opts: CommitOptions): Promise<void> {
  const { io } = ctx;
  const containers = new ContainerStore(containersDir(io));
  const c = await containers.require(arg);
  if (c.state.Status === 'running') {
    throw new CliError(`container ${c.config.Name} is running: its files are recorded when it exits; stop it first (skiff stop ${c.config.Name})`);
  }
  // Docker's commit: the image gets the container's configuration, then the changes.
  let config: ContainerConfig = {
    Env: c.config.Config.Env,
    ...(c.config.Config.Entrypoint !== null ? { Entrypoint: c.config.Config.Entrypoint } : {}),
    ...(c.config.Config.Cmd !== null ? { Cmd: c.config.Config.Cmd } : {}),
    WorkingDir: c.config.Config.WorkingDir,
  };
  for (const change of opts.change ?? []) config = applyChange(config, change);
  const store = await openImageStore(io);
  const image = await imageOf(store, c);
  const overlay = new Overlay(await store.layers(image));
  const upper = await containers.readUpper(c.config.Id);
  if (upper !== undefined) {
    const r = applyChangeset(overlay, upper);
    if (r instanceof Errno) throw new CliError(`container ${c.config.Name}: its changes do not apply onto its image (${r.code})`);
  }
  const made = await commitImage(store, overlay, image, {
    ...(repository !== undefined ? { ref: repository } : {}),
    ...(opts.message !== undefined ? { comment: opts.message } : {}),
    ...(opts.author !== undefined ? { author: opts.author } : {}),
    config,
    createdBy: [c.config.Path, ...c.config.Args].join(' '),
  });
  await io.stdout.write(`${made.descriptor.digest}\n`);
}

type MutableConfig = { -readonly [K in keyof ContainerConfig]: ContainerConfig[K] };

/** `config` with one Dockerfile instruction (`commit -c`) applied. */
export function applyChange(config: ContainerConfig, change: string): ContainerConfig {
  const m = /^\s*([A-Za-z]+)\s+([\s\S]*?)\s*$/.exec(change);
  if (m === null) throw new CliError(`-c ${JSON.stringify(change)}: give a Dockerfile instruction, e.g. 'CMD ["/app.wasm"]' or 'ENV KEY=value'`);
  const instruction = (m[1] as string).toUpperCase();
  const rest = m[2] as string;
  const out: MutableConfig = { ...config };
  const list = (): string[] => {
    if (rest.startsWith('[')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(rest);
      } catch {
        parsed = undefined;
      }
      if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw new CliError(`-c ${change}: not a JSON array of strings`);
      return parsed as string[];
    }
    return words(rest, change);
  };
  const pairs = (): [string, string][] => {
    const w = words(rest, change);
    if (w.length === 2 && !(w[0] as string).includes('=')) return [[w[0] as string, w[1] as string]]; // ENV KEY value
    return w.map((p) => {
      const eq = p.indexOf('=');
      if (eq <= 0) throw new CliError(`-c ${change}: expected KEY=VALUE pairs`);
      return [p.slice(0, eq), p.slice(eq + 1)];
    });
  };
  switch (instruction) {
    case 'CMD':
      out.Cmd = list();
      break;
    case 'ENTRYPOINT':
      out.Entrypoint = list();
      break;
    case 'ENV': {
      const env = [...(out.Env ?? [])];
      for (const [k, v] of pairs()) {
        const at = env.findIndex((e) => e.startsWith(`${k}=`));
        if (at >= 0) env[at] = `${k}=${v}`;
        else env.push(`${k}=${v}`);
      }
      out.Env = env;
      break;
    }
    case 'LABEL':
      out.Labels = { ...out.Labels, ...Object.fromEntries(pairs()) };
      break;
    case 'WORKDIR':
      out.WorkingDir = rest;
      break;
    case 'USER':
      out.User = rest;
      break;
    case 'STOPSIGNAL':
      out.StopSignal = rest;
      break;
    case 'EXPOSE':
      out.ExposedPorts = { ...out.ExposedPorts, ...Object.fromEntries(words(rest, change).map((p) => [p.includes('/') ? p : `${p}/tcp`, {}])) };
      break;
    case 'VOLUME':
      out.Volumes = { ...out.Volumes, ...Object.fromEntries(list().map((p) => [p, {}])) };
      break;
    default:
      throw new CliError(`-c ${change}: ${instruction} cannot be applied by commit (CMD, ENTRYPOINT, ENV, WORKDIR, LABEL, EXPOSE, VOLUME, USER, STOPSIGNAL)`);
  }
  return out;
}

/** Blank-separated words; "double" and 'single' quotes group (and are removed), `\` escapes. */
function words(s: string, change: string): string[] {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string;
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < s.length) word += s[++i] as string;
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch === '\\' && i + 1 < s.length ? (s[++i] as string) : ch;
      inWord = true;
    }
  }
  if (quote !== undefined) throw new CliError(`-c ${change}: unbalanced quotes`);
  if (inWord) out.push(word);
  return out;
}

// ---------------------------------------------------------------------------------------
// stop, kill, rm

async function stopAll(ctx: CommandContext, args: readonly string[], verb: 'stop' | 'kill'): Promise<void> {
  const { io } = ctx;
  const containers = new ContainerStore(containersDir(io));
  await eachArg(ctx, args, async (arg) => {
    const c = await containers.require(arg);
    if (c.state.Status !== 'running') {
      if (verb === 'kill') throw new CliError(`cannot kill container ${arg}: it is not running`);
    } else {
      await stopRunning(containers, c);
    }
    await io.stdout.write(`${arg}\n`);
  });
}

async function rm(ctx: CommandContext, args: readonly string[], opts: { force?: boolean; volumes?: boolean }): Promise<void> {
  const { io } = ctx;
  const containers = new ContainerStore(containersDir(io));
  let volumes: VolumeManager | undefined;
  await eachArg(ctx, args, async (arg) => {
    let c = await containers.require(arg);
    if (c.state.Status === 'running') {
      if (opts.force !== true) {
        throw new CliError(`cannot remove container ${arg}: it is running: stop it first (skiff stop ${arg}), or remove it with -f`);
      }
      c = (await stopRunning(containers, c)) ?? c;
    }
    await containers.remove(c);
    if (opts.volumes === true) {
      volumes ??= openVolumes(io);
      await removeAnonymousVolumes(containers, volumes, c);
    }
    await io.stdout.write(`${arg}\n`);
  });
}

/** `rm -v`: the container's anonymous volumes that no other kept container uses. */
async function removeAnonymousVolumes(containers: ContainerStore, volumes: VolumeManager, c: KeptContainer): Promise<void> {
  const inUse = new Set((await containers.list()).flatMap((o) => o.config.Mounts.map((m) => m.Name)));
  for (const m of c.config.Mounts) {
    if (m.Type !== 'volume' || m.Name === undefined || inUse.has(m.Name)) continue;
    if (volumes.get(m.Name)?.anonymous === true) volumes.remove(m.Name);
  }
}

/**
 * Stops a running container: in this process directly, else by asking its owner (SIGTERM);
 * resolves with its record once the exit is recorded (undefined if the owner removed it,
 * as `run --rm` does).
 */
async function stopRunning(containers: ContainerStore, c: KeptContainer): Promise<KeptContainer | undefined> {
  const id = c.config.Id;
  const here = runningHere.get(id);
  if (here !== undefined) {
    await here.stop();
  } else {
    const pid = c.state.Pid;
    if (pid === process.pid) throw new CliError(`container ${c.config.Name} is recorded as running in this very process, which does not run it`);
    try {
      process.kill(pid, 'SIGTERM');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw new CliError(`cannot stop container ${c.config.Name}: signalling its skiff run process ${pid}: ${(e as Error).message}`);
    }
  }
  const deadline = Date.now() + STOP_WAIT_MS;
  for (;;) {
    const now = await containers.read(id);
    if (now === undefined || now.state.Status !== 'running') return now;
    if (Date.now() > deadline) {
      throw new CliError(`container ${c.config.Name} did not stop: its skiff run process ${c.state.Pid} ${processAlive(c.state.Pid) ? 'is alive but did not record an exit' : 'is gone'}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs `fn` for each argument; a failure is reported and the others go on (exit 1). */
async function eachArg(ctx: CommandContext, args: readonly string[], fn: (arg: string) => Promise<void>): Promise<void> {
  for (const arg of args) {
    try {
      await fn(arg);
    } catch (e) {
      const message = expectedMessage(e);
      if (message === undefined) throw e;
      await ctx.io.stderr.write(`skiff: ${message}\n`);
      ctx.fail();
    }
  }
}

// ---------------------------------------------------------------------------------------
// inspect

/** The container `arg` names, or undefined (for `inspect`, which then tries images). */
export function findContainer(io: IO, arg: string): Promise<KeptContainer | undefined> {
  return new ContainerStore(containersDir(io)).find(arg);
}

/** docker's container inspect shape. */
export function inspectContainer(io: IO, c: KeptContainer): unknown {
  const { config, state } = c;
  const dir = `${containersDir(io)}/${config.Id}`;
  return {
    Id: config.Id,
    Created: config.Created,
    Path: config.Path,
    Args: config.Args,
    State: {
      Status: state.Status,
      Running: state.Running,
      Paused: false,
      Restarting: false,
      OOMKilled: state.OOMKilled,
      Dead: false,
      Pid: state.Pid,
      ExitCode: state.ExitCode,
      Error: state.Error,
      StartedAt: state.StartedAt || ZERO_TIME,
      FinishedAt: state.FinishedAt || ZERO_TIME,
      Reason: state.Reason,
    },
    Image: config.Image,
    LogPath: `${dir}/container.log`,
    Name: `/${config.Name}`,
    RestartCount: 0,
    Driver: 'skiff-overlay',
    Platform: 'wasip1',
    HostConfig: config.HostConfig,
    Mounts: config.Mounts,
    NetworkSettings: { Ports: state.Status === 'running' ? (state.Ports ?? {}) : {} },
    Config: {
      Hostname: config.Id.slice(0, 12),
      Env: config.Config.Env,
      Cmd: config.Config.Cmd,
      Image: config.Config.Image,
      Volumes: config.Config.Volumes,
      WorkingDir: config.Config.WorkingDir,
      Entrypoint: config.Config.Entrypoint,
      OpenStdin: config.Config.OpenStdin,
      Labels: config.Config.Labels,
    },
  };
}

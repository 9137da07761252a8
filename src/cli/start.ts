/**
 * `skiff start -a` and `skiff exec`: a kept container (container-store.ts) run again,
 * and a program run in a running one.
 *
 *   skiff start -a [-i] CONTAINER         restarts an exited (or created) container in the
 *                                         foreground with the files its runs left
 *                                         (upper.tar), its configuration as `skiff run`
 *                                         recorded it, and its volumes; its output is
 *                                         streamed and appended to its log; skiff exits
 *                                         with its exit code, as `docker start -a`. Without
 *                                         -a it would run in the background: refused until
 *                                         the daemon exists.
 *   skiff exec [-e K=V] [-w DIR] [-i] CONTAINER CMD [ARG…]
 *                                         runs CMD (a module in the container's files,
 *                                         found on its PATH) in the running container's
 *                                         root and volumes, in the foreground, and exits
 *                                         with its exit code (127: CMD is not in the
 *                                         container; 126: it cannot be run).
 *
 * There is no daemon yet, so a running container belongs to the process that runs it
 * (`skiff run`, `skiff start -a`): exec works only from within that process (the library
 * API, `Runtime.exec`, and in-process callers such as the tests). From another process it
 * is refused with a message saying so: exec across processes comes with the daemon.
 */
import { type Command } from 'commander';
import type { Image } from '../layers/image-store.js';
import { nodePlatform } from '../platform/node/index.js';
import type { PublishSpec } from '../sandbox/network.js';
import { Runtime, type ContainerSpec } from '../sandbox/runtime.js';
import type { MountRequest } from '../sandbox/volumes.js';
import { ContainerStore, type KeptContainer } from './container-store.js';
import { containersDir, openImageStore, openVolumes } from './home.js';
import { CliError, type CommandContext } from './io.js';
import { Forwarder, createContainer, environment, exitedState, portsOf, runForeground, runningHere } from './run.js';

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function registerStartCommands(program: Command, ctx: CommandContext): void {
  program
    .command('start')
    .summary('Start a stopped container again, in the foreground (-a)')
    .description("Start a kept container again with its files, configuration and volumes, attached to its output (docker start -a); skiff exits with the container's exit code")
    .argument('<container>', 'a name or ID')
    .option('-a, --attach', "attach to the container's output and wait for it to exit (required until the daemon exists)")
    .option('-i, --interactive', "read stdin to its end and give it to the guest")
    .action((arg: string, opts: { attach?: boolean; interactive?: boolean }) => start(ctx, arg, opts));

  program
    .command('exec')
    .summary('Run a command in a running container')
    .description("Run CMD, a WebAssembly module in the container's files (found on its PATH), in the running container's root filesystem and volumes; skiff exits with its exit code")
    .usage('[OPTIONS] CONTAINER CMD [ARG...]')
    .argument('<container>', 'a name or ID')
    .argument('<cmd>', 'the command (a module in the container)')
    .argument('[args...]', 'its arguments')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (KEY alone: take its value from here); repeatable', collect)
    .option('--env-file <file>', 'read environment variables from a file of KEY=VALUE lines; repeatable', collect)
    .option('-w, --workdir <dir>', "working directory (default: the container's)")
    .option('-i, --interactive', 'read stdin to its end and give it to the command')
    .passThroughOptions()
    .addHelpText('after', "\nExec reaches containers run by this same skiff process only, until the daemon exists.")
    .action((arg: string, cmd: string, args: string[], opts: { env?: string[]; envFile?: string[]; workdir?: string; interactive?: boolean }) => exec(ctx, arg, [cmd, ...args], opts));
}

// ---------------------------------------------------------------------------------------
// start

async function start(ctx: CommandContext, arg: string, opts: { attach?: boolean; interactive?: boolean }): Promise<void> {
  const { io } = ctx;
  const containers = new ContainerStore(containersDir(io));
  const kept = await containers.require(arg);
  const id = kept.config.Id;
  const name = kept.config.Name;
  if (opts.attach !== true) {
    throw new CliError(`start without -a would run container ${name} in the background, which needs the skiff daemon (not available yet): start it in the foreground with skiff start -a ${name}`);
  }
  if (kept.state.Status === 'running') throw new CliError(`container ${name} is already running (in skiff process ${kept.state.Pid}): stop it first (skiff stop ${name})`);
  const store = await openImageStore(io);
  const image = await store.get(kept.config.Image);
  if (image === undefined) {
    throw new CliError(`container ${name}: its image ${kept.config.Config.Image} (${kept.config.Image}) is no longer in the image store: load it again to start this container`);
  }
  const upper = await containers.readUpper(id);
  const stdin = opts.interactive === true ? await io.stdin.readAll() : undefined;
  const volumes = openVolumes(io, { allowBind: true });
  const runtime = new Runtime({ platform: nodePlatform, store, volumes, poolSize: 1 });
  const out = new Forwarder(io);
  const writer = containers.logWriter(id);
  try {
    const info = await createContainer(runtime, {
      ...specOf(kept, image),
      store,
      ...(upper !== undefined ? { upper } : {}),
      ...(stdin !== undefined ? { stdin } : {}),
      onLog: (entry) => {
        out.forward(entry);
        writer.append(entry);
      },
    });
    const running = { ...kept.state, Status: 'running', Running: true, Pid: process.pid, ExitCode: 0, Reason: '', Error: '', OOMKilled: false, StartedAt: new Date().toISOString() } as const;
    let status;
    try {
      status = await runForeground(
        io,
        runtime,
        info.id,
        {
          starting: () => containers.setState(id, running),
          started: async () => {
            const { ports } = runtime.inspect(info.id);
            if (ports.length > 0) await containers.setState(id, { ...running, Ports: portsOf(ports) });
          },
        },
        id,
      );
    } finally {
      writer.close();
      await out.flushed();
      await containers.writeUpper(id, runtime.upper(info.id));
      await containers.setState(id, exitedState(runtime.inspect(info.id)));
      await runtime.remove(info.id, { force: true });
    }
    ctx.exit(status.exitCode);
  } finally {
    writer.close();
    await runtime.close();
  }
}

/** The spec `skiff run` made the kept container with, from its record (docker's inspect fields). */
function specOf(kept: KeptContainer, image: Image): ContainerSpec {
  const { config } = kept;
  const mounts = config.Mounts.map((m): MountRequest => {
    switch (m.Type) {
      case 'volume':
        return { type: 'volume', name: m.Name as string, target: m.Destination, readonly: !m.RW };
      case 'bind':
        return { type: 'bind', source: m.Source, target: m.Destination, readonly: !m.RW };
      case 'tmpfs':
        return { type: 'tmpfs', target: m.Destination };
    }
  });
  const publish: PublishSpec[] = Object.entries(config.HostConfig.PortBindings).flatMap(([port, bindings]) =>
    bindings.map((b) => ({ containerPort: Number.parseInt(port, 10), hostAddress: b.HostIp || '127.0.0.1', hostPort: b.HostPort === '' ? 0 : Number(b.HostPort) })),
  );
  return {
    image,
    name: config.Name,
    entrypoint: [config.Path],
    cmd: config.Args,
    env: config.Config.Env,
    // As given then: `-w` (which also sets PWD), or the image's.
    ...(config.Config.WorkingDir !== (image.config.config?.WorkingDir || '/') ? { workingDir: config.Config.WorkingDir } : {}),
    mounts,
    ...(publish.length > 0 ? { publish } : {}),
    ...(config.HostConfig.Memory > 0 ? { memory: config.HostConfig.Memory } : {}),
    ...(config.HostConfig.Timeout > 0 ? { timeout: config.HostConfig.Timeout } : {}),
  };
}

// ---------------------------------------------------------------------------------------
// exec

async function exec(ctx: CommandContext, arg: string, cmd: string[], opts: { env?: string[]; envFile?: string[]; workdir?: string; interactive?: boolean }): Promise<void> {
  const { io } = ctx;
  const containers = new ContainerStore(containersDir(io));
  const kept = await containers.require(arg);
  const name = kept.config.Name;
  if (kept.state.Status !== 'running') throw new CliError(`container ${name} is not running: exec runs a command in a running container (start it with skiff start -a ${name})`);
  const here = runningHere.get(kept.config.Id);
  if (here === undefined) {
    throw new CliError(
      `container ${name} runs in another skiff process (pid ${kept.state.Pid}): exec across processes comes with the skiff daemon, which is not available yet; until then exec reaches only containers run by the same process (the library's Runtime.exec)`,
    );
  }
  const env = await environment(io, { env: opts.env ?? [], envFile: opts.envFile ?? [] });
  const stdin = opts.interactive === true ? await io.stdin.readAll() : undefined;
  const out = new Forwarder(io);
  const r = await here.exec({
    cmd,
    env,
    ...(opts.workdir !== undefined ? { workingDir: opts.workdir } : {}),
    ...(stdin !== undefined ? { stdin } : {}),
    onLog: (entry) => out.forward(entry),
  });
  await out.flushed();
  ctx.exit(r.exitCode);
}

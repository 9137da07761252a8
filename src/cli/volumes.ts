/**
 * `skiff volume create|ls|inspect|rm|prune`: named volumes in `$SKIFF_HOME/volumes`
 * (sandbox/volumes.ts; each a directory `<name>/_data` on the host). `skiff run -v
 * NAME:/path` creates a volume on first use, as docker does; a volume outlives the
 * containers that use it.
 *
 * A volume is *in use* while a kept container (running or not) mounts it, as docker
 * counts it: `rm` refuses it until the container is removed, `prune` skips it.
 */
import type { Command } from 'commander';
import { VolumeError } from '../sandbox/volumes.js';
import { ContainerStore } from './container-store.js';
import { table } from './format.js';
import { containersDir, openVolumes } from './home.js';
import { CliError, type CommandContext, expectedMessage } from './io.js';

export function registerVolumeCommands(program: Command, ctx: CommandContext): void {
  const volume = program.command('volume').description('Manage named volumes').usage('COMMAND');
  volume.helpCommand(false);

  volume
    .command('create')
    .description('Create a volume (a name exists already: nothing changes); prints its name')
    .argument('[name]', 'its name (default: a random one, an anonymous volume)')
    .option('-l, --label <KEY=VALUE>', 'set a label; repeatable', (v: string, p: string[] | undefined) => [...(p ?? []), v])
    .action((name: string | undefined, opts: { label?: string[] }) => create(ctx, name, opts));

  volume
    .command('ls')
    .alias('list')
    .description('List volumes')
    .option('-q, --quiet', 'only show volume names')
    .action((opts: { quiet?: boolean }) => ls(ctx, opts));

  volume
    .command('inspect')
    .description('Show detailed information on volumes, as a JSON array (docker volume inspect)')
    .argument('<name...>', 'volume names')
    .action((names: string[]) => inspect(ctx, names));

  volume
    .command('rm')
    .alias('remove')
    .description('Remove volumes and their data; a volume a container uses is refused')
    .argument('<name...>', 'volume names')
    .option('-f, --force', 'no error for a volume that does not exist')
    .action((names: string[], opts: { force?: boolean }) => rm(ctx, names, opts));

  volume
    .command('prune')
    .description('Remove the anonymous volumes no container uses (all unused volumes with -a)')
    .option('-a, --all', 'remove unused named volumes too')
    .action((opts: { all?: boolean }) => prune(ctx, opts));

  for (const c of volume.commands) c.showHelpAfterError(`See 'skiff volume ${c.name()} --help'.`);
}

async function create(ctx: CommandContext, name: string | undefined, opts: { label?: string[] }): Promise<void> {
  const labels: Record<string, string> = {};
  for (const l of opts.label ?? []) {
    const eq = l.indexOf('=');
    if (eq <= 0) throw new CliError(`--label ${l}: use KEY=VALUE`);
    labels[l.slice(0, eq)] = l.slice(eq + 1);
  }
  const v = openVolumes(ctx.io).create(name, { labels });
  if (v instanceof VolumeError) throw new CliError(v.message);
  await ctx.io.stdout.write(`${v.name}\n`);
}

async function ls(ctx: CommandContext, opts: { quiet?: boolean }): Promise<void> {
  const names = openVolumes(ctx.io)
    .list()
    .map((v) => v.name);
  if (opts.quiet === true) await ctx.io.stdout.write(names.map((n) => `${n}\n`).join(''));
  else await ctx.io.stdout.write(table(['DRIVER', 'VOLUME NAME'], names.map((n) => ['local', n])));
}

async function inspect(ctx: CommandContext, names: readonly string[]): Promise<void> {
  const volumes = openVolumes(ctx.io);
  const out: unknown[] = [];
  for (const name of names) {
    const info = volumes.inspect(name);
    if (info instanceof VolumeError) {
      await ctx.io.stderr.write(`skiff: ${info.message}\n`);
      ctx.fail();
    } else out.push(info);
  }
  await ctx.io.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
}

async function rm(ctx: CommandContext, names: readonly string[], opts: { force?: boolean }): Promise<void> {
  const volumes = openVolumes(ctx.io);
  const users = await volumeUsers(ctx);
  for (const name of names) {
    try {
      if (volumes.get(name) === undefined) {
        if (opts.force === true) continue;
        throw new CliError(`no such volume: ${name}`);
      }
      const by = users.get(name);
      if (by !== undefined) throw new CliError(`remove ${name}: volume is in use - [${by.join(', ')}]: remove those containers first (skiff rm)`);
      const r = volumes.remove(name);
      if (r instanceof VolumeError) throw new CliError(r.message);
      await ctx.io.stdout.write(`${name}\n`);
    } catch (e) {
      const message = expectedMessage(e);
      if (message === undefined) throw e;
      await ctx.io.stderr.write(`skiff: ${message}\n`);
      ctx.fail();
    }
  }
}

async function prune(ctx: CommandContext, opts: { all?: boolean }): Promise<void> {
  const volumes = openVolumes(ctx.io);
  const users = await volumeUsers(ctx);
  const removed: string[] = [];
  for (const v of volumes.list()) {
    if (!(opts.all === true || v.anonymous) || users.has(v.name)) continue;
    if (volumes.remove(v.name) === undefined) removed.push(v.name);
  }
  await ctx.io.stdout.write(removed.length === 0 ? 'Deleted Volumes: none\n' : `Deleted Volumes:\n${removed.map((n) => `${n}\n`).join('')}`);
}

/** Volume name → the IDs (12 digits) of the kept containers that mount it. */
async function volumeUsers(ctx: CommandContext): Promise<Map<string, string[]>> {
  const users = new Map<string, string[]>();
  for (const c of await new ContainerStore(containersDir(ctx.io)).list()) {
    for (const m of c.config.Mounts) {
      if (m.Type !== 'volume' || m.Name === undefined) continue;
      users.set(m.Name, [...(users.get(m.Name) ?? []), c.config.Id.slice(0, 12)]);
    }
  }
  return users;
}

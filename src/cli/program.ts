/**
 * The `skiff` command line as a function of its arguments and an `IO`: `run(argv, io)`
 * parses with commander, runs one command and resolves to the exit status (the scheme is
 * in main.ts). It never exits the process and never touches `process.std*`, so tests run
 * it in-process; main.ts wires it to the real process.
 */
import { Command, CommanderError } from 'commander';
import { registerContainerCommands } from './containers.js';
import { HOME_ENV } from './home.js';
import { registerImageCommands } from './images.js';
import { CliError, type CommandContext, type IO, expectedMessage } from './io.js';
import { RUN_FAILED, registerRunCommand } from './run.js';
import { registerStartCommands } from './start.js';
import { registerVolumeCommands } from './volumes.js';

/** Exit statuses; see main.ts. */
export const ExitStatus = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * Commands whose own failures (bad usage included) exit with another status: `run`
 * exits with the guest's status, so skiff's errors use docker's 125 to stay apart.
 */
const FAILURE_STATUS: Readonly<Record<string, number>> = { run: RUN_FAILED };

export interface ProgramInfo {
  readonly version: string;
}

const HELP_FOOTER = `
IMAGE arguments are refs (web, web:1, team/web@sha256:…), manifest digests
(sha256:…) or image IDs as 'skiff images' shows them (a prefix of the digest's hex).

Environment:
  ${HOME_ENV}   where skiff keeps its state (default: ~/.skiff). Images live in
               $${HOME_ENV}/images, an OCI image layout directory that other OCI
               tools read as it is (skopeo inspect oci:$${HOME_ENV}/images:web:latest).

  Containers are kept in $${HOME_ENV}/containers, named volumes in $${HOME_ENV}/volumes.

Exit status:
  0 success; 1 the operation failed (the message on stderr says why);
  2 the command line is wrong (unknown command or option, missing argument).
  'skiff run' exits with the guest's status, and 125 for its own errors (as docker run).

Run 'skiff COMMAND --help' for more information on a command.`;

/** Builds the command tree. Output and exits go through `ctx.io` and exceptions (exitOverride). */
export function createProgram(ctx: CommandContext, info: ProgramInfo): Command {
  const { io } = ctx;
  const program = new Command('skiff')
    .usage('[options] COMMAND')
    .description('WebAssembly containers whose images are OCI images, and a Kubernetes-style micro-cluster')
    .version(`skiff version ${info.version}`, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'print help')
    .addHelpText('after', HELP_FOOTER)
    .configureHelp({ sortSubcommands: true })
    // Options after a command belong to it (`skiff run -v data:/d` is not --version).
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      // commander's "error: unknown option '--x'" → "skiff: unknown option '--x'"
      outputError: (s, write) => write(s.replace(/^error: /, 'skiff: ')),
    });
  program.helpCommand('help [command]', 'print help for a command');
  registerImageCommands(program, ctx);
  registerRunCommand(program, ctx);
  registerContainerCommands(program, ctx);
  registerStartCommands(program, ctx);
  registerVolumeCommands(program, ctx);
  for (const c of program.commands) c.showHelpAfterError(`See 'skiff ${c.name()} --help'.`);
  program.showHelpAfterError("See 'skiff --help'.");
  return program;
}

/** Runs the command line `argv` (without `node` and the script) and resolves to its exit status. */
export async function run(argv: readonly string[], io: IO, info: ProgramInfo): Promise<number> {
  let status: number = ExitStatus.ok;
  let failed: number = ExitStatus.failed;
  let usage: number = ExitStatus.usage;
  const ctx: CommandContext = {
    io,
    fail: () => {
      status = failed;
    },
    exit: (s) => {
      status = s;
    },
  };
  const program = createProgram(ctx, info);
  program.hook('preSubcommand', (_program, command) => {
    const own = FAILURE_STATUS[command.name()];
    if (own !== undefined) failed = usage = own;
  });
  if (argv.length === 0) {
    program.outputHelp();
    return ExitStatus.ok;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return status;
  } catch (e) {
    // commander has printed its message (help, version, or a usage error) already.
    if (e instanceof CommanderError) return e.exitCode === 0 ? ExitStatus.ok : usage;
    const message = expectedMessage(e);
    if (message !== undefined) {
      await io.stderr.write(`skiff: ${message}\n`);
    } else {
      const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
      await io.stderr.write(`skiff: unexpected error (a bug; please report it):\n${detail}\n`);
    }
    return e instanceof CliError && e.status !== undefined ? e.status : failed;
  }
}

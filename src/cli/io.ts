/**
 * What a command runs against: its standard streams, environment and working directory,
 * injected so that tests run commands in-process with fakes, and `main.ts` alone wires
 * `process.*`.
 *
 * Contracts: `write` resolves once the data is handed to the stream (a caller that awaits
 * it respects back-pressure); writes to one output appear in call order. Commands never
 * touch `process` themselves.
 */
import { SkiffError } from '../layers/errors.js';

export interface Output {
  /** Writes text (UTF-8) or bytes. */
  write(data: string | Uint8Array): Promise<void>;
  /** A terminal: binary output is refused, progress bars are drawn. */
  readonly isTTY: boolean;
  /** Terminal width, when known. */
  readonly columns?: number;
}

export interface Input {
  readonly isTTY: boolean;
  /** Everything until end of input. */
  readAll(): Promise<Uint8Array>;
}

export interface IO {
  readonly stdin: Input;
  readonly stdout: Output;
  readonly stderr: Output;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Relative paths in arguments and `$SKIFF_HOME` resolve from here. */
  readonly cwd: string;
  /** Milliseconds since the epoch, for "3 hours ago"; `Date.now` unless a test fixes it. */
  readonly now?: () => number;
  /**
   * Catches SIGINT and SIGTERM while a foreground command (`skiff run`) runs: `handler`
   * is called instead of the process ending. Returns the function that stops catching.
   * Absent (in-process tests): signals are not caught.
   */
  readonly onSignal?: (handler: (signal: Signal) => void) => () => void;
}

export type Signal = 'SIGINT' | 'SIGTERM';

/**
 * An operation the command line itself refuses or cannot do (exit status 1), as opposed
 * to the library's typed `SkiffError`s, which main.ts prints the same way.
 */
export class CliError extends Error {
  /** The exit status, when not the command's usual one for a failure (`skiff run`: 126, 127). */
  readonly status: number | undefined;
  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options);
    this.name = 'CliError';
    this.status = options?.status;
  }
}

/** What a command module's commands get: the IO, and a way to fail without stopping. */
export interface CommandContext {
  readonly io: IO;
  /**
   * Marks the run as failed (exit status 1) and goes on: for commands that report an
   * error for one argument and continue with the others (`rmi a b c`), as docker does.
   */
  fail(): void;
  /** Sets the exit status outright: a guest's exit code (`skiff run`). */
  exit(status: number): void;
}

/**
 * The message of an expected failure, printed as `skiff: <message>` with exit status 1:
 * the library's typed errors, `CliError`, and the operating system's errors (a missing
 * or unreadable file, a full disk). `undefined` for anything else: a bug.
 */
export function expectedMessage(e: unknown): string | undefined {
  if (e instanceof SkiffError || e instanceof CliError) return e.message;
  if (e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && typeof (e as { syscall?: unknown }).syscall === 'string') {
    return e.message;
  }
  return undefined;
}

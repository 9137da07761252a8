/**
 * Containers kept across invocations of `skiff`, in `$SKIFF_HOME/containers`. There is no
 * daemon yet: the `skiff run` process that runs a container is its *owner* while it runs,
 * and the only writer of its state; other invocations read the records, and ask the owner
 * to stop (a signal) when they must.
 *
 *   <id>/config.json        what runs, written once at create: docker's container inspect
 *                           fields Id, Name, Created, Path, Args, Image, Config,
 *                           HostConfig and Mounts
 *   <id>/state.json         docker's State, rewritten at start and at exit; its `Pid` is
 *                           the owner's process id
 *   <id>/container.log      stdout and stderr, one JSON object per chunk in docker's
 *                           json-file format ({"log","stream","time"}); past
 *                           LOG_FILE_LIMIT bytes it becomes container.log.1 (one kept)
 *   <id>/upper.tar          the container's file changes after its last run (a changeset:
 *                           an OCI layer tar, whiteouts included), when there are any
 *   .names/<name>           the id of the container holding the name
 *
 * Consistency: JSON files are written to a temporary file and renamed. A name is claimed
 * by creating its file exclusively, before the record is written, and released after the
 * record is deleted, so names stay unique across concurrent invocations. A container
 * exists once its config.json does. A state of `running` whose owner is gone (killed with
 * SIGKILL, a crash) reads as exited with 137: the record is reconciled when read, never
 * trusted.
 */
import { closeSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SkiffError, NotFoundError } from '../layers/errors.js';
import type { LogEntry, LogStream } from '../sandbox/logs.js';

/** Go's zero time, which docker prints for a time that has not happened. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';
/** Bytes of container.log before it is rotated to container.log.1. */
export const LOG_FILE_LIMIT = 4 * 1024 * 1024;

export interface MountRecord {
  readonly Type: 'volume' | 'bind' | 'tmpfs';
  /** Volume name (volumes only). */
  readonly Name?: string;
  /** Host directory: the volume's data directory, or the bind source; '' for tmpfs. */
  readonly Source: string;
  readonly Destination: string;
  readonly Driver?: 'local';
  readonly Mode: string;
  readonly RW: boolean;
  readonly Propagation: string;
}

/** config.json: docker's inspect fields that do not change after create. */
export interface ContainerConfigRecord {
  readonly Id: string;
  /** Without docker's leading '/'. */
  readonly Name: string;
  readonly Created: string;
  readonly Path: string;
  readonly Args: readonly string[];
  /** The image's manifest digest (docker: the image ID). */
  readonly Image: string;
  readonly Config: {
    /** The image as the user named it. */
    readonly Image: string;
    readonly Cmd: readonly string[] | null;
    readonly Entrypoint: readonly string[] | null;
    readonly Env: readonly string[];
    readonly WorkingDir: string;
    readonly Labels: Readonly<Record<string, string>>;
    readonly OpenStdin: boolean;
    readonly Volumes: Readonly<Record<string, object>> | null;
  };
  readonly HostConfig: {
    readonly AutoRemove: boolean;
    /** Bytes; 0: no limit. */
    readonly Memory: number;
    /** skiff's wall-clock limit of a run, in ms; 0: none. */
    readonly Timeout: number;
    readonly Binds: readonly string[];
    readonly Tmpfs: Readonly<Record<string, string>>;
    readonly PortBindings: Readonly<Record<string, readonly { HostIp: string; HostPort: string }[]>>;
  };
  readonly Mounts: readonly MountRecord[];
}

export type ContainerStatus = 'created' | 'running' | 'exited';

/** state.json: docker's State, plus skiff's `Reason` (Completed, Error, OOMKilled, Killed, DeadlineExceeded). */
export interface StateRecord {
  readonly Status: ContainerStatus;
  readonly Running: boolean;
  readonly Paused: false;
  readonly Restarting: false;
  readonly OOMKilled: boolean;
  readonly Dead: false;
  /** The owner's process id while running; 0 otherwise. */
  readonly Pid: number;
  readonly ExitCode: number;
  readonly Reason: string;
  readonly Error: string;
  readonly StartedAt: string;
  readonly FinishedAt: string;
  /** While running: docker's `NetworkSettings.Ports` (`"80/tcp": [{ HostIp, HostPort }]`, null when not published). */
  readonly Ports?: Readonly<Record<string, readonly { readonly HostIp: string; readonly HostPort: string }[] | null>>;
}

export interface KeptContainer {
  readonly config: ContainerConfigRecord;
  readonly state: StateRecord;
}

export interface LogLine {
  readonly stream: LogStream;
  /** RFC 3339 with nanoseconds, as docker writes it. */
  readonly time: string;
  readonly bytes: Uint8Array;
}

export function createdState(): StateRecord {
  return { Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Reason: '', Error: '', StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME };
}

const CONFIG = 'config.json';
const STATE = 'state.json';
const LOG = 'container.log';
const UPPER = 'upper.tar';
const NAMES = '.names';
const ID = /^[0-9a-f]{64}$/;
/** The runtime's rule for container names; nothing else is looked up as a file. */
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export class ContainerStore {
  constructor(readonly dir: string) {}

  /** Claims `name` for container `id`; false if another container holds it. */
  async claimName(name: string, id: string): Promise<boolean> {
    await mkdir(join(this.dir, NAMES), { recursive: true });
    try {
      await writeFile(join(this.dir, NAMES, name), id, { flag: 'wx' });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
  }

  /** Releases `name` if `id` holds it. */
  async releaseName(name: string, id: string): Promise<void> {
    const path = join(this.dir, NAMES, name);
    const holder = await readFile(path, 'utf8').catch(() => undefined);
    if (holder === id) await unlink(path).catch(() => undefined);
  }

  /** Writes a new container's record (its name claimed already). */
  async create(config: ContainerConfigRecord, state: StateRecord): Promise<void> {
    await mkdir(join(this.dir, config.Id), { recursive: true });
    await writeJson(join(this.dir, config.Id, STATE), state);
    await writeJson(join(this.dir, config.Id, CONFIG), config);
  }

  async setState(id: string, state: StateRecord): Promise<void> {
    await writeJson(join(this.dir, id, STATE), state);
  }

  /** Every container, newest first. */
  async list(): Promise<KeptContainer[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: KeptContainer[] = [];
    for (const id of names.filter((n) => ID.test(n))) {
      const c = await this.read(id);
      if (c !== undefined) out.push(c);
    }
    return out.sort((a, b) => (a.config.Created < b.config.Created ? 1 : a.config.Created > b.config.Created ? -1 : 0));
  }

  /** The container `arg` names: its id, a unique prefix of its id, or its name. */
  async find(arg: string): Promise<KeptContainer | undefined> {
    if (ID.test(arg)) {
      const c = await this.read(arg);
      if (c !== undefined) return c;
    }
    const name = arg.replace(/^\//, ''); // docker prints names as /NAME
    const named = NAME.test(name) ? await readFile(join(this.dir, NAMES, name), 'utf8').catch(() => undefined) : undefined;
    if (named !== undefined && ID.test(named)) {
      const c = await this.read(named);
      if (c !== undefined) return c;
    }
    if (/^[0-9a-f]{1,63}$/.test(arg)) {
      const matches = (await this.list()).filter((c) => c.config.Id.startsWith(arg));
      if (matches.length > 1) throw new SkiffError('CONFLICT', `container ID ${arg} is ambiguous: ${matches.length} containers have IDs starting with it; give more digits`);
      return matches[0];
    }
    return undefined;
  }

  async require(arg: string): Promise<KeptContainer> {
    const c = await this.find(arg);
    if (c === undefined) throw new NotFoundError(`no such container: ${arg}`);
    return c;
  }

  /** The record of `id`, its state reconciled with its owner; undefined if there is none. */
  async read(id: string): Promise<KeptContainer | undefined> {
    let config: ContainerConfigRecord;
    try {
      config = JSON.parse(await readFile(join(this.dir, id, CONFIG), 'utf8')) as ContainerConfigRecord;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || e instanceof SyntaxError) return undefined;
      throw e;
    }
    let state: StateRecord;
    try {
      state = JSON.parse(await readFile(join(this.dir, id, STATE), 'utf8')) as StateRecord;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && !(e instanceof SyntaxError)) throw e;
      state = createdState();
    }
    if (state.Status === 'running' && !processAlive(state.Pid)) {
      const { Ports: _ports, ...rest } = state;
      state = {
        ...rest,
        Status: 'exited',
        Running: false,
        Pid: 0,
        ExitCode: 137,
        Reason: 'Killed',
        Error: `its skiff run process (pid ${state.Pid}) ended without recording the exit`,
        FinishedAt: state.StartedAt,
      };
    }
    return { config, state };
  }

  /** Deletes the record, then releases its name. */
  async remove(c: Pick<KeptContainer, 'config'>): Promise<void> {
    await rm(join(this.dir, c.config.Id), { recursive: true, force: true });
    await this.releaseName(c.config.Name, c.config.Id);
  }

  async writeUpper(id: string, upper: Uint8Array | undefined): Promise<void> {
    const path = join(this.dir, id, UPPER);
    if (upper === undefined || upper.length === 0) {
      await unlink(path).catch(() => undefined);
      return;
    }
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, upper);
    await rename(tmp, path);
  }

  /** The container's changeset, or undefined when its runs changed no file. */
  async readUpper(id: string): Promise<Uint8Array | undefined> {
    try {
      const b = await readFile(join(this.dir, id, UPPER));
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** Appends log entries to the container's log file (synchronously, in order). */
  logWriter(id: string): LogWriter {
    return new LogWriter(join(this.dir, id, LOG));
  }

  /** The log lines kept, oldest first. A line cut short by a crash is skipped. */
  async readLogs(id: string): Promise<LogLine[]> {
    const out: LogLine[] = [];
    for (const file of [`${LOG}.1`, LOG]) {
      let text: string;
      try {
        text = await readFile(join(this.dir, id, file), 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      for (const line of text.split('\n')) {
        if (line === '') continue;
        let j: { log?: unknown; log_base64?: unknown; stream?: unknown; time?: unknown };
        try {
          j = JSON.parse(line) as typeof j;
        } catch {
          continue;
        }
        const stream: LogStream = j.stream === 'stderr' ? 'stderr' : 'stdout';
        const bytes =
          typeof j.log_base64 === 'string' ? Uint8Array.from(Buffer.from(j.log_base64, 'base64')) : new TextEncoder().encode(typeof j.log === 'string' ? j.log : '');
        out.push({ stream, time: typeof j.time === 'string' ? j.time : ZERO_TIME, bytes });
      }
    }
    return out;
  }
}

/**
 * One container's log file, appended to as its output arrives. Text is stored as docker's
 * json-file does (`log`: the chunk as a string); a chunk that is not valid UTF-8 is
 * stored as `log_base64` instead, so no byte is lost.
 */
export class LogWriter {
  private fd: number | undefined;
  private size: number;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });

  constructor(private readonly path: string) {
    this.fd = openSync(path, 'a', 0o640);
    this.size = statSync(path).size;
  }

  append(entry: LogEntry): void {
    if (this.fd === undefined) return;
    let text: string | undefined;
    try {
      text = this.utf8.decode(entry.bytes);
    } catch {
      text = undefined;
    }
    const record =
      text !== undefined
        ? { log: text, stream: entry.stream, time: rfc3339Nano(entry.time) }
        : { log_base64: Buffer.from(entry.bytes).toString('base64'), stream: entry.stream, time: rfc3339Nano(entry.time) };
    const line = Buffer.from(`${JSON.stringify(record)}\n`);
    if (this.size > 0 && this.size + line.length > LOG_FILE_LIMIT) {
      closeSync(this.fd);
      renameSync(this.path, `${this.path}.1`);
      this.fd = openSync(this.path, 'a', 0o640);
      this.size = 0;
    }
    for (let at = 0; at < line.length; ) at += writeSync(this.fd, line, at);
    this.size += line.length;
  }

  /** Idempotent. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** `2024-01-02T03:04:05.123456789Z` for milliseconds since the epoch (fractional). */
export function rfc3339Nano(ms: number): string {
  const whole = Math.floor(ms);
  const iso = new Date(whole).toISOString(); // …05.123Z
  const sub = Math.round((ms - whole) * 1e6); // ns below the millisecond
  return `${iso.slice(0, -1)}${String(Math.min(sub, 999_999)).padStart(6, '0')}Z`;
}

/** Whether process `pid` exists (ours to signal or not). */
export function processAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function writeJson(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

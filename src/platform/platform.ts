/**
 * The platform: everything skiff needs that differs between Node and a browser, as one
 * object injected into the code that needs it (STYLE §7). Core code (src/layers,
 * src/sandbox, src/cluster) never asks which runtime it is in; it is handed a `Platform`.
 *
 * How a platform is chosen:
 * - Explicitly: `new Runtime({ platform })` (tests, embedders, a browser worker).
 * - By default: the package's entry point registers one with `setDefaultPlatform` when
 *   it is imported. `src/index.ts` (the Node entry, package export `.`) registers
 *   `nodePlatform` (platform/node/index.ts); a browser entry registers `browserPlatform`
 *   (platform/browser/index.ts). `defaultPlatform()` is what code uses when no platform
 *   was passed; it throws if no entry point registered one, rather than guessing.
 *
 * This is jco's preview2-shim shape (`src/nodejs/` and `src/browser/` with the same
 * exports), with the choice made by which entry module is loaded instead of by sniffing
 * globals.
 */
import type { Threads } from './threads.js';

import type { Files } from '../layers/files.js';
import type { LogFiles } from '../cluster/store/log-files.js';

export interface Platform {
  /** For messages and `inspect` output only; never branch on it. */
  readonly name: string;
  readonly threads: Threads;
  /**
   * Calls `fn` after `ms` without keeping the program alive meanwhile (housekeeping such
   * as trimming idle threads). Returns the function that cancels it.
   */
  later(ms: number, fn: () => void): () => void;
  /**
   * Host ports (Node): opens a real TCP listener on a loopback address and forwards each
   * accepted connection to a duplex stream (`docker run -p`). Absent where the platform has
   * no sockets (a browser): containers are then reached in-process only (`Runtime.fetch`).
   */
  readonly publish?: (options: PublishOptions) => Promise<PublishedPort>;
  /**
   * Reads a host file by path (Node), for APIs that take a path (`cluster.images.load`).
   * Absent where there is no host filesystem (a browser): pass bytes instead.
   */
  readonly readFile?: (path: string) => Promise<Uint8Array>;
  /**
   * Persistent storage under a host directory (Node): a `Files` for an image store's OCI
   * layout (`Cluster.start({ home })`), and `LogFiles` for the API store's log
   * (`Cluster.start({ store: { path } })`). Absent where there is no host filesystem.
   */
  readonly files?: (dir: string) => Files;
  readonly logFiles?: (dir: string) => LogFiles;
  /**
   * Turns a WebAssembly component (the component model's binary) into the JavaScript that
   * instantiates it from its core modules (jco's `transpile`, sync instantiation, no WASI
   * shims: skiff supplies every import). Absent where no transpiler is bundled (a browser):
   * components are then refused with a message saying so. Rejects on an invalid component.
   */
  readonly transpileComponent?: (bytes: Uint8Array) => Promise<TranspiledComponent>;
}

/** jco's output for one component: the instantiating module's source and its core modules by file name. */
export interface TranspiledComponent {
  /** An ES module's source exporting `instantiate(getCoreModule, imports, instantiateCore?)`. */
  readonly source: string;
  /** The core modules `getCoreModule` is asked for, by name. */
  readonly modules: Readonly<Record<string, Uint8Array>>;
  /** The interfaces it imports, unversioned (`wasi:sockets/tcp`), as keys of the `imports` object. */
  readonly imports: readonly string[];
}

/** A duplex byte stream (a container's port, in practice): what each host connection is forwarded to. */
export interface ForwardTarget {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  /** Ends both directions at once. */
  close(): void;
}

export interface PublishOptions {
  /** Host address to listen on (default 127.0.0.1); must be a loopback address. */
  readonly address?: string;
  /** Host port; 0 picks a free one. */
  readonly port: number;
  /**
   * Opens the target for one accepted connection; undefined refuses it (the connection is
   * closed). May be a promise (the target is busy): the connection waits, unread, meanwhile.
   */
  readonly connect: () => ForwardTarget | undefined | Promise<ForwardTarget | undefined>;
}

/** A listening host port. `close()` stops listening and ends every forwarded connection; idempotent. */
export interface PublishedPort {
  readonly address: string;
  /** The port listened on (the one picked, when 0 was asked). */
  readonly port: number;
  /** Connections currently forwarded (for leak checks). */
  readonly connections: number;
  close(): Promise<void>;
}

let registered: Platform | undefined;

/** Makes `platform` the default for code not given one. Called by entry points. */
export function setDefaultPlatform(platform: Platform): void {
  registered = platform;
}

/** The platform registered by the entry point. Throws when none was registered. */
export function defaultPlatform(): Platform {
  if (registered === undefined) {
    throw new Error(
      "skiff: no platform registered. Import skiff through its package entry ('skiff'), which registers the Node or browser platform, or pass `platform` explicitly (e.g. `new Runtime({ platform: nodePlatform })`).",
    );
  }
  return registered;
}

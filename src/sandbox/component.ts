/**
 * WebAssembly components (WASI 0.2 / preview 2 programs): recognising one, and the form
 * it travels in to a container thread.
 *
 * A component is transpiled once per runtime (the platform's `transpileComponent`, jco)
 * into an instantiating function's source plus its core modules; the container thread
 * evaluates that source (`new Function`, no module loader: the run is synchronous) and
 * instantiates it with skiff's preview 2 host (wasi/preview2.ts), which maps every WASI
 * import onto skiff's own streams, clocks and virtual network — never the host's.
 */
import { SkiffError } from '../layers/errors.js';

/** A transpiled component, as a container thread receives it (structured-cloneable). */
export interface ComponentCode {
  readonly kind: 'component';
  /** The body of a function returning `instantiate(getCoreModule, imports, instantiateCore?)`. */
  readonly body: string;
  readonly modules: Readonly<Record<string, WebAssembly.Module>>;
  /** Imported interfaces, unversioned (`wasi:sockets/tcp`). */
  readonly imports: readonly string[];
}

export type Instantiate = (
  getCoreModule: (name: string) => WebAssembly.Module,
  imports: Record<string, unknown>,
  instantiateCore?: (module: WebAssembly.Module, imports?: WebAssembly.Imports) => WebAssembly.Instance,
) => Record<string, unknown>;

/** The interfaces skiff's WASI 0.2 host provides (wasi/preview2.ts), unversioned. */
export const PROVIDED_INTERFACES: readonly string[] = [
  'wasi:cli/environment',
  'wasi:cli/exit',
  'wasi:cli/stdin',
  'wasi:cli/stdout',
  'wasi:cli/stderr',
  'wasi:cli/terminal-input',
  'wasi:cli/terminal-output',
  'wasi:cli/terminal-stdin',
  'wasi:cli/terminal-stdout',
  'wasi:cli/terminal-stderr',
  'wasi:clocks/monotonic-clock',
  'wasi:clocks/wall-clock',
  'wasi:filesystem/preopens',
  'wasi:filesystem/types',
  'wasi:io/error',
  'wasi:io/poll',
  'wasi:io/streams',
  'wasi:random/random',
  'wasi:random/insecure',
  'wasi:random/insecure-seed',
  'wasi:sockets/network',
  'wasi:sockets/instance-network',
  'wasi:sockets/tcp',
  'wasi:sockets/tcp-create-socket',
  'wasi:sockets/udp',
  'wasi:sockets/udp-create-socket',
  'wasi:sockets/ip-name-lookup',
];

/**
 * Refuses a component that imports what skiff does not provide, naming it (before its
 * code is ever evaluated). Import names are the component model's (`ns:pkg/iface`), which
 * the validator already restricts to letters, digits, `-`, `:`, `/`, `@` and `.`.
 */
export function checkComponentImports(imports: readonly string[]): void {
  const missing = imports.filter((i) => !/^[a-z0-9:/@.-]+$/.test(i) || !PROVIDED_INTERFACES.includes(i));
  if (missing.length > 0) throw new SkiffError('UNSUPPORTED', `the component imports ${missing.map((m) => JSON.stringify(m)).join(', ')}, which skiff does not provide (it provides WASI 0.2's cli, clocks, filesystem, io, random and sockets)`);
}

/** Whether `bytes` start like a component (`\0asm`, then layer 1) rather than a core module (version 1, layer 0). */
export function isComponent(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d && bytes[6] === 1 && bytes[7] === 0;
}

/**
 * The function body for jco's ES module `source` (sync instantiation mode): its two
 * exports (`instantiate`, `_util`) made plain declarations, and `instantiate` returned.
 * Throws if the module has any other import or export (a transpiler this was not written
 * against).
 */
export function functionBody(source: string): string {
  let body = source.replace(/^export function instantiate\(/m, 'function instantiate(').replace(/^export const _util\b/m, 'const _util');
  if (/^\s*(export|import)\s/m.test(body)) throw new SkiffError('UNSUPPORTED', 'the transpiled component has imports or exports skiff does not expect (a different jco version?)');
  body += '\nreturn instantiate;';
  return body;
}

/** Evaluates a component's instantiating function (in the container thread). */
export function instantiator(code: ComponentCode): Instantiate {
  return new Function(code.body)() as Instantiate;
}

/**
 * A guest module, checked and rewritten before it is compiled.
 *
 * What a container may import: the functions of `wasi_snapshot_preview1` and nothing
 * else, except one memory (a module linked with `--import-memory`), which the container
 * thread creates. Anything else (another module's functions, a table, a global, a tag)
 * is refused with a `ModuleError` naming the import: skiff would have nothing to give it.
 *
 * The memory limit (STYLE, anti-example: "memory limits configured but never enforced")
 * is enforced by the engine, not by watching: the module's declared memory maximum is
 * rewritten to `min(declared, limit)` (and added when absent), so `memory.grow` past the
 * limit fails inside the guest exactly as it does at the module's own maximum.
 * - a defined memory whose *initial* size exceeds the limit is refused;
 * - an imported memory is created by the thread with the module's declared maximum, so
 *   one whose maximum is absent or above the limit is refused (it would have to be given
 *   a larger memory than the limit);
 * - memory64 and shared memories are refused (unsupported).
 *
 * The parser reads only what it needs (section headers, the import and memory sections)
 * and copies every other byte as it is. It does not validate the module: the engine's
 * compile does, after the rewrite.
 */
import { SkiffError, type ErrorCode } from '../layers/errors.js';

export const PAGE_SIZE = 65536;
/** wasm32's largest memory, in pages (4 GiB). */
export const MAX_PAGES = 65536;

/** The functions of WASI preview 1 (witx `wasi_snapshot_preview1`). */
export const PREVIEW1_FUNCTIONS: ReadonlySet<string> = new Set([
  'args_get',
  'args_sizes_get',
  'environ_get',
  'environ_sizes_get',
  'clock_res_get',
  'clock_time_get',
  'fd_advise',
  'fd_allocate',
  'fd_close',
  'fd_datasync',
  'fd_fdstat_get',
  'fd_fdstat_set_flags',
  'fd_fdstat_set_rights',
  'fd_filestat_get',
  'fd_filestat_set_size',
  'fd_filestat_set_times',
  'fd_pread',
  'fd_prestat_get',
  'fd_prestat_dir_name',
  'fd_pwrite',
  'fd_read',
  'fd_readdir',
  'fd_renumber',
  'fd_seek',
  'fd_sync',
  'fd_tell',
  'fd_write',
  'path_create_directory',
  'path_filestat_get',
  'path_filestat_set_times',
  'path_link',
  'path_open',
  'path_readlink',
  'path_remove_directory',
  'path_rename',
  'path_symlink',
  'path_unlink_file',
  'poll_oneoff',
  'proc_exit',
  'proc_raise',
  'sched_yield',
  'random_get',
  'sock_accept',
  'sock_recv',
  'sock_send',
  'sock_shutdown',
]);

export type ImportKind = 'function' | 'table' | 'memory' | 'global' | 'tag';

export interface MemoryLimits {
  /** Pages. */
  readonly min: number;
  readonly max: number | undefined;
  readonly shared: boolean;
  readonly memory64: boolean;
}

export interface ModuleImport {
  readonly module: string;
  readonly name: string;
  readonly kind: ImportKind;
  /** For a memory import. */
  readonly memory?: MemoryLimits;
}

export interface ModuleInfo {
  readonly imports: readonly ModuleImport[];
  /** Memories the module defines (its memory section). */
  readonly memories: readonly MemoryLimits[];
}

export type ModuleProblem = 'malformed' | 'import' | 'memory';

/** A module skiff will not run, and why. `problem` is what a caller branches on. */
export class ModuleError extends SkiffError {
  constructor(
    readonly problem: ModuleProblem,
    message: string,
  ) {
    const code: ErrorCode = problem === 'memory' ? 'LIMIT_EXCEEDED' : 'UNSUPPORTED';
    super(code, message);
  }
}

const SECTION_IMPORT = 2;
const SECTION_MEMORY = 5;
const MAGIC = [0x00, 0x61, 0x73, 0x6d];
const utf8 = new TextDecoder('utf-8', { fatal: true });

class Reader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    readonly end = bytes.length,
  ) {
    this.pos = start;
  }
  byte(): number {
    if (this.pos >= this.end) throw malformed(`unexpected end at byte ${this.pos}`);
    return this.bytes[this.pos++] as number;
  }
  /** Unsigned LEB128 of at most `bits` bits. */
  uleb(bits = 32): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      if (shift >= bits) throw malformed(`LEB128 longer than ${bits} bits at byte ${this.pos - 1}`);
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    if (result >= 2 ** bits) throw malformed(`LEB128 value out of range at byte ${this.pos - 1}`);
    return result;
  }
  /** Signed LEB128 (s33, for heap types); the value is not needed, only skipped. */
  sleb(): void {
    for (let i = 0; ; i++) {
      if (i > 5) throw malformed(`signed LEB128 too long at byte ${this.pos}`);
      if ((this.byte() & 0x80) === 0) return;
    }
  }
  name(): string {
    const len = this.uleb();
    if (this.pos + len > this.end) throw malformed(`name past the end at byte ${this.pos}`);
    const s = this.bytes.subarray(this.pos, this.pos + len);
    this.pos += len;
    try {
      return utf8.decode(s);
    } catch {
      throw malformed(`a name is not UTF-8 at byte ${this.pos - len}`);
    }
  }
}

function malformed(what: string): ModuleError {
  return new ModuleError('malformed', `not a valid WebAssembly module: ${what}`);
}

interface Section {
  readonly id: number;
  /** Offset of the section id byte. */
  readonly start: number;
  /** Offsets of the contents. */
  readonly bodyStart: number;
  readonly end: number;
}

function sections(bytes: Uint8Array): Section[] {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) throw malformed('no \\0asm header');
  const version = (bytes[4] as number) | ((bytes[5] as number) << 8) | ((bytes[6] as number) << 16) | ((bytes[7] as number) << 24);
  if (version !== 1) {
    throw new ModuleError('malformed', version === 0x1000d ? 'this is a WebAssembly component, not a core module: components are not supported yet' : `WebAssembly binary version ${version}, expected 1`);
  }
  const out: Section[] = [];
  const r = new Reader(bytes, 8);
  while (r.pos < bytes.length) {
    const start = r.pos;
    const id = r.byte();
    const size = r.uleb();
    const bodyStart = r.pos;
    if (bodyStart + size > bytes.length) throw malformed(`section ${id} at byte ${start} runs past the end`);
    out.push({ id, start, bodyStart, end: bodyStart + size });
    r.pos = bodyStart + size;
  }
  return out;
}

function limits(r: Reader, what: string): MemoryLimits {
  const flags = r.uleb();
  if (flags > 0x07) throw new ModuleError('memory', `${what}: memory limits flags 0x${flags.toString(16)} (custom page sizes?) are not supported`);
  const memory64 = (flags & 0x04) !== 0;
  const bits = memory64 ? 64 : 32;
  const min = r.uleb(bits);
  const max = (flags & 0x01) !== 0 ? r.uleb(bits) : undefined;
  return { min, max, shared: (flags & 0x02) !== 0, memory64 };
}

function valtype(r: Reader): void {
  const t = r.byte();
  // (ref null? ht): a heap type follows.
  if (t === 0x63 || t === 0x64) r.sleb();
}

function tableLimits(r: Reader): void {
  const flags = r.uleb();
  const bits = (flags & 0x04) !== 0 ? 64 : 32;
  r.uleb(bits);
  if ((flags & 0x01) !== 0) r.uleb(bits);
}

function readImports(r: Reader): ModuleImport[] {
  const n = r.uleb();
  const out: ModuleImport[] = [];
  for (let i = 0; i < n; i++) {
    const module = r.name();
    const name = r.name();
    const kind = r.byte();
    switch (kind) {
      case 0x00:
        r.uleb();
        out.push({ module, name, kind: 'function' });
        break;
      case 0x01:
        valtype(r);
        tableLimits(r);
        out.push({ module, name, kind: 'table' });
        break;
      case 0x02:
        out.push({ module, name, kind: 'memory', memory: limits(r, `import ${module}.${name}`) });
        break;
      case 0x03:
        valtype(r);
        r.byte();
        out.push({ module, name, kind: 'global' });
        break;
      case 0x04:
        r.byte();
        r.uleb();
        out.push({ module, name, kind: 'tag' });
        break;
      default:
        throw malformed(`import ${module}.${name} of unknown kind 0x${kind.toString(16)}`);
    }
  }
  return out;
}

function readMemories(r: Reader): MemoryLimits[] {
  const n = r.uleb();
  const out: MemoryLimits[] = [];
  for (let i = 0; i < n; i++) out.push(limits(r, `memory ${i}`));
  return out;
}

/** The module's imports and defined memories. Throws `ModuleError('malformed')` on bytes it cannot read. */
export function inspectModule(bytes: Uint8Array): ModuleInfo {
  let imports: ModuleImport[] = [];
  let memories: MemoryLimits[] = [];
  for (const s of sections(bytes)) {
    if (s.id === SECTION_IMPORT) imports = readImports(new Reader(bytes, s.bodyStart, s.end));
    else if (s.id === SECTION_MEMORY) memories = readMemories(new Reader(bytes, s.bodyStart, s.end));
  }
  return { imports, memories };
}

export interface PreparedModule {
  /** The bytes to compile: the input itself when nothing needed rewriting. */
  readonly bytes: Uint8Array;
  readonly info: ModuleInfo;
  /** The memory the thread must create for a module that imports one. */
  readonly memory?: { readonly module: string; readonly name: string; readonly initial: number; readonly maximum: number };
}

/**
 * Checks `bytes` against what a container provides and applies the memory limit
 * (`memoryPages`, undefined for none). Throws `ModuleError` for a module skiff refuses.
 */
export function prepareModule(bytes: Uint8Array, memoryPages?: number): PreparedModule {
  const info = inspectModule(bytes);
  const limit = memoryPages === undefined ? undefined : Math.min(memoryPages, MAX_PAGES);
  checkImports(info.imports, limit);
  const imported = info.imports.find((i) => i.kind === 'memory');
  const memory =
    imported?.memory === undefined
      ? undefined
      : { module: imported.module, name: imported.name, initial: imported.memory.min, maximum: imported.memory.max ?? MAX_PAGES };
  for (const [i, m] of info.memories.entries()) checkMemory(m, `memory ${i}`, limit);
  if (limit === undefined || info.memories.every((m) => m.max !== undefined && m.max <= limit)) return { bytes, info, ...(memory ? { memory } : {}) };
  return { bytes: rewriteMemories(bytes, limit), info, ...(memory ? { memory } : {}) };
}

/**
 * A component's core module with the memory limit applied to the memories it defines
 * (the memories it imports are another core module's, already capped). Throws
 * `ModuleError` when a memory's minimum is above the limit.
 */
export function capDefinedMemories(bytes: Uint8Array, memoryPages: number | undefined): Uint8Array {
  if (memoryPages === undefined) return bytes;
  const info = inspectModule(bytes);
  const limit = Math.min(memoryPages, MAX_PAGES);
  for (const [i, m] of info.memories.entries()) checkMemory(m, `memory ${i}`, limit);
  if (info.memories.every((m) => m.max !== undefined && m.max <= limit)) return bytes;
  return rewriteMemories(bytes, limit);
}

/** Refuses imports a container does not provide; see the module comment. */
export function checkImports(imports: readonly ModuleImport[], limit?: number): void {
  let memories = 0;
  for (const imp of imports) {
    const where = `${imp.module}.${imp.name}`;
    if (imp.kind === 'memory' && imp.memory !== undefined) {
      if (++memories > 1) throw new ModuleError('import', `the module imports a second memory (${where}); a container provides one`);
      checkMemory(imp.memory, `imported memory ${where}`, limit);
      if (limit !== undefined && (imp.memory.max === undefined || imp.memory.max > limit)) {
        throw new ModuleError(
          'memory',
          `imported memory ${where} may grow to ${imp.memory.max === undefined ? 'the wasm32 maximum (4 GiB)' : mib(imp.memory.max)}, above the memory limit of ${mib(limit)}: link the module with a maximum (--max-memory) at or below the limit, or raise the limit`,
        );
      }
      continue;
    }
    if (imp.module !== 'wasi_snapshot_preview1') {
      throw new ModuleError('import', `the module imports ${imp.kind} ${where}, which a container does not provide (only wasi_snapshot_preview1 functions and one memory)`);
    }
    if (imp.kind !== 'function') throw new ModuleError('import', `the module imports ${imp.kind} ${where}; wasi_snapshot_preview1 has only functions`);
    if (!PREVIEW1_FUNCTIONS.has(imp.name)) throw new ModuleError('import', `the module imports ${where}, which is not a WASI preview 1 function`);
  }
}

function checkMemory(m: MemoryLimits, what: string, limit: number | undefined): void {
  if (m.memory64) throw new ModuleError('memory', `${what} is a 64-bit memory (memory64), which is not supported`);
  if (m.shared) throw new ModuleError('memory', `${what} is shared (threads), which is not supported`);
  if (limit !== undefined && m.min > limit) {
    throw new ModuleError('memory', `${what} starts at ${mib(m.min)}, above the memory limit of ${mib(limit)}: raise the limit`);
  }
}

function mib(pages: number): string {
  const bytes = pages * PAGE_SIZE;
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}

/** `bytes` with every defined memory's maximum set to min(declared, limit). */
export function rewriteMemories(bytes: Uint8Array, limit: number): Uint8Array {
  const section = sections(bytes).find((s) => s.id === SECTION_MEMORY);
  if (section === undefined) return bytes;
  const memories = readMemories(new Reader(bytes, section.bodyStart, section.end));
  const body: number[] = [...uleb(memories.length)];
  for (const m of memories) {
    const max = m.max === undefined ? limit : Math.min(m.max, limit);
    body.push(0x01 | (m.shared ? 0x02 : 0), ...uleb(m.min), ...uleb(max));
  }
  const head = [SECTION_MEMORY, ...uleb(body.length)];
  const out = new Uint8Array(bytes.length - (section.end - section.start) + head.length + body.length);
  out.set(bytes.subarray(0, section.start), 0);
  out.set(head, section.start);
  out.set(body, section.start + head.length);
  out.set(bytes.subarray(section.end), section.start + head.length + body.length);
  return out;
}

/** Unsigned LEB128 of a non-negative integer below 2^53. */
export function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return out;
}

/**
 * A tiny WebAssembly assembler for tests: modules written as instruction bytes, for
 * guests too small to deserve a source file and a toolchain (a stdout flood, a trap at
 * the memory limit, a busy WASI loop).
 */
const enc = new TextEncoder();

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

export function sleb(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => {
  const b = [...enc.encode(s)];
  return [...uleb(b.length), ...b];
};
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

export const I32 = 0x7f;
export const I64 = 0x7e;

/** Instructions (each returns its bytes). */
export const op = {
  i32: (n: number): number[] => [0x41, ...sleb(n)],
  i64: (n: number | bigint): number[] => [0x42, ...sleb(n)],
  call: (f: number): number[] => [0x10, ...uleb(f)],
  drop: [0x1a],
  localGet: (i: number): number[] => [0x20, ...uleb(i)],
  localSet: (i: number): number[] => [0x21, ...uleb(i)],
  localTee: (i: number): number[] => [0x22, ...uleb(i)],
  i32Store: [0x36, 0x02, 0x00],
  i32Add: [0x6a],
  i32LtU: [0x49],
  i32Ne: [0x47],
  memoryGrow: [0x40, 0x00],
  memoryFill: [0xfc, 0x0b, 0x00],
  loop: [0x03, 0x40],
  brIf: (depth: number): number[] => [0x0d, ...uleb(depth)],
  br: (depth: number): number[] => [0x0c, ...uleb(depth)],
  end: [0x0b],
  unreachable: [0x00],
  i32Load8U: [0x2d, 0x00, 0x00],
  i32Store8: [0x3a, 0x00, 0x00],
};

export interface ModuleText {
  /** Function types: [params, results]. */
  types: [number[], number[]][];
  /** wasi_snapshot_preview1 imports: [name, type index]. */
  imports?: [string, number][];
  /** Defined functions; the first is exported as `_start`. */
  funcs: { type: number; locals?: number[]; body: number[][] }[];
  memory: { min: number; max?: number };
  /** Import the memory as `env.memory` (linked with --import-memory) instead of defining it. */
  importMemory?: boolean;
  /** Data segments: [offset, bytes]. */
  data?: [number, string | Uint8Array][];
  /** The module's start function (a function index: imports first), run at instantiation. */
  start?: number;
}

export function assemble(m: ModuleText): Uint8Array<ArrayBuffer> {
  const imports = m.imports ?? [];
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  out.push(...section(1, vec(m.types.map(([p, r]) => [0x60, ...vec(p.map((t) => [t])), ...vec(r.map((t) => [t]))]))));
  const limits = m.memory.max === undefined ? [0x00, ...uleb(m.memory.min)] : [0x01, ...uleb(m.memory.min), ...uleb(m.memory.max)];
  const importEntries = imports.map(([n, t]) => [...name('wasi_snapshot_preview1'), ...name(n), 0x00, ...uleb(t)]);
  if (m.importMemory) importEntries.push([...name('env'), ...name('memory'), 0x02, ...limits]);
  if (importEntries.length > 0) out.push(...section(2, vec(importEntries)));
  out.push(...section(3, vec(m.funcs.map((f) => uleb(f.type)))));
  if (!m.importMemory) out.push(...section(5, vec([limits])));
  out.push(...section(7, vec([[...name('memory'), 0x02, 0x00], [...name('_start'), 0x00, ...uleb(imports.length)]])));
  if (m.start !== undefined) out.push(...section(8, uleb(m.start)));
  out.push(
    ...section(
      10,
      vec(
        m.funcs.map((f) => {
          const locals = f.locals ?? [];
          const body = [...vec(locals.map((t) => [0x01, t])), ...f.body.flat(), 0x0b];
          return [...uleb(body.length), ...body];
        }),
      ),
    ),
  );
  if (m.data !== undefined) {
    out.push(
      ...section(
        11,
        vec(
          m.data.map(([offset, bytes]) => {
            const b = typeof bytes === 'string' ? [...enc.encode(bytes)] : [...bytes];
            return [0x00, 0x41, ...sleb(offset), 0x0b, ...uleb(b.length), ...b];
          }),
        ),
      ),
    );
  }
  return new Uint8Array(out);
}

const FD_WRITE: [number[], number[]] = [[I32, I32, I32, I32], [I32]];

/** Writes `count` chunks of `size` bytes of `x` to stdout (one fd_write each), then returns. */
export function floodModule(count: number, size = 4096): Uint8Array<ArrayBuffer> {
  return assemble({
    types: [FD_WRITE, [[], []]],
    imports: [['fd_write', 0]],
    memory: { min: Math.ceil((1024 + size) / 65536) },
    funcs: [
      {
        type: 1,
        locals: [I32],
        body: [
          op.i32(0), op.i32(1024), op.i32Store,
          op.i32(4), op.i32(size), op.i32Store,
          op.i32(1024), op.i32(120), op.i32(size), op.memoryFill,
          op.loop,
          op.i32(1), op.i32(0), op.i32(1), op.i32(8), op.call(0), op.drop,
          op.localGet(0), op.i32(1), op.i32Add, op.localTee(0), op.i32(count), op.i32LtU, op.brIf(0),
          op.end,
        ],
      },
    ],
  });
}

/** Grows memory one page at a time until refused, then traps (`unreachable`): what an allocator's abort does. */
export function oomTrapModule(): Uint8Array<ArrayBuffer> {
  return assemble({
    types: [[[], []]],
    memory: { min: 1 },
    funcs: [{ type: 0, body: [op.loop, op.i32(1), op.memoryGrow, op.i32(-1), op.i32Ne, op.brIf(0), op.end, op.unreachable] }],
  });
}

/** Writes nothing to stdout forever (fd_write with no iovecs): busy, but at a WASI call all the time, so a stop is seen at once. */
export function yieldLoopModule(): Uint8Array<ArrayBuffer> {
  return assemble({
    types: [FD_WRITE, [[], []]],
    imports: [['fd_write', 0]],
    memory: { min: 1 },
    funcs: [{ type: 1, body: [op.loop, op.i32(1), op.i32(0), op.i32(0), op.i32(8), op.call(0), op.drop, op.br(0), op.end] }],
  });
}

/**
 * Creates `/<name>` exclusively (path_open on the root preopen, fd 3, O_CREAT|O_EXCL)
 * and exits with the WASI errno (0 the first time, 20 = EEXIST once the file exists).
 */
export function touchModule(fileName: string): Uint8Array<ArrayBuffer> {
  return assemble({
    types: [[[I32, I32, I32, I32, I32, I64, I64, I32, I32], [I32]], [[I32], []], [[], []]],
    imports: [['path_open', 0], ['proc_exit', 1]],
    memory: { min: 1 },
    data: [[16, fileName]],
    funcs: [
      {
        type: 2,
        body: [
          op.i32(3), op.i32(0), op.i32(16), op.i32(new TextEncoder().encode(fileName).length), op.i32(1 | 4),
          op.i64(0), op.i64(0), op.i32(0), op.i32(8), op.call(0),
          op.call(1),
        ],
      },
    ],
  });
}

/** Writes `text` to stdout from a data segment; with `importMemory`, its memory is `env.memory` (min 1, max `maxPages`). */
export function printModule(text: string, options: { importMemory?: boolean; maxPages?: number } = {}): Uint8Array<ArrayBuffer> {
  const length = new TextEncoder().encode(text).length;
  return assemble({
    types: [FD_WRITE, [[], []]],
    imports: [['fd_write', 0]],
    memory: { min: 1, ...(options.maxPages !== undefined ? { max: options.maxPages } : {}) },
    ...(options.importMemory ? { importMemory: true } : {}),
    data: [[64, text]],
    funcs: [
      {
        type: 1,
        body: [op.i32(0), op.i32(64), op.i32Store, op.i32(4), op.i32(length), op.i32Store, op.i32(1), op.i32(0), op.i32(1), op.i32(8), op.call(0), op.drop],
      },
    ],
  });
}

/**
 * Adds 1 to the byte at 100 (initially "0") and writes it to stdout: a fresh instance
 * prints "1"; an instance that already ran prints "2". With `startFunction`, the same
 * code is also the module's start function (it runs at instantiation).
 */
export function counterModule(options: { startFunction?: boolean } = {}): Uint8Array<ArrayBuffer> {
  return assemble({
    types: [FD_WRITE, [[], []]],
    imports: [['fd_write', 0]],
    memory: { min: 1 },
    data: [[100, '0']],
    funcs: [
      {
        type: 1,
        body: [
          op.i32(100), op.i32(100), op.i32Load8U, op.i32(1), op.i32Add, op.i32Store8,
          op.i32(0), op.i32(100), op.i32Store, op.i32(4), op.i32(1), op.i32Store,
          op.i32(1), op.i32(0), op.i32(1), op.i32(8), op.call(0), op.drop,
        ],
      },
    ],
    ...(options.startFunction ? { start: 1 } : {}),
  });
}

/**
 * Writes each of `lines` to stdout (one fd_write each, back to back), then computes
 * forever without another WASI call: only terminating its thread ends it.
 */
export function printThenSpinModule(lines: readonly string[]): Uint8Array<ArrayBuffer> {
  const data: [number, string][] = [];
  const body: number[][] = [];
  let at = 64;
  for (const line of lines) {
    const length = new TextEncoder().encode(line).length;
    data.push([at, line]);
    body.push(op.i32(0), op.i32(at), op.i32Store, op.i32(4), op.i32(length), op.i32Store, op.i32(1), op.i32(0), op.i32(1), op.i32(8), op.call(0), op.drop);
    at += length;
  }
  body.push(op.loop, op.br(0), op.end);
  return assemble({ types: [FD_WRITE, [[], []]], imports: [['fd_write', 0]], memory: { min: 1 }, data, funcs: [{ type: 1, body }] });
}

/**
 * Writes `count` 8-byte records to stdout, one fd_write each: record i is i as a
 * little-endian u32, then `abc\n`. Then computes forever without another WASI call.
 */
export function countThenSpinModule(count: number): Uint8Array<ArrayBuffer> {
  return assemble({
    types: [FD_WRITE, [[], []]],
    imports: [['fd_write', 0]],
    memory: { min: 1 },
    data: [[20, 'abc\n']],
    funcs: [
      {
        type: 1,
        locals: [I32],
        body: [
          op.i32(0), op.i32(16), op.i32Store, op.i32(4), op.i32(8), op.i32Store,
          op.loop,
          op.i32(16), op.localGet(0), op.i32Store,
          op.i32(1), op.i32(0), op.i32(1), op.i32(8), op.call(0), op.drop,
          op.localGet(0), op.i32(1), op.i32Add, op.localTee(0), op.i32(count), op.i32LtU, op.brIf(0),
          op.end,
          op.loop, op.br(0), op.end,
        ],
      },
    ],
  });
}

/** One poll_oneoff on a monotonic clock of `seconds` (a single long block), then `_start` returns. */
export function sleepModule(seconds: number): Uint8Array<ArrayBuffer> {
  const sub = new Uint8Array(48);
  const view = new DataView(sub.buffer);
  view.setUint8(8, 0); // tag: clock
  view.setUint32(16, 1, true); // clock id: monotonic
  view.setBigUint64(24, BigInt(seconds) * 1_000_000_000n, true); // timeout (ns), relative
  return assemble({
    types: [[[I32, I32, I32, I32], [I32]], [[], []]],
    imports: [['poll_oneoff', 0]],
    memory: { min: 1 },
    data: [[0, sub]],
    funcs: [{ type: 1, body: [op.i32(0), op.i32(64), op.i32(1), op.i32(128), op.call(0), op.drop] }],
  });
}

import { readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_PAGES, ModuleError, PREVIEW1_FUNCTIONS, inspectModule, prepareModule, uleb, type MemoryLimits } from './module.js';
import { Preview1 } from './wasi/preview1.js';

// ----------------------------------------------------------------- modules by hand

const enc = new TextEncoder();
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => {
  const b = [...enc.encode(s)];
  return [...uleb(b.length), ...b];
};
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const limitsBytes = (l: { min: number; max?: number | undefined }): number[] => (l.max === undefined ? [0x00, ...uleb(l.min)] : [0x01, ...uleb(l.min), ...uleb(l.max)]);

type ImportSpec =
  | { kind: 'function'; module: string; name: string }
  | { kind: 'global'; module: string; name: string }
  | { kind: 'memory'; module: string; name: string; min: number; max?: number | undefined };

interface ModuleSpec {
  imports: ImportSpec[];
  memory?: { min: number; max?: number | undefined } | undefined;
  /** Custom sections, each placed before the section at its index (mod the count). */
  customs: { at: number; name: string; data: number[] }[];
}

/** A valid module: type 0 = () -> (), imports, one function `_start`, memory, exports. */
function build(spec: ModuleSpec): Uint8Array<ArrayBuffer> {
  const sections: number[][] = [];
  sections.push(section(1, vec([[0x60, 0x00, 0x00]])));
  if (spec.imports.length > 0) {
    sections.push(
      section(
        2,
        vec(
          spec.imports.map((i) => {
            const head = [...name(i.module), ...name(i.name)];
            if (i.kind === 'function') return [...head, 0x00, 0x00];
            if (i.kind === 'global') return [...head, 0x03, 0x7f, 0x00];
            return [...head, 0x02, ...limitsBytes(i)];
          }),
        ),
      ),
    );
  }
  sections.push(section(3, vec([[0x00]])));
  if (spec.memory !== undefined) sections.push(section(5, vec([limitsBytes(spec.memory)])));
  const hasMemory = spec.memory !== undefined || spec.imports.some((i) => i.kind === 'memory');
  sections.push(section(7, vec([[...name('_start'), 0x00, ...uleb(spec.imports.filter((i) => i.kind === 'function').length)]])));
  // _start: (drop (memory.grow (i32.const 1))) when there is a memory, else nothing.
  const body = hasMemory ? [0x00, 0x41, 0x01, 0x40, 0x00, 0x1a, 0x0b] : [0x00, 0x0b];
  sections.push(section(10, vec([[...uleb(body.length), ...body]])));
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const customsAt = new Map<number, number[][]>();
  for (const c of spec.customs) {
    const at = c.at % (sections.length + 1);
    customsAt.set(at, [...(customsAt.get(at) ?? []), section(0, [...name(c.name), ...c.data])]);
  }
  for (let i = 0; i <= sections.length; i++) {
    for (const c of customsAt.get(i) ?? []) out.push(...c);
    if (i < sections.length) out.push(...(sections[i] as number[]));
  }
  return new Uint8Array(out);
}

const wasiName = fc.constantFrom(...PREVIEW1_FUNCTIONS);
const pages = fc.integer({ min: 0, max: MAX_PAGES });
const memSpec = fc
  .tuple(pages, fc.option(pages, { nil: undefined }))
  .map(([a, b]) => (b === undefined ? { min: a } : { min: Math.min(a, b), max: Math.max(a, b) }));
const moduleSpec: fc.Arbitrary<ModuleSpec> = fc
  .record({
    wasi: fc.array(wasiName, { maxLength: 6 }),
    memory: fc.option(memSpec, { nil: undefined }),
    importMemory: fc.boolean(),
    customs: fc.array(fc.record({ at: fc.nat(), name: fc.string({ maxLength: 8 }), data: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 300 }) }), { maxLength: 3 }),
  })
  .map(({ wasi, memory, importMemory, customs }) => {
    const imports: ImportSpec[] = wasi.map((n) => ({ kind: 'function', module: 'wasi_snapshot_preview1', name: n }));
    // One memory at most (no multi-memory): imported or defined.
    if (memory !== undefined && importMemory) return { imports: [...imports, { kind: 'memory', module: 'env', name: 'memory', ...memory }], customs };
    return { imports, memory, customs };
  });

/** Every section of `bytes` but the memory section, as [id, body] pairs. */
function otherSections(bytes: Uint8Array): string[] {
  const out: string[] = [];
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos++] as number;
    let size = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[pos++] as number;
      size += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    if (id !== 5) out.push(`${id}:${Buffer.from(bytes.subarray(pos, pos + size)).toString('hex')}`);
    pos += size;
  }
  return out;
}

const asLimits = (m: { min: number; max?: number | undefined }): MemoryLimits => ({ min: m.min, max: m.max, shared: false, memory64: false });

// ----------------------------------------------------------------- properties

describe('module inspection (hand-built modules)', () => {
  it('reads back the imports and memories a module was built with', () => {
    fc.assert(
      fc.property(moduleSpec, (spec) => {
        const bytes = build(spec);
        expect(WebAssembly.validate(bytes)).toBe(true);
        const info = inspectModule(bytes);
        expect(info.imports).toEqual(
          spec.imports.map((i) => (i.kind === 'memory' ? { module: i.module, name: i.name, kind: 'memory', memory: asLimits(i) } : { module: i.module, name: i.name, kind: i.kind })),
        );
        expect(info.memories).toEqual(spec.memory === undefined ? [] : [asLimits(spec.memory)]);
      }),
      { numRuns: 300 },
    );
  });

  it('caps the defined memory at the limit, touches nothing else, and the engine agrees', () => {
    fc.assert(
      fc.property(moduleSpec, fc.integer({ min: 1, max: MAX_PAGES }), (spec, limit) => {
        const bytes = build(spec);
        const imported = spec.imports.find((i) => i.kind === 'memory');
        const initial = spec.memory?.min ?? (imported?.kind === 'memory' ? imported.min : 0);
        const importMax = imported?.kind === 'memory' ? imported.max : 0;
        const refuse = initial > limit || (imported !== undefined && (importMax === undefined || importMax > limit));
        if (refuse) {
          expect(() => prepareModule(bytes, limit)).toThrow(ModuleError);
          return;
        }
        const prepared = prepareModule(bytes, limit);
        expect(WebAssembly.validate(prepared.bytes as Uint8Array<ArrayBuffer>)).toBe(true);
        expect(otherSections(prepared.bytes)).toEqual(otherSections(bytes));
        const memories = inspectModule(prepared.bytes).memories;
        if (spec.memory !== undefined) {
          expect(memories).toEqual([asLimits({ min: spec.memory.min, max: Math.min(spec.memory.max ?? limit, limit) })]);
        } else expect(memories).toEqual([]);
        if (imported?.kind === 'memory') expect(prepared.memory).toEqual({ module: 'env', name: 'memory', initial: imported.min, maximum: imported.max });
      }),
      { numRuns: 300 },
    );
  });

  it('without a limit, returns the very same bytes', () => {
    fc.assert(
      fc.property(moduleSpec, (spec) => {
        const bytes = build(spec);
        expect(prepareModule(bytes).bytes).toBe(bytes);
      }),
    );
  });

  it('never throws anything but a ModuleError on garbage', () => {
    fc.assert(
      fc.property(moduleSpec, fc.nat(), fc.integer({ min: 0, max: 255 }), (spec, at, value) => {
        const bytes = build(spec);
        bytes[8 + (at % (bytes.length - 8))] = value;
        try {
          prepareModule(bytes, 16);
        } catch (e) {
          expect(e).toBeInstanceOf(ModuleError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('module refusals name what is wrong', () => {
  const base: ModuleSpec = { imports: [], customs: [] };
  it('an import from another module', () => {
    const bytes = build({ ...base, imports: [{ kind: 'function', module: 'env', name: 'host_call' }] });
    expect(() => prepareModule(bytes)).toThrow(/imports function env\.host_call, which a container does not provide/);
  });
  it('a name wasi_snapshot_preview1 does not have, or a global', () => {
    expect(() => prepareModule(build({ ...base, imports: [{ kind: 'function', module: 'wasi_snapshot_preview1', name: 'fd_frobnicate' }] }))).toThrow(
      /wasi_snapshot_preview1\.fd_frobnicate, which is not a WASI preview 1 function/,
    );
    expect(() => prepareModule(build({ ...base, imports: [{ kind: 'global', module: 'wasi_snapshot_preview1', name: 'x' }] }))).toThrow(/imports global/);
  });
  it('an imported memory larger than the limit, or unbounded', () => {
    const big = build({ ...base, imports: [{ kind: 'memory', module: 'env', name: 'memory', min: 1, max: 2048 }] });
    expect(() => prepareModule(big, 1024)).toThrow(/imported memory env\.memory may grow to 128 MiB, above the memory limit of 64 MiB/);
    expect(prepareModule(big, 4096).memory).toEqual({ module: 'env', name: 'memory', initial: 1, maximum: 2048 });
    const unbounded = build({ ...base, imports: [{ kind: 'memory', module: 'env', name: 'memory', min: 1 }] });
    expect(() => prepareModule(unbounded, 1024)).toThrow(/wasm32 maximum/);
  });
  it('an initial memory above the limit', () => {
    const e = (() => {
      try {
        prepareModule(build({ ...base, memory: { min: 100 } }), 16);
      } catch (err) {
        return err as ModuleError;
      }
      return undefined;
    })();
    expect(e?.problem).toBe('memory');
    expect(e?.code).toBe('LIMIT_EXCEEDED');
    expect(e?.message).toMatch(/memory 0 starts at 6553600 bytes, above the memory limit of 1 MiB/);
  });
  it('a component, and a memory64 or shared memory', () => {
    expect(() => inspectModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]))).toThrow(/component/);
    const mem64 = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 3, 1, 0x04, 1]);
    expect(() => prepareModule(mem64)).toThrow(/memory64/);
    const shared = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 4, 1, 0x03, 1, 2]);
    expect(() => prepareModule(shared)).toThrow(/shared/);
  });
});

describe('real guests', () => {
  const names = ['hello', 'fsops', 'spin', 'membomb', 'fdbomb', 'http'];
  const read = (n: string): Promise<Uint8Array> => readFile(new URL(`../../guests/wasm/${n}.wasm`, import.meta.url));

  it('import only WASI functions, and run under a rewritten maximum the engine enforces', async () => {
    for (const n of names) {
      const bytes = await read(n);
      const info = inspectModule(bytes);
      expect(info.imports.every((i) => i.module === 'wasi_snapshot_preview1' && i.kind === 'function'), n).toBe(true);
      expect(info.memories.length, n).toBe(1);
      const limit = (info.memories[0] as MemoryLimits).min + 3;
      const prepared = prepareModule(bytes, limit);
      expect(inspectModule(prepared.bytes).memories[0]?.max, n).toBe(limit);
      const instance = new WebAssembly.Instance(new WebAssembly.Module(prepared.bytes as Uint8Array<ArrayBuffer>), new Preview1({ args: [], env: [] }).imports);
      const memory = instance.exports.memory as WebAssembly.Memory;
      expect(() => memory.grow(3)).not.toThrow();
      expect(() => memory.grow(1)).toThrow(RangeError);
    }
  });

  it('the list of WASI functions is what Preview1 provides', () => {
    expect(new Set(Object.keys(new Preview1({ args: [], env: [] }).imports.wasi_snapshot_preview1 as object))).toEqual(PREVIEW1_FUNCTIONS);
  });
});

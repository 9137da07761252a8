/**
 * A spare instance: while a warm container thread is idle, it instantiates again the
 * module it just ran, so that the next run of that module skips instantiation, the
 * largest single cost of a short run's start (for the same reason wasmtime has
 * `InstancePre` and its pooling allocator).
 *
 * The spare is pristine: nothing of it has run, its memory is fresh, and its function
 * imports forward to a target that `take` sets, once, to the imports of the run that
 * takes it. A module with a start function would call those imports during
 * instantiation, with no target: the forwarder throws, instantiation fails, and no spare
 * is made (the run then instantiates as usual). So a run that takes a spare sees exactly
 * what a fresh instantiation would give it.
 */
import type { ImportedMemory } from './protocol.js';

type Target = Record<string, Record<string, unknown>>;

export class SpareInstance {
  private constructor(
    /** The module's cache key (worker.ts): a spare serves only runs of the same key. */
    readonly key: string,
    private readonly instance: WebAssembly.Instance,
    private readonly memory: WebAssembly.Memory | undefined,
    private readonly imported: readonly { readonly module: string; readonly name: string }[],
    private readonly bind: (target: Target) => void,
  ) {}

  /** A spare of `module` (its imported memory made as `memory` says), or undefined if it cannot be made. */
  static make(key: string, module: WebAssembly.Module, memory: ImportedMemory | undefined): SpareInstance | undefined {
    // Filled by `take`: forwarder k calls fns[k].
    const fns: ((...args: unknown[]) => unknown)[] = [];
    const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
    const imported: { module: string; name: string }[] = [];
    let mem: WebAssembly.Memory | undefined;
    for (const i of WebAssembly.Module.imports(module)) {
      const ns = (imports[i.module] ??= {});
      if (i.kind === 'function') {
        const k = imported.push({ module: i.module, name: i.name }) - 1;
        ns[i.name] = (...args: unknown[]): unknown => {
          const fn = fns[k];
          if (fn === undefined) throw new Error('a spare instance ran before it was taken');
          return fn(...args);
        };
      } else if (i.kind === 'memory' && memory !== undefined && i.module === memory.module && i.name === memory.name) {
        mem = new WebAssembly.Memory({ initial: memory.initial, maximum: memory.maximum });
        ns[i.name] = mem;
      } else {
        return undefined;
      }
    }
    try {
      const instance = new WebAssembly.Instance(module, imports);
      const bind = (t: Target): void => {
        for (const { module: m, name } of imported) fns.push(t[m]?.[name] as (...args: unknown[]) => unknown);
      };
      return new SpareInstance(key, instance, mem, imported, bind);
    } catch {
      return undefined;
    }
  }

  /**
   * The instance, its imports now forwarding to `imports`, and its imported memory, if
   * any — or undefined (the spare is unusable: instantiate as usual) when `imports` lacks
   * one of its functions, so that the usual instantiation reports the link error.
   * A spare is taken once.
   */
  take(imports: Target): { instance: WebAssembly.Instance; memory: WebAssembly.Memory | undefined } | undefined {
    for (const { module, name } of this.imported) if (typeof imports[module]?.[name] !== 'function') return undefined;
    this.bind(imports);
    return { instance: this.instance, memory: this.memory };
  }
}

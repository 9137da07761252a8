/**
 * Components on Node: jco's transpiler (`@bytecodealliance/jco-transpile`, itself a
 * component compiled to core wasm), loaded on first use (about 0.2 s) and kept. It is an
 * optional peer dependency (it brings binaryen, about 100 MB): without it, a component
 * is refused with `SkiffError('UNSUPPORTED')` saying what to install.
 *
 * Options: sync instantiation (the container thread instantiates inside its synchronous
 * run), no WASI shims (skiff supplies every import: wasi/preview2.ts), core modules as
 * separate files (never inlined as base64), no minification or wasm-opt (neither changes
 * behaviour; both cost time per component).
 */
import { SkiffError } from '../../layers/errors.js';
import type { TranspiledComponent } from '../platform.js';

type Transpile = (component: Uint8Array, opts: Record<string, unknown>) => Promise<{ files: Record<string, Uint8Array>; imports: string[] }>;

let loaded: Promise<Transpile> | undefined;

function transpiler(): Promise<Transpile> {
  loaded ??= import('@bytecodealliance/jco-transpile').then(
    (m) => m.transpileBytes as unknown as Transpile,
    (e: unknown) => {
      loaded = undefined;
      const missing = (e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND';
      throw new SkiffError('UNSUPPORTED', missing ? 'running a WebAssembly component (WASI 0.2) needs its transpiler: npm install @bytecodealliance/jco-transpile' : `loading the component transpiler: ${(e as Error).message}`, { cause: e });
    },
  );
  return loaded;
}

/** Rejects with the transpiler's message when `bytes` is not a valid component. */
export async function transpileComponent(bytes: Uint8Array): Promise<TranspiledComponent> {
  const transpile = await transpiler();
  const name = 'component';
  const out = await transpile(bytes, {
    name,
    instantiation: { tag: 'sync' },
    wasiShim: false,
    base64Cutoff: Number.MAX_SAFE_INTEGER,
    minify: false,
    optimize: false,
    emitTypescriptDeclarations: false,
  });
  const source = out.files[`${name}.js`];
  if (source === undefined) throw new Error(`the transpiler wrote no ${name}.js (files: ${Object.keys(out.files).join(', ')})`);
  const modules: Record<string, Uint8Array> = {};
  for (const [file, data] of Object.entries(out.files)) if (file.endsWith('.wasm')) modules[file] = data;
  return { source: new TextDecoder().decode(source), modules, imports: out.imports };
}

import { describe, expect, it } from 'vitest';
import { PROVIDED_INTERFACES, checkComponentImports, functionBody, isComponent } from './component.js';
import { Preview2 } from './wasi/preview2.js';

describe('components', () => {
  it('tells a component from a core module by the header', () => {
    expect(isComponent(new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]))).toBe(true);
    expect(isComponent(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]))).toBe(false);
    expect(isComponent(new Uint8Array([0, 0x61, 0x73]))).toBe(false);
  });

  it('lists exactly the interfaces the preview 2 host provides', () => {
    const host = new Preview2({ args: [], env: [], stdout: () => {}, stderr: () => {}, clock: { realtime: () => 0n, monotonic: () => 0n, sleep: () => {} }, checkpoint: () => {} });
    expect(Object.keys(host.imports).sort()).toEqual([...PROVIDED_INTERFACES].sort());
  });

  it('refuses imports it does not provide, naming them', () => {
    expect(() => checkComponentImports(['wasi:cli/environment', 'wasi:sockets/tcp'])).not.toThrow();
    expect(() => checkComponentImports(['wasi:cli/stdout', 'wasi:http/types', 'fermyon:spin/key-value'])).toThrow(/imports "wasi:http\/types", "fermyon:spin\/key-value", which skiff does not provide/);
    expect(() => checkComponentImports(["x'); process.exit(); ('"])).toThrow(/does not provide/);
  });

  it("makes jco's module a function body, and refuses a module with other imports or exports", () => {
    expect(functionBody('"use components";\nexport function instantiate(a) { return a; }\nexport const _util = {};')).toMatch(/return instantiate;$/);
    expect(() => functionBody('import x from "y";\nexport function instantiate() {}')).toThrow(/imports or exports skiff does not expect/);
  });
});

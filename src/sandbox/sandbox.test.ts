import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { Sandbox } from './sandbox.js';

const guest = (name: string): Promise<Uint8Array> => readFile(new URL(`../../guests/wasm/${name}.wasm`, import.meta.url));

describe('Sandbox.run', () => {
  it('passes exactly the granted args and env, and returns the exit code', async () => {
    const chunks: string[] = [];
    const r = await Sandbox.run(await guest('hello'), {
      name: 'hello',
      args: ['42', 'x y'],
      env: { A: '1' },
      stdout: (c) => chunks.push(new TextDecoder().decode(c)),
    });
    expect(r).toMatchObject({ exitCode: 42, reason: 'exited', stderr: '' });
    expect(r.stdout).toBe('arg[0]=hello\narg[1]=42\narg[2]=x y\nenv A=1\ncwd=/\n');
    expect(chunks.join('')).toBe(r.stdout);
  });

  it('grants no environment by default', async () => {
    const r = await Sandbox.run(await guest('hello'));
    expect(r.stdout).toBe('arg[0]=main.wasm\ncwd=/\n');
    expect(r.exitCode).toBe(0);
  });

  it('a trap ends the run with 134, like SIGABRT', async () => {
    // (module (func (export "_start") unreachable) (memory (export "memory") 1))
    const trap = new Uint8Array([
      0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 19, 2, 6, 95, 115, 116, 97, 114, 116, 0, 0, 6,
      109, 101, 109, 111, 114, 121, 2, 0, 10, 5, 1, 3, 0, 0, 11,
    ]);
    const r = await Sandbox.run(trap);
    expect(r.exitCode).toBe(134);
    expect(r.reason).toBe('trapped');
    expect(r.stderr).toMatch(/unreachable/);
  });
});

import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createImage } from '../layers/build.js';
import { MemoryFiles } from '../layers/files.js';
import { ImageStore } from '../layers/image-store.js';
import { nodePlatform } from '../platform/node/index.js';
import { setDefaultPlatform } from '../platform/platform.js';
import { ModuleError } from './module.js';
import { memoryVolumes } from '../platform/node/volumes.js';
import { Runtime } from './runtime.js';
import { Sandbox } from './sandbox.js';

// What the package entry (src/index.ts) does.
setDefaultPlatform(nodePlatform);

const guest = (name: string): Promise<Uint8Array<ArrayBuffer>> => readFile(new URL(`../../guests/wasm/${name}.wasm`, import.meta.url));

// (module (func (export "_start") unreachable) (memory (export "memory") 1))
const trap = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 19, 2, 6, 95, 115, 116, 97, 114, 116, 0, 0, 6, 109, 101,
  109, 111, 114, 121, 2, 0, 10, 5, 1, 3, 0, 0, 11,
]);

describe('Sandbox.run', () => {
  it('passes exactly the granted args and env, and returns the exit code', async () => {
    const chunks: string[] = [];
    const r = await Sandbox.run(await guest('hello'), {
      name: 'hello',
      args: ['42', 'x y'],
      env: { A: '1' },
      stdout: (c) => chunks.push(new TextDecoder().decode(c)),
    });
    // A non-zero exit is reason `Error`, as Kubernetes reports it.
    expect(r).toMatchObject({ exitCode: 42, reason: 'Error', stderr: '' });
    expect(r.stdout).toBe('arg[0]=hello\narg[1]=42\narg[2]=x y\nenv A=1\ncwd=/\n');
    expect(chunks.join('')).toBe(r.stdout);
  });

  it('grants no environment by default, over an empty root', async () => {
    const r = await Sandbox.run(await guest('hello'));
    expect(r).toEqual({ exitCode: 0, reason: 'Completed', stdout: 'arg[0]=main.wasm\ncwd=/\n', stderr: '' });
  });

  it('runs a compiled module too', async () => {
    const r = await Sandbox.run(await WebAssembly.compile(await guest('hello')), { args: ['3'] });
    expect(r.exitCode).toBe(3);
  });

  it('a trap ends the run with 134, like SIGABRT, and says why', async () => {
    const r = await Sandbox.run(trap);
    expect(r.exitCode).toBe(134);
    expect(r.reason).toBe('Error');
    expect(r.message).toMatch(/unreachable/);
    expect(r.stderr).toMatch(/trap: .*unreachable/);
  });

  it('runs an image: its Entrypoint, Cmd, Env and WorkingDir', async () => {
    const store = await ImageStore.open(new MemoryFiles());
    const image = await createImage(store, {
      ref: 'hello:1',
      layers: [{ 'app/hello.wasm': await guest('hello') }],
      config: { Entrypoint: ['/app/hello.wasm'], Cmd: ['5'], Env: ['GREETING=hi'], WorkingDir: '/work' },
    });
    const r = await Sandbox.run(image, { store, env: { WHO: 'you' } });
    expect(r.exitCode).toBe(5);
    // wasi-libc starts at `/` whatever PWD says (worker.ts).
    expect(r.stdout).toBe('arg[0]=/app/hello.wasm\narg[1]=5\nenv GREETING=hi\nenv WHO=you\nenv PWD=/work\ncwd=/\n');
    const byRef = await Sandbox.run('hello:1', { store, args: ['9'] });
    expect(byRef.stdout).toBe('arg[0]=/app/hello.wasm\narg[1]=9\nenv GREETING=hi\nenv PWD=/work\ncwd=/\n');
  });

  it('refuses a module that imports what a container does not provide, naming it', async () => {
    // (module (import "env" "host" (func)) (func (export "_start")))
    const bad = new Uint8Array([
      0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 2, 12, 1, 3, 101, 110, 118, 4, 104, 111, 115, 116, 0, 0, 3, 2, 1, 0, 7, 10, 1, 6, 95,
      115, 116, 97, 114, 116, 0, 1, 10, 4, 1, 2, 0, 11,
    ]);
    await expect(Sandbox.run(bad)).rejects.toThrow(ModuleError);
    await expect(Sandbox.run(bad)).rejects.toThrow(/env\.host/);
  });
});

describe('Sandbox.run with volumes', () => {
  it('grants a tmpfs on any runtime, and named volumes and binds only through a runtime that has volumes', async () => {
    const files = await guest('files');
    const r = await Sandbox.run(files, { args: ['write', '/tmp/x', 'scratch', 'cat', '/tmp/x'], volumes: [{ type: 'tmpfs', target: '/tmp' }] });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'write /tmp/x: ok\ncat /tmp/x: "scratch"\n' });
    await expect(Sandbox.run(files, { volumes: ['notes:/data'] })).rejects.toThrow(/this runtime has no volumes/);

    const volumes = memoryVolumes();
    const runtime = new Runtime({ volumes });
    try {
      const w = await Sandbox.run(files, { runtime, args: ['write', '/data/n', 'kept'], volumes: ['notes:/data', '/anon'] });
      expect(w.exitCode).toBe(0);
      const read = await Sandbox.run(files, { runtime, args: ['cat', '/data/n'], volumes: ['notes:/data:ro'] });
      expect(read.stdout).toBe('cat /data/n: "kept"\n');
      // The named volume stays; the anonymous one went with its run (`docker run --rm`).
      expect(volumes.list().map((v) => v.name)).toEqual(['notes']);
      expect(volumes.usersOf('notes')).toEqual([]);
      await expect(Sandbox.run(files, { runtime, volumes: ['/etc:/host'] })).rejects.toThrow(/host bind mounts are not granted/);
    } finally {
      await runtime.close();
    }
  });
});

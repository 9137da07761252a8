/**
 * WASI 0.2 components as containers (issue #5, point 2): the `connect` guest
 * (guests/c/p2/connect.c, a command component using wasi:sockets) opens TCP connections
 * through skiff's virtual network to other containers' ports — by their virtual address,
 * and on 127.0.0.1 to a container sharing its network namespace (a pod). No real socket
 * is involved: the runtime publishes nothing here.
 */
import { readFile, readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImage } from '../src/layers/build.js';
import { MemoryFiles } from '../src/layers/files.js';
import { ImageStore } from '../src/layers/image-store.js';
import { nodePlatform } from '../src/platform/node/index.js';
import type { Platform } from '../src/platform/platform.js';
import { Runtime } from '../src/sandbox/runtime.js';

const root = new URL('..', import.meta.url);
const store = await ImageStore.open(new MemoryFiles());
const runtime = new Runtime({ platform: nodePlatform, store });
const connectWasm = new Uint8Array(await readFile(new URL('guests/wasm/connect.wasm', root)));
const notesWasm = new Uint8Array(await readFile(new URL('guests/wasm/notes.wasm', root)));
const echoWasm = new Uint8Array(await readFile(new URL('guests/wasm/echo.wasm', root)));
const growWasm = new Uint8Array(await readFile(new URL('guests/wasm/grow.wasm', root)));
const BIG_BODY = new Uint8Array(3 * 1024 * 1024).map((_, i) => 97 + (i % 26));
const GET = 'GET /index.html HTTP/1.0\\r\\nHost: web\\r\\n\\r\\n';

beforeAll(async () => {
  const www: Record<string, Uint8Array> = { 'www/big.bin': BIG_BODY };
  for (const name of await readdir(new URL('examples/apps/web/www/', root))) www[`www/${name}`] = await readFile(new URL(`examples/apps/web/www/${name}`, root));
  await createImage(store, {
    ref: 'web:test',
    layers: [www, { 'server.wasm': { content: await readFile(new URL('guests/wasm/http.wasm', root)), mode: 0o755 }, 'data/': { dir: true } }],
    config: { Entrypoint: ['/server.wasm'], Env: ['DOCROOT=/www', 'HITS_FILE=/data/hits'], ExposedPorts: { '80/tcp': {} } },
  });
});
afterAll(() => runtime.close());

async function runConnect(args: string[], network?: { namespace?: string }): Promise<{ exitCode: number; out: string }> {
  const info = await runtime.create({ module: connectWasm, entrypoint: ['connect'], cmd: args, logLimit: 8 * 1024 * 1024, ...(network !== undefined ? { network } : {}) });
  await runtime.start(info.id);
  const state = await runtime.wait(info.id);
  const out = runtime.logs(info.id).text('stdout') + runtime.logs(info.id).text('stderr');
  await runtime.remove(info.id);
  return { exitCode: state.exitCode, out };
}

describe('a WASI 0.2 component connects to containers over the virtual network', () => {
  it('reaches a web container at its virtual address, and gets its page', async () => {
    const web = await runtime.create({ image: 'web:test', name: 'web-a' });
    await runtime.start(web.id);
    const address = runtime.inspect('web-a').network.address;
    expect(address).toMatch(/^10\.88\.\d+\.\d+$/);
    const r = await runConnect([address, '80', GET]);
    expect(r.out).toMatch(/^HTTP\/1\.[01] 200 OK\r\n/);
    expect(r.out).toContain('<html');
    expect(r.exitCode).toBe(0);
    // Both ends closed: the server holds no connection afterwards.
    for (let i = 0; i < 200 && runtime.connections('web-a').virtual > 0; i++) await new Promise((res) => setTimeout(res, 5));
    expect(runtime.connections('web-a').virtual).toBe(0);
    await runtime.remove('web-a', { force: true });
  });

  it('reaches a container of its own namespace (a pod) on 127.0.0.1; from another namespace 127.0.0.1 is its own, and refuses', async () => {
    await runtime.create({ image: 'web:test', name: 'pod-web', network: { namespace: 'pod-1' } });
    await runtime.start('pod-web');
    const inPod = await runConnect(['127.0.0.1', '80', GET], { namespace: 'pod-1' });
    expect(inPod.out).toMatch(/^HTTP\/1\.[01] 200 OK\r\n/);
    expect(inPod.exitCode).toBe(0);
    // The pod's members share one address.
    const joined = await runtime.create({ module: connectWasm, network: { namespace: 'pod-1' } });
    expect(runtime.inspect(joined.id).network).toEqual(runtime.inspect('pod-web').network);
    await runtime.remove(joined.id);

    const outside = await runConnect(['127.0.0.1', '80', GET]);
    expect(outside.out).toBe('connect: connection-refused\n');
    expect(outside.exitCode).toBe(1);
    await runtime.remove('pod-web', { force: true });
  });

  it('is refused by an address nobody has, a port nobody listens on, and a container that is not running', async () => {
    const web = await runtime.create({ image: 'web:test', name: 'web-stopped' });
    const address = runtime.inspect(web.id).network.address;
    expect((await runConnect([address, '80', GET])).out).toBe('connect: connection-refused\n');
    await runtime.start(web.id);
    expect((await runConnect([address, '81', GET])).out).toBe('connect: connection-refused\n');
    expect((await runConnect(['10.99.1.1', '80', GET])).out).toBe('connect: connection-refused\n');
    // 0.0.0.0 is not a remote address (wasi-sockets: invalid-argument).
    expect((await runConnect(['0.0.0.0', '80', GET])).out).toBe('start-connect: invalid-argument\n');
    await runtime.remove(web.id, { force: true });
  });

  it('carries a body far larger than the connection buffers both ways, byte for byte (back-pressure)', async () => {
    await runtime.create({ image: 'web:test', name: 'web-big' });
    await runtime.start('web-big');
    const r = await runConnect([runtime.inspect('web-big').network.address, '80', 'GET /big.bin HTTP/1.0\\r\\n\\r\\n']);
    expect(r.out.slice(0, 200)).toMatch(/^HTTP\/1\.[01] 200 OK\r\n/);
    expect(r.exitCode).toBe(0);
    const body = r.out.slice(r.out.indexOf('\r\n\r\n') + 4);
    expect(body.length).toBe(BIG_BODY.length);
    expect(body === new TextDecoder().decode(BIG_BODY)).toBe(true);
    await runtime.remove('web-big', { force: true });
  });

  it('a component blocked reading a connection nobody answers is killed promptly (137)', async () => {
    // spin listens on port 7000 (a pre-opened socket) and never accepts: the connect queues, the read blocks.
    const spin = await runtime.create({ module: new Uint8Array(await readFile(new URL('guests/wasm/spin.wasm', root))), name: 'deaf', ports: [7000] });
    await runtime.start(spin.id);
    const client = await runtime.create({ module: connectWasm, cmd: [runtime.inspect('deaf').network.address, '7000', 'hello?'] });
    await runtime.start(client.id);
    await new Promise((r) => setTimeout(r, 100));
    expect(runtime.inspect(client.id).state.status).toBe('running');
    const t0 = performance.now();
    await runtime.kill(client.id);
    const state = await runtime.wait(client.id);
    expect(performance.now() - t0).toBeLessThan(100);
    expect(state.exitCode).toBe(137);
    await runtime.remove(client.id);
    await runtime.remove('deaf', { force: true });
  });

  it('looks names up: a container name gives its address (as Docker does); an unknown name is name-unresolvable', async () => {
    await runtime.create({ image: 'web:test', name: 'web-named' });
    await runtime.start('web-named');
    const r = await runConnect(['web-named', '80', GET]);
    expect(r.out).toMatch(/^HTTP\/1\.[01] 200 OK\r\n/);
    expect(r.exitCode).toBe(0);
    expect(await runConnect(['localhost', '80', GET])).toEqual({ exitCode: 1, out: 'connect: connection-refused\n' });
    expect(await runConnect(['no-such-container', '80', GET])).toEqual({ exitCode: 1, out: 'resolve: name-unresolvable\n' });
    expect(await runConnect(['bad..name', '80', GET])).toEqual({ exitCode: 1, out: 'resolve: invalid-argument\n' });
    await runtime.remove('web-named', { force: true });
  });

  it('refuses a malformed component, and a component where the platform has no transpiler, saying which', async () => {
    const broken = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00, 0xff, 0xff]);
    await expect(runtime.create({ module: broken })).rejects.toThrow(/not a valid component/);
    const bare = Object.fromEntries(Object.entries(nodePlatform).filter(([k]) => k !== 'transpileComponent')) as unknown as Platform;
    const other = new Runtime({ platform: { ...bare, name: 'browser-like' } });
    await expect(other.create({ module: connectWasm })).rejects.toThrow(/WebAssembly component \(WASI 0\.2\), and the browser-like platform has no component transpiler/);
    await other.close();
  });

  it('a component with a bad argument says how to use it and exits 1 (wasi:cli/run returned err)', async () => {
    const r = await runConnect(['10.88.0.1', 'eighty']);
    expect(r.out).toBe('usage: connect HOST PORT [MESSAGE]\n');
    expect(r.exitCode).toBe(1);
  });
});

describe('a WASI 0.2 component serves on its ports (wasi:sockets bind, listen, accept)', () => {
  it('answers the runtime and another component, one connection after another, then exits', async () => {
    const echo = await runtime.create({ module: echoWasm, name: 'echo', cmd: ['7070', '2'], ports: [7070] });
    await runtime.start(echo.id);
    const conn = await runtime.connect('echo', 7070);
    const w = conn.writable.getWriter();
    await w.write(new TextEncoder().encode('hi'));
    await w.close();
    expect(await new Response(conn.readable).text()).toBe('echo: hi');
    const r = await runConnect(['echo', '7070', 'from a component']);
    expect(r).toEqual({ exitCode: 0, out: 'echo: from a component' });
    expect((await runtime.wait(echo.id)).exitCode).toBe(0);
    expect(runtime.logs(echo.id).text('stdout')).toBe('served 2 bytes\nserved 16 bytes\n');
    await runtime.remove(echo.id);
  });

  it('may bind only a declared port (skiff listens on those): another is address-not-bindable', async () => {
    const c = await runtime.create({ module: echoWasm, cmd: ['7071', '1'], ports: [7070] });
    await runtime.start(c.id);
    expect((await runtime.wait(c.id)).exitCode).toBe(1);
    expect(runtime.logs(c.id).text('stdout')).toBe('bind: address-not-bindable\n');
    await runtime.remove(c.id);
  });
});

describe("a WASI 0.2 component's files (wasi:filesystem over the container's root and mounts)", () => {
  const text = (id: string): string => runtime.logs(id).text('stdout');

  it('appends to a file in its root, which outlives the run as a container change (diff), and a restart sees it', async () => {
    const c = await runtime.create({ module: notesWasm, cmd: ['notes.txt', 'a line'] });
    await runtime.start(c.id);
    expect((await runtime.wait(c.id)).exitCode).toBe(0);
    expect(text(c.id)).toBe('a line\n');
    expect(runtime.diff(c.id)).toEqual([expect.objectContaining({ path: '/notes.txt', kind: 'A' })]);
    await runtime.start(c.id);
    await runtime.wait(c.id);
    // The second run's output, after the first's: the file now has both lines.
    expect(text(c.id)).toBe('a line\na line\na line\n');
    await runtime.remove(c.id);
  });

  it('reaches a mounted tmpfs, and reports a missing file with its wasi:filesystem error code', async () => {
    const c = await runtime.create({ module: notesWasm, cmd: ['scratch/n', 'x'], mounts: [{ type: 'tmpfs', target: '/scratch' }] });
    await runtime.start(c.id);
    expect((await runtime.wait(c.id)).exitCode).toBe(0);
    expect(text(c.id)).toBe('x\n');
    // tmpfs files are not container changes.
    expect(runtime.diff(c.id).filter((d) => d.path.startsWith('/scratch/'))).toEqual([]);
    await runtime.remove(c.id);
    const missing = await runtime.create({ module: notesWasm, cmd: ['nothing-here'] });
    await runtime.start(missing.id);
    expect((await runtime.wait(missing.id)).exitCode).toBe(1);
    expect(text(missing.id)).toBe('open: no-entry\n');
    await runtime.remove(missing.id);
  });
});

describe("a WASI 0.2 component under a container's limits", () => {
  it('a memory limit caps its memory: growth past it is refused, and the trap at the limit is OOMKilled (137)', async () => {
    const c = await runtime.create({ module: growWasm, memory: 32 * 1024 * 1024 });
    await runtime.start(c.id);
    const s = await runtime.wait(c.id);
    expect([s.exitCode, s.reason]).toEqual([137, 'OOMKilled']);
    const refused = /^refused at (\d+) MiB\n$/.exec(runtime.logs(c.id).text('stdout'));
    expect(Number(refused?.[1])).toBeGreaterThan(28);
    expect(Number(refused?.[1])).toBeLessThanOrEqual(32);
    expect(runtime.inspect(c.id).state.memoryBytes).toBeLessThanOrEqual(32 * 1024 * 1024);
    await runtime.remove(c.id);
  });

  it('without a limit it grows as asked, and its memory is reported', async () => {
    const c = await runtime.create({ module: growWasm, cmd: ['8'] });
    await runtime.start(c.id);
    expect((await runtime.wait(c.id)).exitCode).toBe(0);
    expect(runtime.logs(c.id).text('stdout')).toBe('grew 8 MiB\n');
    expect(runtime.inspect(c.id).state.memoryBytes).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    await runtime.remove(c.id);
  });
});

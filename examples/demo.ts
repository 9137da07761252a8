/**
 * `npm start`: the main demo, on the embedded defaults. It grows with the project; today:
 * an OCI image built from code, run as a container with a published port and a volume,
 * reached in process and over TCP, then a sandboxed plugin hitting its limits.
 */
import { readFile } from 'node:fs/promises';
import { ImageStore, MemoryFiles, Runtime, Sandbox, memoryVolumes } from 'skiff';
import { webImage } from './apps/web/image.js';

const say = (s: string): void => console.log(`\n— ${s}`);
const guest = (name: string): Promise<Uint8Array> => readFile(new URL(`../../guests/wasm/${name}.wasm`, import.meta.url));

say('An OCI image from code: the `http` guest (C compiled to WASI) over a layer of static files.');
const store = await ImageStore.open(new MemoryFiles());
const image = await webImage(store, 'web:demo');
console.log(`  web:demo ${image.descriptor.digest.slice(0, 19)}…  ${image.manifest.layers.length} layers, entrypoint ${image.config.config?.Entrypoint?.join(' ')}`);

say('Run it as a container: its own thread, a volume for the hit counter, port 80 published on 127.0.0.1.');
const runtime = new Runtime({ store, volumes: memoryVolumes() });
await runtime.create({ image: 'web:demo', name: 'web', mounts: ['hits:/data'], publish: [{ containerPort: 80, hostPort: 0 }] });
await runtime.start('web');
const [port] = runtime.inspect('web').ports;
const hostPort = port?.published[0]?.hostPort;
console.log(`  listening: container port ${port?.containerPort} is fd ${port?.fd}, published on 127.0.0.1:${hostPort}`);

say('Reach it in process (no socket: how a browser tab reaches it) and over real TCP.');
const page = await runtime.fetch('web', '/');
console.log(`  runtime.fetch('/')       → ${page.status} ${page.headers.get('content-type')}, ${(await page.text()).length} bytes`);
for (let i = 0; i < 3; i++) await (await fetch(`http://127.0.0.1:${hostPort}/`)).arrayBuffer();
const hits = await fetch(`http://127.0.0.1:${hostPort}/hits`);
console.log(`  curl 127.0.0.1:${hostPort}/hits → ${(await hits.text()).trim()} hits, counted in the volume`);

say('Kill it: the thread ends at once, the host port closes; the volume keeps the count.');
await runtime.kill('web');
console.log(`  exit ${runtime.inspect('web').state.exitCode} (${runtime.inspect('web').state.reason}); volumes: ${runtime.volumes?.list().map((v) => v.name).join(', ')}`);
await runtime.close();

say('A plugin host runs untrusted code: only what it grants, within limits.');
const hello = await Sandbox.run(await guest('hello'), { name: 'plugin', args: ['0', 'hi'], env: { GREETING: 'hello from skiff' } });
process.stdout.write(hello.stdout.replace(/^(?=.)/gm, '  plugin | '));
const bomb = await Sandbox.run(await guest('membomb'), { memory: '32m' });
console.log(`  membomb under 32 MiB: "${bomb.stdout.trim().split('\n').at(-1)}" (memory.grow refused)`);
const spin = await Sandbox.run(await guest('spin'), { timeout: '300ms' });
console.log(`  spin with a 300 ms timeout: exit ${spin.exitCode} ${spin.reason}`);
console.log('\nNext: the micro-cluster (Deployments, Services, node failure) — see the README.');

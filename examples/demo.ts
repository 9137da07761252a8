/**
 * `npm start`: the main demo, on the embedded defaults — a micro-cluster in this process.
 * Three nodes (each a kubelet on its own worker thread), the web example as a Deployment
 * of 3 behind a Service, requests spread over the pods, a node killed and its pods
 * replaced, a rollout and a rollback, a pod reaching the Service by name from inside;
 * then a plugin host sandboxing untrusted code.
 */
import { readFile } from 'node:fs/promises';
import { Cluster, Sandbox, createImage, type KubeObject } from 'skiff';
import { webImage } from './apps/web/image.js';

const say = (s: string): void => console.log(`\n— ${s}`);
const t0 = Date.now();
const at = (): string => `${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s`;
const guest = (name: string): Promise<Uint8Array> => readFile(new URL(`../../guests/wasm/${name}.wasm`, import.meta.url));

interface PodLike extends KubeObject {
  readonly spec?: { readonly nodeName?: string; readonly containers: readonly { readonly image: string }[] };
  readonly status?: { readonly phase?: string; readonly podIP?: string; readonly conditions?: readonly { readonly type: string; readonly status: string }[] };
}
const ready = (p: PodLike): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

say('Start a cluster: the API store, the controllers and 3 nodes, each a kubelet on its own thread.');
// For the demo, a dead node's pods are evicted after 2 s instead of Kubernetes' 300 s.
const cluster = await Cluster.start({ nodes: 3, podEvictionTimeout: 2_000 });
console.log(`${at()}  nodes: ${cluster.list('nodes').map((n) => n.metadata.name).join(', ')} (Ready)`);

say('Two versions of the web example image (an http server compiled from C to WASI).');
await webImage(cluster.images.store, 'web:1', { version: '1' });
await webImage(cluster.images.store, 'web:2', { version: '2' });
for (const i of await cluster.images.list()) console.log(`${at()}  ${i.ref}  ${i.digest.slice(0, 19)}…`);

say('kubectl apply -f examples/apps/web/web.yaml: a Deployment of 3 behind a Service.');
const manifest = await readFile(new URL('../../examples/apps/web/web.yaml', import.meta.url), 'utf8');
for (const a of await cluster.apply(manifest)) console.log(`${at()}  ${a.object.kind.toLowerCase()}/${a.object.metadata.name} ${a.action}`);
const pods = (): PodLike[] => cluster.list<PodLike>('pods', { labelSelector: 'app=web' }).filter((p) => p.metadata.deletionTimestamp === undefined);
const readyPods = (): PodLike[] => pods().filter(ready);
const table = (): void => {
  for (const p of pods()) console.log(`        ${p.metadata.name?.padEnd(22)} ${(p.spec?.nodeName ?? '-').padEnd(7)} ${(p.status?.podIP ?? '-').padEnd(12)} ${p.spec?.containers[0]?.image.padEnd(6)} ${ready(p) ? 'Ready' : (p.status?.phase ?? '')}`);
};
await cluster.waitFor('3 ready pods', () => readyPods().length === 3);
console.log(`${at()}  3 pods Ready, spread over the nodes by the scheduler:`);
table();

say('Requests to http://web.default.svc/ go round-robin over the ready pods.');
const spread = async (n: number): Promise<Map<string, number>> => {
  const by = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const res = await cluster.fetch('http://web.default.svc/version');
    const key = `${res.headers.get('x-served-by') ?? '?'} (v${(await res.text()).trim()})`;
    by.set(key, (by.get(key) ?? 0) + 1);
  }
  return by;
};
for (const [pod, n] of await spread(9)) console.log(`${at()}  ${pod}: ${n} requests`);
const [nodePort] = cluster.nodePorts();
if (nodePort !== undefined) {
  const res = await fetch(`http://127.0.0.1:${nodePort.nodePort}/version`);
  console.log(`${at()}  and from outside, NodePort 127.0.0.1:${nodePort.nodePort} → ${res.status} v${(await res.text()).trim()}`);
}

say('Inside the cluster, a pod reaches the Service by its name, as any Kubernetes client does.');
// The client is a WASI 0.2 component (guests/c/p2/connect.c): wasi:sockets, cluster DNS.
await createImage(cluster.images.store, { ref: 'connect:1', layers: [{ 'connect.wasm': { content: await guest('connect'), mode: 0o755 } }], config: { Entrypoint: ['/connect.wasm'] } });
await cluster.apply([
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'client' },
    spec: { restartPolicy: 'Never', containers: [{ name: 'client', image: 'connect:1', args: ['web', '80', 'GET /version HTTP/1.0\\r\\n\\r\\n'] }] },
  },
]);
await cluster.waitFor('the client to finish', () => cluster.get<PodLike>('pod', 'client').status?.phase === 'Succeeded');
const answer = await cluster.logs('client');
console.log(`${at()}  pod/client → web:80: ${answer.split('\r\n')[0]}, served by ${/x-served-by: (\S+)/i.exec(answer)?.[1] ?? '?'}`);
await cluster.delete('pod', 'client');

say('Kill a node: its thread ends at once, the Node is NotReady, its pods are replaced elsewhere.');
const victim = pods()[0]?.spec?.nodeName ?? 'node-1';
const lost = pods().filter((p) => p.spec?.nodeName === victim).map((p) => p.metadata.name);
await cluster.nodes.kill(victim);
const node = cluster.get<KubeObject<unknown, { conditions: { type: string; status: string }[] }>>('node', victim);
console.log(`${at()}  ${victim} killed; Ready=${node.status?.conditions.find((c) => c.type === 'Ready')?.status}; its pods: ${lost.join(', ')}`);
await cluster.waitFor('3 ready pods on live nodes', () => {
  const r = readyPods();
  return r.length === 3 && r.every((p) => p.spec?.nodeName !== victim);
});
console.log(`${at()}  evicted after the toleration, replaced by the ReplicaSet, scheduled on the live nodes:`);
table();

say('Roll out web:2 (maxSurge 1, maxUnavailable 0): new pods come up before old ones go.');
// The Deployment controller's own account of the steps, from the Events it records.
const events = cluster.watch<KubeObject & { reason: string; message: string }>('events', { resourceVersion: String(cluster.store.revision) });
const steps = (async () => {
  for await (const ev of events) if (ev.object.reason === 'ScalingReplicaSet') console.log(`${at()}  ${ev.object.message}`);
})();
await cluster.apply(manifest.replace('image: web:1', 'image: web:2'));
await cluster.rolloutStatus('deployment', 'web');
events.close();
await steps;
console.log(`${at()}  rolled out (revision 2):`);
table();
for (const [pod, n] of await spread(6)) console.log(`${at()}  ${pod}: ${n} requests`);

say('kubectl rollout undo: back to the previous template.');
const revision = await cluster.rollback('deployment', 'web');
await cluster.waitFor('the rollback', () => {
  const p = pods();
  return p.length === 3 && p.every((x) => x.spec?.containers[0]?.image === 'web:1' && ready(x));
});
console.log(`${at()}  rolled back to revision ${revision}'s template (now revision 3):`);
table();
await cluster.stop();
console.log(`${at()}  cluster stopped.`);

say('A plugin host runs untrusted code: only what it grants, within limits.');
const hello = await Sandbox.run(await guest('hello'), { name: 'plugin', args: ['0', 'hi'], env: { GREETING: 'hello from skiff' } });
process.stdout.write(hello.stdout.replace(/^(?=.)/gm, '  plugin | '));
const bomb = await Sandbox.run(await guest('membomb'), { memory: '32m' });
console.log(`  membomb under 32 MiB: "${bomb.stdout.trim().split('\n').at(-1)}" (memory.grow refused)`);
const spin = await Sandbox.run(await guest('spin'), { timeout: '300ms' });
console.log(`  spin with a 300 ms timeout: exit ${spin.exitCode} ${spin.reason}`);

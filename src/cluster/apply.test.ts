import { describe, expect, it } from 'vitest';
import { ApiError, type KubeObject } from './api/types.js';
import { admitAll, applyObjects } from './apply.js';
import { openStore, unwrap } from './store/index.js';

const yaml = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, labels: { app: web } }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: 'web:1', ports: [{ containerPort: 80 }] }] }
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec: { selector: { app: web }, ports: [{ port: 80 }] }
`;

describe('apply', () => {
  it('creates, then leaves unchanged, then configures; defaults are applied as the API server does', async () => {
    const store = await openStore();
    const first = await applyObjects(store, admitAll(yaml));
    expect(first.map((a) => `${a.object.kind}/${a.object.metadata.name} ${a.action}`)).toEqual(['Deployment/web created', 'Service/web created']);
    const d = unwrap(store.get<KubeObject<{ strategy: { type: string }; revisionHistoryLimit: number }>>({ kind: 'Deployment', namespace: 'default', name: 'web' }));
    expect([d.spec?.strategy.type, d.spec?.revisionHistoryLimit]).toEqual(['RollingUpdate', 10]);
    expect((await applyObjects(store, admitAll(yaml))).map((a) => a.action)).toEqual(['unchanged', 'unchanged']);
    const changed = await applyObjects(store, admitAll(yaml.replace("image: 'web:1'", "image: 'web:2'")));
    expect(changed.map((a) => a.action)).toEqual(['configured', 'unchanged']);
    expect(changed[0]?.object.metadata.generation).toBe(2);
    await store.close();
  });

  it('keeps what the cluster allocated (a Service clusterIP and nodePort, a pod binding) when applied again', async () => {
    const store = await openStore();
    await applyObjects(store, admitAll(yaml));
    const key = { kind: 'Service', namespace: 'default', name: 'web' };
    unwrap(await store.patch(key, { spec: { clusterIP: '10.96.0.10', type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] } }));
    const again = await applyObjects(store, admitAll(yaml.replace('ports: [{ port: 80 }]', 'type: NodePort, ports: [{ port: 80 }]')));
    const svc = again[1]?.object as KubeObject<{ clusterIP: string; ports: { nodePort: number }[] }>;
    expect([svc.spec?.clusterIP, svc.spec?.ports[0]?.nodePort]).toEqual(['10.96.0.10', 30080]);
    await store.close();
  });

  it('refuses an invalid object naming the field, before writing anything of the file', async () => {
    const store = await openStore();
    const bad = yaml.replace('replicas: 2', 'replicas: -1') + '---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\n';
    let err: unknown;
    try {
      await applyObjects(store, admitAll(bad));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).reason).toBe('Invalid');
    expect((err as ApiError).message).toMatch(/spec\.replicas/);
    expect(unwrap(store.list(undefined)).items).toEqual([]);
    await store.close();
  });

  it('starts a Pod Pending', async () => {
    const store = await openStore();
    const [a] = await applyObjects(store, admitAll({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } }));
    expect((a?.object.status as { phase: string }).phase).toBe('Pending');
    await store.close();
  });
});

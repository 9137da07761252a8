import { describe, expect, it } from 'vitest';
import { parseManifests } from './manifests.js';

describe('parseManifests', () => {
  it('reads multi-document YAML, skipping empty documents', () => {
    const { objects, errors } = parseManifests(`
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec: {ports: [{port: 80}]}
...
`);
    expect(errors).toEqual([]);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['ConfigMap/a', 'Service/b']);
  });

  it('flattens List kinds, nested ones too', () => {
    const { objects, errors } = parseManifests(`
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a}
- apiVersion: v1
  kind: PodList
  items:
  - {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: x}]}}
`);
    expect(errors).toEqual([]);
    expect(objects.map((o) => o.metadata.name)).toEqual(['a', 'p']);
  });

  it('accepts objects and arrays of objects', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } };
    expect(parseManifests(cm).objects).toEqual([cm]);
    expect(parseManifests([cm, { apiVersion: 'v1', kind: 'List', items: [cm] }]).objects).toHaveLength(2);
  });

  it('reads YAML 1.1 as Kubernetes does: octal modes and yes/no booleans', () => {
    const { objects } = parseManifests(`
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  enableServiceLinks: no
  containers: [{name: c, image: x}]
  volumes:
  - name: cfg
    configMap: {name: cfg, defaultMode: 0644}
`);
    const spec = objects[0]?.spec as { enableServiceLinks: boolean; volumes: { configMap: { defaultMode: number } }[] };
    expect(spec.volumes[0]?.configMap.defaultMode).toBe(0o644);
    expect(spec.enableServiceLinks).toBe(false);
  });

  it('reports syntax errors and kind-less documents as values, naming the document', () => {
    const { objects, errors } = parseManifests(`
apiVersion: v1
kind: ConfigMap
metadata: {name: ok}
---
apiVersion: v1
metadata: {name: nokind}
---
key: [unclosed
`);
    expect(objects.map((o) => o.metadata.name)).toEqual(['ok']);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({ document: 2 });
    expect(errors[0]?.message).toContain("Object 'Kind' is missing");
    expect(errors[1]).toMatchObject({ document: 3 });
    expect(errors[1]?.message).toMatch(/error parsing YAML document 3: .*line/);
  });

  it('JSON is YAML', () => {
    const { objects } = parseManifests('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j"},"data":{"a":"1"}}');
    expect(objects[0]?.metadata.name).toBe('j');
  });
});

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/types.js';
import type { Deployment, ReplicaSet } from './apps.js';
import type { HorizontalPodAutoscaler } from './autoscaling.js';
import type { Job } from './batch.js';
import type { ConfigMap, Node, PersistentVolumeClaim, Pod, Service } from './core.js';
import { withDefaults } from './defaults.js';
import { parseManifests } from './manifests.js';

function one<T extends KubeObject>(yaml: string): T {
  const o = parseManifests(yaml).objects[0];
  if (!o) throw new Error('no object');
  return withDefaults(o) as T;
}

// Expected values are the API server's, from kubernetes/kubernetes pkg/apis/*/v1/defaults.go
// (see defaults.ts for the function each comes from).
describe('withDefaults', () => {
  it('Pod: restartPolicy, grace period, dnsPolicy, schedulerName, service links (SetDefaults_PodSpec, _Pod)', () => {
    const pod = one<Pod>('{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: nginx}]}}');
    expect(pod.spec).toMatchObject({
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      enableServiceLinks: true,
      securityContext: {},
    });
  });

  it('Container: imagePullPolicy by tag, termination message, port protocol (SetDefaults_Container)', () => {
    const pod = one<Pod>(`
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - {name: a, image: nginx, ports: [{containerPort: 80}]}
  - {name: b, image: "nginx:latest"}
  - {name: c, image: "nginx:1.27"}
  - {name: d, image: "registry.local:5000/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
  - {name: e, image: "registry.local:5000/web"}
  - {name: f, image: nginx, imagePullPolicy: Never}
`);
    expect(pod.spec.containers.map((c) => c.imagePullPolicy)).toEqual(['Always', 'Always', 'IfNotPresent', 'IfNotPresent', 'Always', 'Never']);
    expect(pod.spec.containers[0]).toMatchObject({ terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', ports: [{ containerPort: 80, protocol: 'TCP' }] });
  });

  it('Pod: requests default to limits, on Pods only (SetDefaults_Pod)', () => {
    const pod = one<Pod>('{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: x, resources: {limits: {cpu: 500m, memory: 128Mi}, requests: {cpu: 100m}}}]}}');
    expect(pod.spec.containers[0]?.resources?.requests).toEqual({ cpu: '100m', memory: '128Mi' });
    const rs = one<ReplicaSet>(`
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: r}
spec:
  selector: {matchLabels: {a: b}}
  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: x, resources: {limits: {cpu: 500m}}}]}}
`);
    expect(rs.spec.template?.spec.containers[0]?.resources?.requests).toBeUndefined();
    expect(rs.spec.replicas).toBe(1);
    expect(rs.spec.template?.spec.restartPolicy).toBe('Always');
  });

  it('Probe: period 10 s, timeout 1 s, failureThreshold 3, successThreshold 1, httpGet path / and scheme HTTP (SetDefaults_Probe, _HTTPGetAction)', () => {
    const pod = one<Pod>('{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: x, livenessProbe: {httpGet: {port: 8080}}, readinessProbe: {tcpSocket: {port: 80}, periodSeconds: 2}}]}}');
    const c = pod.spec.containers[0];
    expect(c?.livenessProbe).toEqual({ httpGet: { port: 8080, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
    expect(c?.readinessProbe).toMatchObject({ periodSeconds: 2, timeoutSeconds: 1 });
  });

  it('Volumes: no source is emptyDir; configMap and secret modes 0644 (SetDefaults_Volume, _ConfigMapVolumeSource)', () => {
    const pod = one<Pod>('{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: x}], volumes: [{name: a}, {name: b, configMap: {name: cm}}, {name: c, secret: {secretName: s, defaultMode: 0400}}]}}');
    expect(pod.spec.volumes).toEqual([
      { name: 'a', emptyDir: {} },
      { name: 'b', configMap: { name: 'cm', defaultMode: 0o644 } },
      { name: 'c', secret: { secretName: 's', defaultMode: 0o400 } },
    ]);
  });

  it('Deployment: replicas 1, RollingUpdate 25%/25%, revisionHistoryLimit 10, progressDeadlineSeconds 600 (SetDefaults_Deployment)', () => {
    const d = one<Deployment>('{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: x}]}}}}');
    expect(d.spec).toMatchObject({
      replicas: 1,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    });
    const recreate = one<Deployment>('{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {strategy: {type: Recreate}, selector: {}, template: {spec: {containers: []}}}}');
    expect(recreate.spec.strategy).toEqual({ type: 'Recreate' });
    const partial = one<Deployment>("{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {replicas: 0, strategy: {rollingUpdate: {maxSurge: 1}}, selector: {}, template: {spec: {containers: []}}}}");
    expect(partial.spec.replicas).toBe(0);
    expect(partial.spec.strategy?.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: '25%' });
  });

  it('Job: completions and parallelism 1, backoffLimit 6, labels from the template (SetDefaults_Job)', () => {
    const j = one<Job>('{apiVersion: batch/v1, kind: Job, metadata: {name: j}, spec: {template: {metadata: {labels: {app: pi}}, spec: {restartPolicy: Never, containers: [{name: c, image: x}]}}}}');
    expect(j.spec).toMatchObject({ completions: 1, parallelism: 1, backoffLimit: 6, completionMode: 'NonIndexed', suspend: false });
    expect(j.metadata.labels).toEqual({ app: 'pi' });
    const p = one<Job>('{apiVersion: batch/v1, kind: Job, metadata: {name: j}, spec: {parallelism: 3, template: {spec: {containers: []}}}}');
    expect(p.spec.completions).toBeUndefined(); // a work queue: completions stay unset
    expect(p.spec.parallelism).toBe(3);
  });

  it('Service: type ClusterIP, protocol TCP, targetPort = port, sessionAffinity None (SetDefaults_Service)', () => {
    const s = one<Service>('{apiVersion: v1, kind: Service, metadata: {name: s}, spec: {ports: [{port: 80}, {port: 443, targetPort: https}]}}');
    expect(s.spec).toEqual({
      type: 'ClusterIP',
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      ports: [
        { port: 80, protocol: 'TCP', targetPort: 80 },
        { port: 443, protocol: 'TCP', targetPort: 'https' },
      ],
    });
    const np = one<Service>('{apiVersion: v1, kind: Service, metadata: {name: s}, spec: {type: NodePort, ports: [{port: 80}]}}');
    expect(np.spec?.externalTrafficPolicy).toBe('Cluster');
  });

  it('Node: allocatable defaults to capacity (SetDefaults_NodeStatus)', () => {
    const n = one<Node>('{apiVersion: v1, kind: Node, metadata: {name: n}, status: {capacity: {cpu: "4", memory: 32Gi, pods: "110"}}}');
    expect(n.status?.allocatable).toEqual({ cpu: '4', memory: '32Gi', pods: '110' });
  });

  it('ConfigMap data, PVC phase and volumeMode, HPA minReplicas and cpu metric', () => {
    expect(one<ConfigMap>('{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}').data).toEqual({});
    const pvc = one<PersistentVolumeClaim>('{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: c}, spec: {accessModes: [ReadWriteOnce]}}');
    expect(pvc.spec.volumeMode).toBe('Filesystem');
    expect(pvc.status?.phase).toBe('Pending');
    const hpa = one<HorizontalPodAutoscaler>('{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: h}, spec: {scaleTargetRef: {kind: Deployment, name: web}, maxReplicas: 5, behavior: {scaleDown: {stabilizationWindowSeconds: 60}}}}');
    expect(hpa.spec.minReplicas).toBe(1);
    expect(hpa.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }]);
    expect(hpa.spec.behavior?.scaleUp).toEqual({ stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] });
    expect(hpa.spec.behavior?.scaleDown).toEqual({ stabilizationWindowSeconds: 60, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] });
  });

  it('is pure and idempotent', () => {
    const src = parseManifests('{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: x}]}}').objects[0] as KubeObject;
    const before = structuredClone(src);
    const once = withDefaults(src);
    expect(src).toEqual(before);
    expect(withDefaults(once)).toEqual(once);
  });

  it('leaves unknown kinds and malformed fields alone', () => {
    const odd = { apiVersion: 'v1', kind: 'Pod', metadata: {}, spec: { containers: 'nope' } } as unknown as KubeObject;
    expect(() => withDefaults(odd)).not.toThrow();
    const other = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: {} };
    expect(withDefaults(other)).toEqual(other);
  });
});

import { describe, expect, it } from 'vitest';
import { parseManifests } from './manifests.js';
import { admit, validate } from './validation.js';

/** Manifests from the Kubernetes documentation (kubernetes.io/docs), verbatim or nearly. */
const DOCS = `
# concepts/workloads/controllers/deployment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
  labels:
    app: nginx
spec:
  replicas: 3
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.14.2
        ports:
        - containerPort: 80
---
# concepts/workloads/controllers/replicaset
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: frontend
  labels:
    app: guestbook
    tier: frontend
spec:
  replicas: 3
  selector:
    matchLabels:
      tier: frontend
  template:
    metadata:
      labels:
        tier: frontend
    spec:
      containers:
      - name: php-redis
        image: us-docker.pkg.dev/google-samples/containers/gke/gb-frontend:v5
---
# concepts/workloads/controllers/job
apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  template:
    spec:
      containers:
      - name: pi
        image: perl:5.34.0
        command: ["perl",  "-Mbignum=bpi", "-wle", "print bpi(2000)"]
      restartPolicy: Never
  backoffLimit: 4
---
# tasks/configure-pod-container/configure-liveness-readiness-startup-probes
apiVersion: v1
kind: Pod
metadata:
  labels:
    test: liveness
  name: liveness-http
spec:
  containers:
  - name: liveness
    image: registry.k8s.io/e2e-test-images/agnhost:2.40
    args:
    - liveness
    livenessProbe:
      httpGet:
        path: /healthz
        port: 8080
        httpHeaders:
        - name: Custom-Header
          value: Awesome
      initialDelaySeconds: 3
      periodSeconds: 3
---
apiVersion: v1
kind: Pod
metadata:
  name: goproxy
  labels:
    app: goproxy
spec:
  containers:
  - name: goproxy
    image: registry.k8s.io/goproxy:0.1
    ports:
    - containerPort: 8080
    readinessProbe:
      tcpSocket:
        port: 8080
      initialDelaySeconds: 15
      periodSeconds: 10
    livenessProbe:
      exec:
        command: [cat, /tmp/healthy]
    startupProbe:
      httpGet:
        path: /healthz
        port: liveness-port
      failureThreshold: 30
      periodSeconds: 10
---
# concepts/configuration/manage-resources-containers
apiVersion: v1
kind: Pod
metadata:
  name: frontend
spec:
  containers:
  - name: app
    image: images.my-company.example/app:v4
    resources:
      requests:
        memory: "64Mi"
        cpu: "250m"
      limits:
        memory: "128Mi"
        cpu: "500m"
  - name: log-aggregator
    image: images.my-company.example/log-aggregator:v6
    resources:
      requests:
        memory: "64Mi"
        cpu: "250m"
      limits:
        memory: "128Mi"
        cpu: "500m"
---
# concepts/services-networking/service
apiVersion: v1
kind: Service
metadata:
  name: my-service
spec:
  selector:
    app.kubernetes.io/name: MyApp
  ports:
    - protocol: TCP
      port: 80
      targetPort: 9376
---
apiVersion: v1
kind: Service
metadata:
  name: my-nodeport
spec:
  type: NodePort
  selector:
    app.kubernetes.io/name: MyApp
  ports:
    - name: http
      port: 80
      targetPort: http-web-svc
      nodePort: 30007
    - name: metrics
      port: 9090
---
# concepts/configuration/configmap
apiVersion: v1
kind: ConfigMap
metadata:
  name: game-demo
data:
  player_initial_lives: "3"
  ui_properties_file_name: "user-interface.properties"
  game.properties: |
    enemy.types=aliens,monsters
    player.maximum-lives=5
  user-interface.properties: |
    color.good=purple
    color.bad=yellow
    allow.textmode=true
---
apiVersion: v1
kind: Pod
metadata:
  name: configmap-demo-pod
spec:
  containers:
    - name: demo
      image: alpine
      command: ["sleep", "3600"]
      env:
        - name: PLAYER_INITIAL_LIVES
          valueFrom:
            configMapKeyRef:
              name: game-demo
              key: player_initial_lives
      volumeMounts:
      - name: config
        mountPath: "/config"
        readOnly: true
  volumes:
  - name: config
    configMap:
      name: game-demo
      items:
      - key: "game.properties"
        path: "game.properties"
---
# concepts/storage/persistent-volumes
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: myclaim
spec:
  accessModes:
    - ReadWriteOnce
  volumeMode: Filesystem
  resources:
    requests:
      storage: 8Gi
  storageClassName: slow
  selector:
    matchLabels:
      release: "stable"
    matchExpressions:
      - {key: environment, operator: In, values: [dev]}
---
apiVersion: v1
kind: Pod
metadata:
  name: mypod
spec:
  containers:
    - name: myfrontend
      image: nginx
      volumeMounts:
      - mountPath: "/var/www/html"
        name: mypd
    - name: cache
      image: nginx
      volumeMounts:
      - mountPath: /cache
        name: cache-volume
  volumes:
    - name: mypd
      persistentVolumeClaim:
        claimName: myclaim
    - name: cache-volume
      emptyDir:
        sizeLimit: 500Mi
---
# tasks/run-application/horizontal-pod-autoscale-walkthrough
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: php-apache
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: php-apache
  minReplicas: 1
  maxReplicas: 10
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 50
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
      policies:
      - type: Percent
        value: 100
        periodSeconds: 15
---
# concepts/scheduling-eviction/assign-pod-node, taint-and-toleration
apiVersion: v1
kind: Pod
metadata:
  name: with-node-affinity
spec:
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions:
          - key: topology.kubernetes.io/zone
            operator: In
            values:
            - antarctica-east1
            - antarctica-west1
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 1
        preference:
          matchExpressions:
          - key: another-node-label-key
            operator: In
            values:
            - another-node-label-value
  tolerations:
  - key: "example-key"
    operator: "Exists"
    effect: "NoSchedule"
  - key: "node.kubernetes.io/unreachable"
    operator: "Exists"
    effect: "NoExecute"
    tolerationSeconds: 6000
  nodeSelector:
    disktype: ssd
  containers:
  - name: with-node-affinity
    image: registry.k8s.io/pause:3.8
---
apiVersion: v1
kind: Node
metadata:
  name: node-1
  labels: {kubernetes.io/hostname: node-1}
spec:
  taints:
  - {key: key1, value: value1, effect: NoSchedule}
status:
  capacity: {cpu: "4", memory: 32Gi, pods: "110"}
  conditions: [{type: Ready, status: "True"}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: recreate
spec:
  selector:
    matchExpressions: [{key: app, operator: In, values: [web, api]}]
  strategy: {type: Recreate}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "ghcr.io/example/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}]
`;

/** The messages for `obj`, as `kubectl apply` would print them. */
function messages(yaml: string): string[] {
  const { objects, errors } = parseManifests(yaml);
  expect(errors).toEqual([]);
  expect(objects).toHaveLength(1);
  return validate(objects[0]).map((e) => e.message);
}

const deployment = (containers: string, extra = ''): string => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
${extra}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
${containers}
`;

describe('validate: manifests from the Kubernetes docs', () => {
  const { objects, errors } = parseManifests(DOCS);
  it('parses them all', () => {
    expect(errors).toEqual([]);
    expect(objects.length).toBe(16);
  });
  for (const o of objects)
    it(`accepts ${o.kind} ${o.metadata.name}`, () => {
      expect(validate(o).map((e) => e.message)).toEqual([]);
    });
});

describe('validate: invalid manifests name the field', () => {
  it('a container without an image', () => {
    expect(messages(deployment('      - name: web'))).toEqual(['spec.template.spec.containers[0].image: Required value']);
  });

  it('negative replicas', () => {
    expect(messages(deployment('      - {name: web, image: nginx}', '  replicas: -1'))).toEqual(['spec.replicas: Invalid value: -1: must be greater than or equal to 0']);
  });

  it('a field of the wrong type', () => {
    expect(messages(deployment('      - {name: web, image: nginx, ports: [{containerPort: eighty}]}', '  replicas: three'))).toEqual([
      'spec.replicas: Invalid value: "three": spec.replicas in body must be of type integer: "string"',
      'spec.template.spec.containers[0].ports[0].containerPort: Invalid value: "eighty": spec.template.spec.containers[0].ports[0].containerPort in body must be of type integer: "string"',
    ]);
  });

  it('an unknown field (a typo) — strict field validation', () => {
    expect(messages(deployment('      - {name: web, image: nginx, imagePullPolcy: Always}'))).toEqual(['unknown field "spec.template.spec.containers[0].imagePullPolcy"']);
  });

  it('a value outside an enum', () => {
    expect(
      messages(`
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {restartPolicy: Sometimes, containers: [{name: c, image: x}]}
`),
    ).toEqual(['spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"']);
  });

  it('a selector that does not match the template', () => {
    expect(
      messages(`
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: c, image: x}]}
`),
    ).toEqual(['spec.template.metadata.labels: Invalid value: map[string]string{"app":"api"}: `selector` does not match template `labels`']);
  });

  it('a Job whose restartPolicy defaults to Always', () => {
    expect(
      messages(`
apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec: {template: {spec: {containers: [{name: c, image: x}]}}}
`),
    ).toEqual(['spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"']);
  });

  it('a malformed quantity and requests above limits', () => {
    expect(
      messages(`
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - {name: a, image: x, resources: {requests: {cpu: lots}}}
  - {name: b, image: x, resources: {requests: {cpu: "2"}, limits: {cpu: "1"}}}
`),
    ).toEqual([
      `spec.containers[0].resources.requests[cpu]: Invalid value: "lots": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
    ]);
    expect(
      messages(`
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - {name: b, image: x, resources: {requests: {cpu: "2"}, limits: {cpu: "1"}}}
`),
    ).toEqual(['spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of 1']);
  });

  it('names: an uppercase pod name, a duplicate container, an unknown volume', () => {
    expect(
      messages(`
apiVersion: v1
kind: Pod
metadata: {name: Web_1}
spec:
  containers:
  - {name: c, image: x, volumeMounts: [{name: data, mountPath: /data}]}
  - {name: c, image: x}
`),
    ).toEqual([
      `metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      'spec.containers[0].volumeMounts[0].name: Not found: "data"',
      'spec.containers[1].name: Duplicate value: "c"',
    ]);
  });

  it('probes: two handlers, none, and a liveness successThreshold', () => {
    expect(
      messages(`
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: c
    image: x
    livenessProbe: {exec: {command: [cat, /tmp/ok]}, tcpSocket: {port: 80}, successThreshold: 2}
    readinessProbe: {periodSeconds: 5}
`),
    ).toEqual([
      'spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type',
      'spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1',
      'spec.containers[0].readinessProbe: Required value: must specify a handler type',
    ]);
  });

  it('services: a zero port, a nodePort on ClusterIP, unnamed ports', () => {
    expect(
      messages(`
apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  ports: [{port: 0, nodePort: 30001}, {port: 81}]
`),
    ).toEqual([
      'spec.ports[0].name: Required value',
      'spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive',
      'spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive',
      "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
      'spec.ports[1].name: Required value',
    ]);
  });

  it('deployments: a rolling update that can make no progress', () => {
    expect(messages(deployment('      - {name: web, image: nginx}', '  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 0}}'))).toEqual([
      'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0',
    ]);
    expect(messages(deployment('      - {name: web, image: nginx}', "  strategy: {type: Recreate, rollingUpdate: {maxSurge: '50%'}}"))).toEqual([
      "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
    ]);
  });

  it('HPAs, config maps, claims, tolerations, unknown kinds', () => {
    expect(
      messages(`
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: h}
spec: {scaleTargetRef: {kind: Deployment, name: web}, minReplicas: 3, maxReplicas: 2}
`),
    ).toEqual(['spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`']);
    expect(messages('{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {"a b": "1"}}')).toEqual([
      `data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
    ]);
    expect(messages('{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: c}, spec: {}}')).toEqual([
      'spec.accessModes: Required value: at least 1 access mode is required',
      'spec.resources[storage]: Required value',
    ]);
    expect(messages('{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: x}], tolerations: [{key: k, operator: Exists, value: v}]}}')).toEqual([
      `spec.tolerations[0].operator: Invalid value: "v": value must be empty when \`operator\` is 'Exists'`,
    ]);
    expect(messages('{apiVersion: apps/v1beta1, kind: Deployment, metadata: {name: d}}')).toEqual([
      'kind: Invalid value: "Deployment": no matches for kind "Deployment" in version "apps/v1beta1"',
    ]);
    expect(messages('{apiVersion: v1, kind: Node, metadata: {name: node-1, namespace: default}}')).toEqual(['metadata.namespace: Forbidden: not allowed on this type']);
  });
});

describe('Secrets', () => {
  it('stringData is merged into data as base64 (its keys win) and dropped; type defaults to Opaque', () => {
    const r = admit(parseManifests('{apiVersion: v1, kind: Secret, metadata: {name: s}, data: {a: YWFh, b: Yg==}, stringData: {b: "bé", c: x}}').objects[0]);
    if (!r.ok) throw r.error;
    expect(r.object).toMatchObject({ type: 'Opaque', data: { a: 'YWFh', b: 'YsOp', c: 'eA==' } });
    expect('stringData' in r.object).toBe(false);
  });

  it('names a key that is not a config key, a value that is not base64, and a secret over 1 MiB', () => {
    expect(messages('{apiVersion: v1, kind: Secret, metadata: {name: s}, data: {"a/b": YQ==, ok: "not base64!"}}')).toEqual([
      `data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
      'data[ok]: Invalid value: "<value omitted>": must be base64-encoded (illegal base64 data)',
    ]);
    const big = 'x'.repeat(1024 * 1024 + 1);
    expect(messages(`{apiVersion: v1, kind: Secret, metadata: {name: s}, stringData: {big: ${big}}}`)).toEqual(['data: Too long: must have at most 1048576 bytes']);
  });
});

describe('admit', () => {
  it('returns the defaulted object when valid', () => {
    const r = admit(parseManifests(deployment('      - {name: web, image: nginx}')).objects[0]);
    expect(r.ok).toBe(true);
    if (r.ok) expect((r.object.spec as { replicas: number }).replicas).toBe(1);
  });

  it("returns the API server's Invalid error when not", () => {
    const r = admit(parseManifests(deployment('      - name: web', '  replicas: -1')).objects[0]);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe(422);
      expect(r.error.reason).toBe('Invalid');
      expect(r.error.field).toBe('spec.replicas');
      expect(r.error.message).toBe(
        'Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, spec.template.spec.containers[0].image: Required value]',
      );
    }
  });
});

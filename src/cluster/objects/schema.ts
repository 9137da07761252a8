/**
 * The structural schema of the kinds skiff serves: for each field, its type (and enum),
 * and no more — the Kubernetes OpenAPI schema's shape, for the subset of kinds in
 * objects/. `checkSchema` walks a manifest against it and reports, with Kubernetes'
 * messages, a field of the wrong type, a value outside an enum, a malformed quantity and
 * an unknown field (the API server's strict field validation, which `kubectl apply`
 * asks for by default, so a typo like `imagePullPolcy` is an error, not a silent no-op).
 *
 * Every object schema is written as `obj<T>({...})`: the compiler requires exactly the
 * keys of the TypeScript interface `T`, so the schema and the types cannot drift apart.
 * Semantic rules (required values, names, ranges, cross-field checks) are in
 * validation.ts. `status` is not checked: clients do not write it (the API server
 * ignores status on create and update of the main resource).
 */
import type { ObjectMeta, OwnerReference } from '../api/types.js';
import type * as apps from './apps.js';
import type * as autoscaling from './autoscaling.js';
import type * as batch from './batch.js';
import type * as core from './core.js';
import { fieldErrors, path, type FieldError } from './field-errors.js';
import { isQuantity, QUANTITY_FORMAT_ERROR } from './quantity.js';

export type Schema =
  | { readonly type: 'string'; readonly enum?: readonly string[] }
  | { readonly type: 'integer' }
  | { readonly type: 'number' }
  | { readonly type: 'boolean' }
  | { readonly type: 'quantity' }
  | { readonly type: 'int-or-string' }
  /** A closed object: only the listed fields. */
  | { readonly type: 'object'; readonly fields: Readonly<Record<string, Schema>> }
  /** A string-keyed map (labels, resource lists, config data). */
  | { readonly type: 'map'; readonly values: Schema }
  | { readonly type: 'array'; readonly items: Schema }
  /** Anything: a sub-object Kubernetes defines and skiff keeps without interpreting. */
  | { readonly type: 'any' };

type Fields<T> = { readonly [K in keyof T]-?: Schema };

const str = (...values: string[]): Schema => (values.length ? { type: 'string', enum: values } : { type: 'string' });
const int: Schema = { type: 'integer' };
const bool: Schema = { type: 'boolean' };
const qty: Schema = { type: 'quantity' };
const intOrString: Schema = { type: 'int-or-string' };
const any: Schema = { type: 'any' };
const arr = (items: Schema): Schema => ({ type: 'array', items });
const map = (values: Schema): Schema => ({ type: 'map', values });
const strings = arr(str());
const stringMap = map(str());
const resourceList = map(qty);
function obj<T>(fields: Fields<T>): Schema {
  return { type: 'object', fields };
}

// ---------------------------------------------------------------- meta

const ownerReference = obj<OwnerReference>({ apiVersion: str(), kind: str(), name: str(), uid: str(), controller: bool, blockOwnerDeletion: bool });

const objectMeta = obj<ObjectMeta & { selfLink?: string; managedFields?: unknown }>({
  name: str(),
  generateName: str(),
  namespace: str(),
  uid: str(),
  resourceVersion: str(),
  generation: int,
  creationTimestamp: str(),
  deletionTimestamp: str(),
  deletionGracePeriodSeconds: int,
  labels: stringMap,
  annotations: stringMap,
  ownerReferences: arr(ownerReference),
  finalizers: strings,
  selfLink: str(),
  managedFields: arr(any),
});

const labelSelector = obj<core.LabelSelector>({
  matchLabels: stringMap,
  matchExpressions: arr(obj<core.LabelSelectorRequirement>({ key: str(), operator: str('In', 'NotIn', 'Exists', 'DoesNotExist'), values: strings })),
});

// ---------------------------------------------------------------- pods

const nodeSelectorRequirement = obj<core.NodeSelectorRequirement>({
  key: str(),
  operator: str('In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'),
  values: strings,
});
const nodeSelectorTerm = obj<core.NodeSelectorTerm>({ matchExpressions: arr(nodeSelectorRequirement), matchFields: arr(nodeSelectorRequirement) });
const affinity = obj<core.Affinity>({
  nodeAffinity: obj<core.NodeAffinity>({
    requiredDuringSchedulingIgnoredDuringExecution: obj<core.NodeSelector>({ nodeSelectorTerms: arr(nodeSelectorTerm) }),
    preferredDuringSchedulingIgnoredDuringExecution: arr(obj<core.PreferredSchedulingTerm>({ weight: int, preference: nodeSelectorTerm })),
  }),
  podAffinity: any,
  podAntiAffinity: any,
});

const taintEffect = str('NoSchedule', 'PreferNoSchedule', 'NoExecute');
const toleration = obj<core.Toleration>({ key: str(), operator: str('Exists', 'Equal'), value: str(), effect: taintEffect, tolerationSeconds: int });
const taint = obj<core.Taint>({ key: str(), value: str(), effect: taintEffect, timeAdded: str() });

const protocol = str('TCP', 'UDP', 'SCTP');
const keySelector = obj<core.KeySelector>({ name: str(), key: str(), optional: bool });
const nameReference = obj<core.NameReference>({ name: str(), optional: bool });
const resources = obj<core.ResourceRequirements>({ limits: resourceList, requests: resourceList, claims: arr(any) });

const probe = obj<core.Probe>({
  exec: obj<core.ExecAction>({ command: strings }),
  httpGet: obj<core.HTTPGetAction>({
    path: str(),
    port: intOrString,
    host: str(),
    scheme: str('HTTP', 'HTTPS'),
    httpHeaders: arr(obj<core.HTTPHeader>({ name: str(), value: str() })),
  }),
  tcpSocket: obj<core.TCPSocketAction>({ port: intOrString, host: str() }),
  grpc: obj<core.GRPCAction>({ port: int, service: str() }),
  initialDelaySeconds: int,
  timeoutSeconds: int,
  periodSeconds: int,
  successThreshold: int,
  failureThreshold: int,
  terminationGracePeriodSeconds: int,
});

const container = obj<core.Container>({
  name: str(),
  image: str(),
  command: strings,
  args: strings,
  workingDir: str(),
  ports: arr(obj<core.ContainerPort>({ name: str(), hostPort: int, containerPort: int, protocol, hostIP: str() })),
  envFrom: arr(obj<core.EnvFromSource>({ prefix: str(), configMapRef: nameReference, secretRef: nameReference })),
  env: arr(
    obj<core.EnvVar>({
      name: str(),
      value: str(),
      valueFrom: obj<core.EnvVarSource>({
        fieldRef: obj<core.ObjectFieldSelector>({ apiVersion: str(), fieldPath: str() }),
        resourceFieldRef: obj<core.ResourceFieldSelector>({ containerName: str(), resource: str(), divisor: qty }),
        configMapKeyRef: keySelector,
        secretKeyRef: keySelector,
      }),
    }),
  ),
  resources,
  resizePolicy: arr(any),
  restartPolicy: str('Always'),
  volumeMounts: arr(
    obj<core.VolumeMount>({
      name: str(),
      readOnly: bool,
      recursiveReadOnly: str('Disabled', 'IfPossible', 'Enabled'),
      mountPath: str(),
      subPath: str(),
      mountPropagation: str('None', 'HostToContainer', 'Bidirectional'),
      subPathExpr: str(),
    }),
  ),
  volumeDevices: arr(any),
  livenessProbe: probe,
  readinessProbe: probe,
  startupProbe: probe,
  lifecycle: any,
  terminationMessagePath: str(),
  terminationMessagePolicy: str('File', 'FallbackToLogsOnError'),
  imagePullPolicy: str('Always', 'Never', 'IfNotPresent'),
  securityContext: any,
  stdin: bool,
  stdinOnce: bool,
  tty: bool,
});

const keyToPath = obj<core.KeyToPath>({ key: str(), path: str(), mode: int });
const volume = obj<core.Volume>({
  name: str(),
  emptyDir: obj<core.EmptyDirVolumeSource>({ medium: str('', 'Memory'), sizeLimit: qty }),
  configMap: obj<core.ConfigMapVolumeSource>({ name: str(), items: arr(keyToPath), defaultMode: int, optional: bool }),
  secret: obj<core.SecretVolumeSource>({ secretName: str(), items: arr(keyToPath), defaultMode: int, optional: bool }),
  persistentVolumeClaim: obj<core.PersistentVolumeClaimVolumeSource>({ claimName: str(), readOnly: bool }),
  hostPath: obj<core.HostPathVolumeSource>({ path: str(), type: str('', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice') }),
  downwardAPI: any,
  projected: any,
  ephemeral: any,
  image: any,
  csi: any,
  nfs: any,
  iscsi: any,
  gitRepo: any,
  gcePersistentDisk: any,
  awsElasticBlockStore: any,
  azureDisk: any,
  azureFile: any,
  cephfs: any,
  cinder: any,
  fc: any,
  flexVolume: any,
  flocker: any,
  glusterfs: any,
  photonPersistentDisk: any,
  portworxVolume: any,
  quobyte: any,
  rbd: any,
  scaleIO: any,
  storageos: any,
  vsphereVolume: any,
});

const podSpec = obj<core.PodSpec>({
  volumes: arr(volume),
  initContainers: arr(container),
  containers: arr(container),
  ephemeralContainers: arr(any),
  restartPolicy: str('Always', 'OnFailure', 'Never'),
  terminationGracePeriodSeconds: int,
  activeDeadlineSeconds: int,
  dnsPolicy: str('ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'),
  nodeSelector: stringMap,
  serviceAccountName: str(),
  serviceAccount: str(),
  automountServiceAccountToken: bool,
  nodeName: str(),
  hostNetwork: bool,
  hostPID: bool,
  hostIPC: bool,
  shareProcessNamespace: bool,
  securityContext: any,
  imagePullSecrets: arr(obj<core.LocalObjectReference>({ name: str() })),
  hostname: str(),
  subdomain: str(),
  affinity,
  schedulerName: str(),
  tolerations: arr(toleration),
  hostAliases: arr(any),
  priorityClassName: str(),
  priority: int,
  dnsConfig: any,
  readinessGates: arr(any),
  runtimeClassName: str(),
  enableServiceLinks: bool,
  preemptionPolicy: str('PreemptLowerPriority', 'Never'),
  overhead: resourceList,
  topologySpreadConstraints: arr(any),
  setHostnameAsFQDN: bool,
  os: any,
  hostUsers: bool,
  schedulingGates: arr(obj<{ name: string }>({ name: str() })),
  resourceClaims: arr(any),
  resources,
});

const podTemplateSpec = obj<core.PodTemplateSpec>({ metadata: objectMeta, spec: podSpec });

// ---------------------------------------------------------------- kinds

/** The fields every kind has; kinds without a spec (ConfigMap, Secret, Endpoints) take `top(any)`. */
const top = (spec: Schema): Fields<{ apiVersion: string; kind: string; metadata: ObjectMeta; spec: unknown; status: unknown }> => ({
  apiVersion: str(),
  kind: str(),
  metadata: objectMeta,
  spec,
  status: any,
});

const pod = obj<core.Pod>(top(podSpec));

const service = obj<core.Service>(
  top(
    obj<core.ServiceSpec>({
      ports: arr(obj<core.ServicePort>({ name: str(), protocol, appProtocol: str(), port: int, targetPort: intOrString, nodePort: int })),
      selector: stringMap,
      clusterIP: str(),
      clusterIPs: strings,
      type: str('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'),
      externalIPs: strings,
      sessionAffinity: str('None', 'ClientIP'),
      loadBalancerIP: str(),
      loadBalancerSourceRanges: strings,
      externalName: str(),
      externalTrafficPolicy: str('Cluster', 'Local'),
      healthCheckNodePort: int,
      publishNotReadyAddresses: bool,
      sessionAffinityConfig: any,
      ipFamilies: arr(str('IPv4', 'IPv6')),
      ipFamilyPolicy: str('SingleStack', 'PreferDualStack', 'RequireDualStack'),
      allocateLoadBalancerNodePorts: bool,
      loadBalancerClass: str(),
      internalTrafficPolicy: str('Cluster', 'Local'),
      trafficDistribution: str(),
    }),
  ),
);

const configMap = obj<core.ConfigMap>({
  ...top(any),
  data: stringMap,
  binaryData: stringMap,
  immutable: bool,
});

const secret = obj<core.Secret>({
  ...top(any),
  data: stringMap,
  stringData: stringMap,
  type: str(),
  immutable: bool,
});

const endpointAddress = obj<core.EndpointAddress>({
  ip: str(),
  hostname: str(),
  nodeName: str(),
  targetRef: obj<core.ObjectReference & { resourceVersion?: string; fieldPath?: string }>({ apiVersion: str(), kind: str(), namespace: str(), name: str(), uid: str(), resourceVersion: str(), fieldPath: str() }),
});

const endpoints = obj<core.Endpoints>({
  ...top(any),
  subsets: arr(
    obj<core.EndpointSubset>({
      addresses: arr(endpointAddress),
      notReadyAddresses: arr(endpointAddress),
      ports: arr(obj<core.EndpointPort>({ name: str(), port: int, protocol, appProtocol: str() })),
    }),
  ),
});

const node = obj<core.Node>(
  top(
    obj<core.NodeSpec>({
      podCIDR: str(),
      podCIDRs: strings,
      providerID: str(),
      unschedulable: bool,
      taints: arr(taint),
      configSource: any,
      externalID: str(),
    }),
  ),
);

const persistentVolumeClaim = obj<core.PersistentVolumeClaim>(
  top(
    obj<core.PersistentVolumeClaimSpec>({
      accessModes: arr(str('ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod')),
      selector: labelSelector,
      resources,
      volumeName: str(),
      storageClassName: str(),
      volumeMode: str('Filesystem', 'Block'),
      dataSource: any,
      dataSourceRef: any,
      volumeAttributesClassName: str(),
    }),
  ),
);

const replicaSet = obj<apps.ReplicaSet>(
  top(obj<apps.ReplicaSetSpec>({ replicas: int, minReadySeconds: int, selector: labelSelector, template: podTemplateSpec })),
);

const deployment = obj<apps.Deployment>(
  top(
    obj<apps.DeploymentSpec>({
      replicas: int,
      selector: labelSelector,
      template: podTemplateSpec,
      strategy: obj<apps.DeploymentStrategy>({
        type: str('RollingUpdate', 'Recreate'),
        rollingUpdate: obj<apps.RollingUpdateDeployment>({ maxUnavailable: intOrString, maxSurge: intOrString }),
      }),
      minReadySeconds: int,
      revisionHistoryLimit: int,
      paused: bool,
      progressDeadlineSeconds: int,
    }),
  ),
);

const job = obj<batch.Job>(
  top(
    obj<batch.JobSpec>({
      parallelism: int,
      completions: int,
      activeDeadlineSeconds: int,
      podFailurePolicy: any,
      successPolicy: any,
      backoffLimit: int,
      backoffLimitPerIndex: int,
      maxFailedIndexes: int,
      selector: labelSelector,
      manualSelector: bool,
      template: podTemplateSpec,
      ttlSecondsAfterFinished: int,
      completionMode: str('NonIndexed', 'Indexed'),
      suspend: bool,
      podReplacementPolicy: str('TerminatingOrFailed', 'Failed'),
      managedBy: str(),
    }),
  ),
);

const metricTarget = obj<autoscaling.MetricTarget>({ type: str('Utilization', 'Value', 'AverageValue'), value: qty, averageValue: qty, averageUtilization: int });
const metricIdentifier = obj<autoscaling.MetricIdentifier>({ name: str(), selector: labelSelector });
const crossVersionObjectReference = obj<autoscaling.CrossVersionObjectReference>({ kind: str(), name: str(), apiVersion: str() });
const scalingRules = obj<autoscaling.HPAScalingRules>({
  stabilizationWindowSeconds: int,
  selectPolicy: str('Max', 'Min', 'Disabled'),
  policies: arr(obj<autoscaling.HPAScalingPolicy>({ type: str('Pods', 'Percent'), value: int, periodSeconds: int })),
  tolerance: qty,
});

const horizontalPodAutoscaler = obj<autoscaling.HorizontalPodAutoscaler>(
  top(
    obj<autoscaling.HorizontalPodAutoscalerSpec>({
      scaleTargetRef: crossVersionObjectReference,
      minReplicas: int,
      maxReplicas: int,
      metrics: arr(
        obj<autoscaling.MetricSpec>({
          type: str('Object', 'Pods', 'Resource', 'ContainerResource', 'External'),
          object: obj<autoscaling.ObjectMetricSource>({ describedObject: crossVersionObjectReference, metric: metricIdentifier, target: metricTarget }),
          pods: obj<autoscaling.PodsMetricSource>({ metric: metricIdentifier, target: metricTarget }),
          resource: obj<autoscaling.ResourceMetricSource>({ name: str(), target: metricTarget }),
          containerResource: obj<autoscaling.ContainerResourceMetricSource>({ name: str(), container: str(), target: metricTarget }),
          external: obj<autoscaling.ExternalMetricSource>({ metric: metricIdentifier, target: metricTarget }),
        }),
      ),
      behavior: obj<autoscaling.HorizontalPodAutoscalerBehavior>({ scaleUp: scalingRules, scaleDown: scalingRules }),
    }),
  ),
);

/** The schema of each served kind, by `apiVersion/kind`. */
export const KIND_SCHEMAS: ReadonlyMap<string, Schema> = new Map([
  ['v1/Pod', pod],
  ['v1/Service', service],
  ['v1/ConfigMap', configMap],
  ['v1/Secret', secret],
  ['v1/Endpoints', endpoints],
  ['v1/Node', node],
  ['v1/PersistentVolumeClaim', persistentVolumeClaim],
  ['apps/v1/ReplicaSet', replicaSet],
  ['apps/v1/Deployment', deployment],
  ['batch/v1/Job', job],
  ['autoscaling/v2/HorizontalPodAutoscaler', horizontalPodAutoscaler],
]);

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function wrongType(field: string, value: unknown, expected: string): FieldError {
  return fieldErrors.invalid(field, value, `${field} in body must be of type ${expected}: ${JSON.stringify(typeName(value))}`);
}

/**
 * Checks `value` against `schema`, appending to `errors`. A null or absent value is
 * accepted everywhere (Kubernetes reads null as unset); required values are checked by
 * the semantic validation.
 */
export function checkSchema(value: unknown, schema: Schema, field: string, errors: FieldError[]): void {
  if (value === null || value === undefined) return;
  switch (schema.type) {
    case 'any':
      return;
    case 'string':
      if (typeof value !== 'string') errors.push(wrongType(field, value, 'string'));
      else if (schema.enum && !schema.enum.includes(value)) errors.push(fieldErrors.notSupported(field, value, schema.enum));
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) errors.push(wrongType(field, value, 'integer'));
      return;
    case 'number':
      if (typeof value !== 'number') errors.push(wrongType(field, value, 'number'));
      return;
    case 'boolean':
      if (typeof value !== 'boolean') errors.push(wrongType(field, value, 'boolean'));
      return;
    case 'quantity':
      if (!isQuantity(value)) errors.push(fieldErrors.invalid(field, value, QUANTITY_FORMAT_ERROR));
      return;
    case 'int-or-string':
      if (typeof value === 'number' ? !Number.isInteger(value) : typeof value !== 'string') errors.push(wrongType(field, value, 'integer or string'));
      return;
    case 'array':
      if (!Array.isArray(value)) {
        errors.push(wrongType(field, value, 'array'));
        return;
      }
      for (let i = 0; i < value.length; i++) checkSchema(value[i], schema.items, path.index(field, i), errors);
      return;
    case 'map':
      if (typeof value !== 'object' || Array.isArray(value)) {
        errors.push(wrongType(field, value, 'object'));
        return;
      }
      for (const [k, v] of Object.entries(value)) checkSchema(v, schema.values, path.key(field, k), errors);
      return;
    case 'object':
      if (typeof value !== 'object' || Array.isArray(value)) {
        errors.push(wrongType(field, value, 'object'));
        return;
      }
      for (const [k, v] of Object.entries(value)) {
        const child = Object.hasOwn(schema.fields, k) ? schema.fields[k] : undefined;
        if (child === undefined) errors.push(fieldErrors.unknown(path.child(field, k)));
        else checkSchema(v, child, path.child(field, k), errors);
      }
      return;
  }
}

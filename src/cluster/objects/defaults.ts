/**
 * Defaulting, as the API server applies it between decoding and validation. Each rule
 * cites its source in kubernetes/kubernetes:
 *   core  = pkg/apis/core/v1/defaults.go      (SetDefaults_PodSpec, _Pod, _Container, …)
 *   apps  = pkg/apis/apps/v1/defaults.go      (SetDefaults_Deployment, _ReplicaSet)
 *   batch = pkg/apis/batch/v1/defaults.go     (SetDefaults_Job)
 *   hpa   = pkg/apis/autoscaling/v2/defaults.go (SetDefaults_HorizontalPodAutoscaler)
 *   decl  = a `+default=` tag in k8s.io/api/<group>/<version>/types.go (declarative defaults)
 *
 * Not here because the API server does them elsewhere (the registry's create strategy,
 * i.e. the store): uid, creationTimestamp, resourceVersion, generation, a Pod's initial
 * `status.phase: Pending` and qosClass, a Service's clusterIP/nodePort allocation, a Job's
 * generated selector and controller-uid labels.
 *
 * `withDefaults` is pure: it returns a defaulted copy and never changes its argument.
 * It is safe on any object: a kind it does not know, or a field of the wrong type, is
 * left as it is (validation reports it).
 */
import type { KubeObject } from '../api/types.js';
import type { Deployment, ReplicaSet } from './apps.js';
import type { HorizontalPodAutoscaler, HPAScalingRules } from './autoscaling.js';
import type { Job } from './batch.js';
import type { ConfigMap, Container, Node, PersistentVolumeClaim, Pod, PodSpec, PodTemplateSpec, Probe, Secret, Service, Volume } from './core.js';
import { VOLUME_SOURCES } from './core.js';

/** T with every readonly removed, all the way down. */
export type DeepMutable<T> = T extends (infer U)[] | readonly (infer U)[]
  ? DeepMutable<U>[]
  : T extends object
    ? { -readonly [K in keyof T]: DeepMutable<T[K]> }
    : T;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const objects = <T>(v: readonly T[] | undefined): T[] => (Array.isArray(v) ? v.filter((x): x is T => isObject(x)) : []);

/** The defaulted copy of `obj`. */
export function withDefaults<T extends KubeObject>(obj: T): T {
  const o = structuredClone(obj) as DeepMutable<T> & KubeObject;
  switch (`${o.apiVersion}/${o.kind}`) {
    case 'v1/Pod':
      defaultPod(o as unknown as DeepMutable<Pod>);
      break;
    case 'v1/Service':
      defaultService(o as unknown as DeepMutable<Service>);
      break;
    case 'v1/ConfigMap':
      defaultConfigMap(o as unknown as DeepMutable<ConfigMap>);
      break;
    case 'v1/Secret':
      defaultSecret(o as unknown as DeepMutable<Secret>);
      break;
    case 'v1/Node':
      defaultNode(o as unknown as DeepMutable<Node>);
      break;
    case 'v1/PersistentVolumeClaim':
      defaultPersistentVolumeClaim(o as unknown as DeepMutable<PersistentVolumeClaim>);
      break;
    case 'apps/v1/ReplicaSet':
      defaultReplicaSet(o as unknown as DeepMutable<ReplicaSet>);
      break;
    case 'apps/v1/Deployment':
      defaultDeployment(o as unknown as DeepMutable<Deployment>);
      break;
    case 'batch/v1/Job':
      defaultJob(o as unknown as DeepMutable<Job>);
      break;
    case 'autoscaling/v2/HorizontalPodAutoscaler':
      defaultHorizontalPodAutoscaler(o as unknown as DeepMutable<HorizontalPodAutoscaler>);
      break;
  }
  return o as unknown as T;
}

// ---------------------------------------------------------------- core/v1

/** core SetDefaults_Pod: requests default to limits (Pods only, not templates); enableServiceLinks. */
function defaultPod(pod: DeepMutable<Pod>): void {
  if (!isObject(pod.spec)) return;
  for (const c of [...objects(pod.spec.containers), ...objects(pod.spec.initContainers)]) {
    const r = c.resources;
    if (!isObject(r) || !isObject(r.limits)) continue;
    const requests = isObject(r.requests) ? r.requests : (r.requests = {});
    for (const [k, v] of Object.entries(r.limits)) if (!Object.hasOwn(requests, k)) requests[k] = v;
  }
  pod.spec.enableServiceLinks ??= true; // core: v1.DefaultEnableServiceLinks
  defaultPodSpec(pod.spec);
}

/** core SetDefaults_PodSpec, and the defaults of what a pod spec holds. Applies to templates too. */
function defaultPodSpec(spec: DeepMutable<PodSpec>): void {
  spec.dnsPolicy ||= 'ClusterFirst'; // core
  spec.restartPolicy ||= 'Always'; // core
  spec.securityContext ??= {}; // core
  spec.terminationGracePeriodSeconds ??= 30; // core: v1.DefaultTerminationGracePeriodSeconds
  spec.schedulerName ||= 'default-scheduler'; // core: v1.DefaultSchedulerName
  for (const c of [...objects(spec.containers), ...objects(spec.initContainers)]) defaultContainer(c);
  for (const v of objects(spec.volumes)) defaultVolume(v);
}

/** core SetDefaults_Container (+ decl: ContainerPort.protocol "TCP"), and its probes. */
function defaultContainer(c: DeepMutable<Container>): void {
  if (!c.imagePullPolicy) c.imagePullPolicy = imageTag(c.image ?? '') === 'latest' ? 'Always' : 'IfNotPresent';
  c.terminationMessagePath ||= '/dev/termination-log'; // core: v1.TerminationMessagePathDefault
  c.terminationMessagePolicy ||= 'File'; // core: v1.TerminationMessageReadFile
  for (const p of objects(c.ports)) p.protocol ||= 'TCP'; // decl: ContainerPort.Protocol +default="TCP"
  for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) if (isObject(probe)) defaultProbe(probe);
}

/**
 * The tag `parsers.ParseImageName` finds: none and no digest means `latest` (so the pull
 * policy is Always); a digest-only reference has no tag.
 */
function imageTag(image: string): string {
  if (image.includes('@')) {
    const beforeDigest = image.slice(0, image.indexOf('@'));
    const m = /:([^/:]+)$/.exec(beforeDigest);
    return m?.[1] ?? '';
  }
  const m = /:([^/:]+)$/.exec(image);
  return m?.[1] ?? 'latest';
}

/** core SetDefaults_Probe and SetDefaults_HTTPGetAction. */
function defaultProbe(p: DeepMutable<Probe>): void {
  if (!p.timeoutSeconds) p.timeoutSeconds = 1;
  if (!p.periodSeconds) p.periodSeconds = 10;
  if (!p.successThreshold) p.successThreshold = 1;
  if (!p.failureThreshold) p.failureThreshold = 3;
  if (isObject(p.httpGet)) {
    p.httpGet.path ||= '/';
    p.httpGet.scheme ||= 'HTTP';
  }
}

/** core SetDefaults_Volume (no source → emptyDir), _ConfigMapVolumeSource, _SecretVolumeSource. */
function defaultVolume(v: DeepMutable<Volume>): void {
  if (VOLUME_SOURCES.every((s) => v[s] === undefined || v[s] === null)) v.emptyDir = {};
  if (isObject(v.configMap)) v.configMap.defaultMode ??= 0o644; // v1.ConfigMapVolumeSourceDefaultMode
  if (isObject(v.secret)) v.secret.defaultMode ??= 0o644; // v1.SecretVolumeSourceDefaultMode
  if (isObject(v.hostPath)) v.hostPath.type ??= ''; // core SetDefaults_HostPathVolumeSource: HostPathUnset
}

function defaultPodTemplate(t: DeepMutable<PodTemplateSpec> | undefined): void {
  if (isObject(t) && isObject(t.spec)) defaultPodSpec(t.spec);
}

/** core SetDefaults_Service. */
function defaultService(svc: DeepMutable<Service>): void {
  const spec = isObject(svc.spec) ? svc.spec : (svc.spec = {});
  spec.sessionAffinity ||= 'None';
  spec.type ||= 'ClusterIP';
  for (const p of objects(spec.ports)) {
    p.protocol ||= 'TCP';
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  if ((spec.type === 'NodePort' || spec.type === 'LoadBalancer') && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = 'Cluster';
  if ((spec.type === 'NodePort' || spec.type === 'LoadBalancer' || spec.type === 'ClusterIP') && spec.internalTrafficPolicy === undefined) spec.internalTrafficPolicy = 'Cluster';
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
}

/** core SetDefaults_ConfigMap: data is never nil. */
function defaultConfigMap(cm: DeepMutable<ConfigMap>): void {
  cm.data ??= {};
}

/** core SetDefaults_Secret: type Opaque. */
function defaultSecret(s: DeepMutable<Secret>): void {
  if (s.type === undefined || s.type === '') s.type = 'Opaque';
}

/** core SetDefaults_NodeStatus: allocatable defaults to capacity. */
function defaultNode(node: DeepMutable<Node>): void {
  if (isObject(node.status) && node.status.allocatable === undefined && isObject(node.status.capacity)) node.status.allocatable = { ...node.status.capacity };
}

/** core SetDefaults_PersistentVolumeClaim (status.phase Pending) and _PersistentVolumeClaimSpec (volumeMode Filesystem). */
function defaultPersistentVolumeClaim(pvc: DeepMutable<PersistentVolumeClaim>): void {
  if (isObject(pvc.spec)) pvc.spec.volumeMode ??= 'Filesystem';
  const status = isObject(pvc.status) ? pvc.status : (pvc.status = {});
  status.phase ||= 'Pending';
}

// ---------------------------------------------------------------- apps/v1

/** apps SetDefaults_ReplicaSet: replicas 1. */
function defaultReplicaSet(rs: DeepMutable<ReplicaSet>): void {
  if (!isObject(rs.spec)) return;
  rs.spec.replicas ??= 1;
  defaultPodTemplate(rs.spec.template);
}

/** apps SetDefaults_Deployment: replicas 1, RollingUpdate 25%/25%, revisionHistoryLimit 10, progressDeadlineSeconds 600. */
function defaultDeployment(d: DeepMutable<Deployment>): void {
  if (!isObject(d.spec)) return;
  const spec = d.spec;
  spec.replicas ??= 1;
  const strategy = isObject(spec.strategy) ? spec.strategy : (spec.strategy = {});
  strategy.type ||= 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const ru = isObject(strategy.rollingUpdate) ? strategy.rollingUpdate : (strategy.rollingUpdate = {});
    ru.maxUnavailable ??= '25%';
    ru.maxSurge ??= '25%';
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  defaultPodTemplate(spec.template);
}

// ---------------------------------------------------------------- batch/v1

/** batch SetDefaults_Job: completions and parallelism 1, backoffLimit 6, labels from the template, NonIndexed, not suspended. */
function defaultJob(job: DeepMutable<Job>): void {
  if (!isObject(job.spec)) return;
  const spec = job.spec;
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  spec.backoffLimit ??= 6;
  const labels = isObject(spec.template) && isObject(spec.template.metadata) ? spec.template.metadata.labels : undefined;
  if (isObject(labels) && Object.keys(job.metadata.labels ?? {}).length === 0) job.metadata.labels = { ...labels };
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  defaultPodTemplate(spec.template);
}

// ---------------------------------------------------------------- autoscaling/v2

/** hpa SetDefaults_HorizontalPodAutoscaler: minReplicas 1; cpu at 80% when no metric; behavior filled when given. */
function defaultHorizontalPodAutoscaler(hpa: DeepMutable<HorizontalPodAutoscaler>): void {
  if (!isObject(hpa.spec)) return;
  const spec = hpa.spec;
  spec.minReplicas ??= 1;
  if (!Array.isArray(spec.metrics) || spec.metrics.length === 0)
    spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }]; // autoscaling.DefaultCPUUtilization
  if (isObject(spec.behavior)) {
    spec.behavior.scaleUp = scalingRules(spec.behavior.scaleUp, {
      stabilizationWindowSeconds: 0,
      selectPolicy: 'Max',
      policies: [
        { type: 'Pods', value: 4, periodSeconds: 15 },
        { type: 'Percent', value: 100, periodSeconds: 15 },
      ],
    });
    // Scale-down keeps stabilizationWindowSeconds unset: the controller's flag (300 s) applies.
    spec.behavior.scaleDown = scalingRules(spec.behavior.scaleDown, { selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] });
  }
}

/** hpa copyHPAScalingRules: the given fields over the defaults. */
function scalingRules(given: DeepMutable<HPAScalingRules> | undefined, defaults: DeepMutable<HPAScalingRules>): DeepMutable<HPAScalingRules> {
  if (!isObject(given)) return defaults;
  const out = { ...defaults };
  if (given.selectPolicy !== undefined) out.selectPolicy = given.selectPolicy;
  if (given.stabilizationWindowSeconds !== undefined) out.stabilizationWindowSeconds = given.stabilizationWindowSeconds;
  if (given.policies !== undefined) out.policies = given.policies;
  if (given.tolerance !== undefined) out.tolerance = given.tolerance;
  return out;
}

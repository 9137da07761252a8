/**
 * core/v1 kinds — Pod, Service, ConfigMap, Secret, Node, PersistentVolumeClaim — with
 * Kubernetes' field names (k8s.io/api/core/v1/types.go). Every field Kubernetes defines
 * on these kinds is here, so that a manifest written for Kubernetes parses and validates;
 * fields skiff does not act on are typed `OpaqueObject` (kept as given, not interpreted)
 * and say so. `schema.ts` holds the same field lists for validation, checked against
 * these interfaces by the compiler.
 */
import type { KubeObject, ObjectMeta } from '../api/types.js';
import type { IntOrString, Quantity, ResourceList } from './quantity.js';

/** A sub-object Kubernetes defines and skiff accepts, keeps and does not interpret. */
export type OpaqueObject = Readonly<Record<string, unknown>>;

// ---------------------------------------------------------------- selectors

export type LabelSelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: LabelSelectorOperator;
  readonly values?: readonly string[];
}

/** metav1.LabelSelector: the requirements are ANDed; an empty selector matches everything. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

export type NodeSelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';

export interface NodeSelectorRequirement {
  readonly key: string;
  readonly operator: NodeSelectorOperator;
  readonly values?: readonly string[];
}

/** Requirements ANDed; `matchFields` supports only `metadata.name`. */
export interface NodeSelectorTerm {
  readonly matchExpressions?: readonly NodeSelectorRequirement[];
  readonly matchFields?: readonly NodeSelectorRequirement[];
}

/** Terms ORed. */
export interface NodeSelector {
  readonly nodeSelectorTerms: readonly NodeSelectorTerm[];
}

export interface PreferredSchedulingTerm {
  readonly weight: number;
  readonly preference: NodeSelectorTerm;
}

export interface NodeAffinity {
  readonly requiredDuringSchedulingIgnoredDuringExecution?: NodeSelector;
  readonly preferredDuringSchedulingIgnoredDuringExecution?: readonly PreferredSchedulingTerm[];
}

export interface Affinity {
  readonly nodeAffinity?: NodeAffinity;
  /** Accepted, not used by skiff's scheduler. */
  readonly podAffinity?: OpaqueObject;
  /** Accepted, not used by skiff's scheduler. */
  readonly podAntiAffinity?: OpaqueObject;
}

// ---------------------------------------------------------------- taints

export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: TaintEffect;
  readonly timeAdded?: string;
}

export interface Toleration {
  /** Empty with operator Exists: tolerates every taint. */
  readonly key?: string;
  /** Default Equal. */
  readonly operator?: 'Exists' | 'Equal';
  readonly value?: string;
  /** Empty: every effect. */
  readonly effect?: TaintEffect;
  readonly tolerationSeconds?: number;
}

// ---------------------------------------------------------------- containers

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface ContainerPort {
  readonly name?: string;
  readonly hostPort?: number;
  readonly containerPort: number;
  /** Default TCP. */
  readonly protocol?: Protocol;
  readonly hostIP?: string;
}

export interface ObjectFieldSelector {
  readonly apiVersion?: string;
  readonly fieldPath: string;
}

export interface ResourceFieldSelector {
  readonly containerName?: string;
  readonly resource: string;
  readonly divisor?: Quantity;
}

export interface KeySelector {
  readonly name?: string;
  readonly key: string;
  readonly optional?: boolean;
}

export interface EnvVarSource {
  readonly fieldRef?: ObjectFieldSelector;
  readonly resourceFieldRef?: ResourceFieldSelector;
  readonly configMapKeyRef?: KeySelector;
  readonly secretKeyRef?: KeySelector;
}

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: EnvVarSource;
}

export interface NameReference {
  readonly name?: string;
  readonly optional?: boolean;
}

export interface EnvFromSource {
  readonly prefix?: string;
  readonly configMapRef?: NameReference;
  readonly secretRef?: NameReference;
}

export interface ResourceRequirements {
  readonly limits?: ResourceList;
  readonly requests?: ResourceList;
  /** Dynamic resource claims: accepted, not used. */
  readonly claims?: readonly OpaqueObject[];
}

export interface VolumeMount {
  readonly name: string;
  readonly readOnly?: boolean;
  readonly recursiveReadOnly?: string;
  readonly mountPath: string;
  readonly subPath?: string;
  readonly mountPropagation?: string;
  readonly subPathExpr?: string;
}

export interface ExecAction {
  readonly command?: readonly string[];
}

export interface HTTPHeader {
  readonly name: string;
  readonly value: string;
}

export interface HTTPGetAction {
  /** Default `/`. */
  readonly path?: string;
  readonly port: IntOrString;
  readonly host?: string;
  /** Default HTTP. */
  readonly scheme?: 'HTTP' | 'HTTPS';
  readonly httpHeaders?: readonly HTTPHeader[];
}

export interface TCPSocketAction {
  readonly port: IntOrString;
  readonly host?: string;
}

export interface GRPCAction {
  readonly port: number;
  readonly service?: string;
}

/** A probe: exactly one handler (exec, httpGet, tcpSocket, grpc) and its timing. */
export interface Probe {
  readonly exec?: ExecAction;
  readonly httpGet?: HTTPGetAction;
  readonly tcpSocket?: TCPSocketAction;
  readonly grpc?: GRPCAction;
  readonly initialDelaySeconds?: number;
  /** Default 1. */
  readonly timeoutSeconds?: number;
  /** Default 10. */
  readonly periodSeconds?: number;
  /** Default 1; must be 1 for liveness and startup probes. */
  readonly successThreshold?: number;
  /** Default 3. */
  readonly failureThreshold?: number;
  readonly terminationGracePeriodSeconds?: number;
}

export type PullPolicy = 'Always' | 'Never' | 'IfNotPresent';

export interface Container {
  readonly name: string;
  readonly image?: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly workingDir?: string;
  readonly ports?: readonly ContainerPort[];
  readonly envFrom?: readonly EnvFromSource[];
  readonly env?: readonly EnvVar[];
  readonly resources?: ResourceRequirements;
  /** In-place resize policy: accepted, not used. */
  readonly resizePolicy?: readonly OpaqueObject[];
  /** Only on init containers: `Always` makes it a sidecar. */
  readonly restartPolicy?: 'Always';
  readonly volumeMounts?: readonly VolumeMount[];
  /** Raw block devices: accepted, not used. */
  readonly volumeDevices?: readonly OpaqueObject[];
  readonly livenessProbe?: Probe;
  readonly readinessProbe?: Probe;
  readonly startupProbe?: Probe;
  /** postStart / preStop hooks: accepted, not used. */
  readonly lifecycle?: OpaqueObject;
  /** Default `/dev/termination-log`. */
  readonly terminationMessagePath?: string;
  /** Default File. */
  readonly terminationMessagePolicy?: 'File' | 'FallbackToLogsOnError';
  /** Default Always for `:latest` or no tag, else IfNotPresent. */
  readonly imagePullPolicy?: PullPolicy;
  /** Accepted, not used (a Wasm guest has no Linux credentials). */
  readonly securityContext?: OpaqueObject;
  readonly stdin?: boolean;
  readonly stdinOnce?: boolean;
  readonly tty?: boolean;
}

// ---------------------------------------------------------------- volumes

export interface KeyToPath {
  readonly key: string;
  readonly path: string;
  readonly mode?: number;
}

export interface EmptyDirVolumeSource {
  readonly medium?: '' | 'Memory';
  readonly sizeLimit?: Quantity;
}

export interface ConfigMapVolumeSource {
  readonly name?: string;
  readonly items?: readonly KeyToPath[];
  /** Default 0644 (420). */
  readonly defaultMode?: number;
  readonly optional?: boolean;
}

export interface SecretVolumeSource {
  readonly secretName?: string;
  readonly items?: readonly KeyToPath[];
  /** Default 0644 (420). */
  readonly defaultMode?: number;
  readonly optional?: boolean;
}

export interface PersistentVolumeClaimVolumeSource {
  readonly claimName: string;
  readonly readOnly?: boolean;
}

export interface HostPathVolumeSource {
  readonly path: string;
  /** Default '' (no check). */
  readonly type?: string;
}

/**
 * A pod volume: a name and exactly one source. skiff's kubelet mounts emptyDir,
 * configMap, secret and persistentVolumeClaim; the other sources Kubernetes defines
 * validate here and are refused when the pod runs.
 */
export interface Volume {
  readonly name: string;
  readonly emptyDir?: EmptyDirVolumeSource;
  readonly configMap?: ConfigMapVolumeSource;
  readonly secret?: SecretVolumeSource;
  readonly persistentVolumeClaim?: PersistentVolumeClaimVolumeSource;
  readonly hostPath?: HostPathVolumeSource;
  readonly downwardAPI?: OpaqueObject;
  readonly projected?: OpaqueObject;
  readonly ephemeral?: OpaqueObject;
  readonly image?: OpaqueObject;
  readonly csi?: OpaqueObject;
  readonly nfs?: OpaqueObject;
  readonly iscsi?: OpaqueObject;
  readonly gitRepo?: OpaqueObject;
  readonly gcePersistentDisk?: OpaqueObject;
  readonly awsElasticBlockStore?: OpaqueObject;
  readonly azureDisk?: OpaqueObject;
  readonly azureFile?: OpaqueObject;
  readonly cephfs?: OpaqueObject;
  readonly cinder?: OpaqueObject;
  readonly fc?: OpaqueObject;
  readonly flexVolume?: OpaqueObject;
  readonly flocker?: OpaqueObject;
  readonly glusterfs?: OpaqueObject;
  readonly photonPersistentDisk?: OpaqueObject;
  readonly portworxVolume?: OpaqueObject;
  readonly quobyte?: OpaqueObject;
  readonly rbd?: OpaqueObject;
  readonly scaleIO?: OpaqueObject;
  readonly storageos?: OpaqueObject;
  readonly vsphereVolume?: OpaqueObject;
}

/** The names of Volume's sources (every key but `name`). */
export const VOLUME_SOURCES = [
  'emptyDir', 'configMap', 'secret', 'persistentVolumeClaim', 'hostPath', 'downwardAPI', 'projected', 'ephemeral',
  'image', 'csi', 'nfs', 'iscsi', 'gitRepo', 'gcePersistentDisk', 'awsElasticBlockStore', 'azureDisk', 'azureFile',
  'cephfs', 'cinder', 'fc', 'flexVolume', 'flocker', 'glusterfs', 'photonPersistentDisk', 'portworxVolume', 'quobyte',
  'rbd', 'scaleIO', 'storageos', 'vsphereVolume',
] as const satisfies readonly Exclude<keyof Volume, 'name'>[];

// ---------------------------------------------------------------- pods

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';
export type DNSPolicy = 'ClusterFirstWithHostNet' | 'ClusterFirst' | 'Default' | 'None';

export interface LocalObjectReference {
  readonly name?: string;
}

export interface PodSpec {
  readonly volumes?: readonly Volume[];
  readonly initContainers?: readonly Container[];
  readonly containers: readonly Container[];
  readonly ephemeralContainers?: readonly OpaqueObject[];
  /** Default Always. */
  readonly restartPolicy?: RestartPolicy;
  /** Default 30. */
  readonly terminationGracePeriodSeconds?: number;
  readonly activeDeadlineSeconds?: number;
  /** Default ClusterFirst. */
  readonly dnsPolicy?: DNSPolicy;
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly serviceAccountName?: string;
  /** Deprecated alias of serviceAccountName. */
  readonly serviceAccount?: string;
  readonly automountServiceAccountToken?: boolean;
  /** Set by the scheduler's binding (or by hand, which bypasses the scheduler). */
  readonly nodeName?: string;
  readonly hostNetwork?: boolean;
  readonly hostPID?: boolean;
  readonly hostIPC?: boolean;
  readonly shareProcessNamespace?: boolean;
  readonly securityContext?: OpaqueObject;
  readonly imagePullSecrets?: readonly LocalObjectReference[];
  readonly hostname?: string;
  readonly subdomain?: string;
  readonly affinity?: Affinity;
  /** Default `default-scheduler`. */
  readonly schedulerName?: string;
  readonly tolerations?: readonly Toleration[];
  readonly hostAliases?: readonly OpaqueObject[];
  readonly priorityClassName?: string;
  readonly priority?: number;
  readonly dnsConfig?: OpaqueObject;
  readonly readinessGates?: readonly OpaqueObject[];
  readonly runtimeClassName?: string;
  /** Default true (on Pods, not templates). */
  readonly enableServiceLinks?: boolean;
  readonly preemptionPolicy?: 'PreemptLowerPriority' | 'Never';
  /** Resources the sandbox itself costs, added to the containers' requests when scheduling. */
  readonly overhead?: ResourceList;
  readonly topologySpreadConstraints?: readonly OpaqueObject[];
  readonly setHostnameAsFQDN?: boolean;
  readonly os?: OpaqueObject;
  readonly hostUsers?: boolean;
  readonly schedulingGates?: readonly { readonly name: string }[];
  readonly resourceClaims?: readonly OpaqueObject[];
  /** Pod-level requests/limits: accepted, not used. */
  readonly resources?: ResourceRequirements;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface PodCondition {
  /** PodScheduled, Initialized, ContainersReady, Ready, PodReadyToStartContainers, … */
  readonly type: string;
  readonly status: ConditionStatus;
  readonly observedGeneration?: number;
  readonly lastProbeTime?: string | null;
  readonly lastTransitionTime?: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface ContainerStateWaiting {
  readonly reason?: string;
  readonly message?: string;
}

export interface ContainerStateRunning {
  readonly startedAt?: string;
}

export interface ContainerStateTerminated {
  readonly exitCode: number;
  readonly signal?: number;
  readonly reason?: string;
  readonly message?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly containerID?: string;
}

/** At most one member is set; none means waiting. */
export interface ContainerState {
  readonly waiting?: ContainerStateWaiting;
  readonly running?: ContainerStateRunning;
  readonly terminated?: ContainerStateTerminated;
}

export interface ContainerStatus {
  readonly name: string;
  readonly state?: ContainerState;
  readonly lastState?: ContainerState;
  readonly ready: boolean;
  readonly restartCount: number;
  readonly image: string;
  readonly imageID: string;
  readonly containerID?: string;
  readonly started?: boolean;
  readonly allocatedResources?: ResourceList;
  readonly resources?: ResourceRequirements;
  readonly volumeMounts?: readonly OpaqueObject[];
  readonly user?: OpaqueObject;
  readonly allocatedResourcesStatus?: readonly OpaqueObject[];
  readonly stopSignal?: string;
}

export interface PodIP {
  readonly ip: string;
}

export interface PodStatus {
  readonly observedGeneration?: number;
  readonly phase?: PodPhase;
  readonly conditions?: readonly PodCondition[];
  readonly message?: string;
  readonly reason?: string;
  readonly nominatedNodeName?: string;
  readonly hostIP?: string;
  readonly hostIPs?: readonly PodIP[];
  readonly podIP?: string;
  readonly podIPs?: readonly PodIP[];
  readonly startTime?: string;
  readonly initContainerStatuses?: readonly ContainerStatus[];
  readonly containerStatuses?: readonly ContainerStatus[];
  readonly ephemeralContainerStatuses?: readonly ContainerStatus[];
  readonly qosClass?: 'Guaranteed' | 'Burstable' | 'BestEffort';
  readonly resize?: string;
  readonly resourceClaimStatuses?: readonly OpaqueObject[];
}

export interface Pod extends KubeObject<PodSpec, PodStatus> {
  readonly apiVersion: 'v1';
  readonly kind: 'Pod';
  readonly spec: PodSpec;
}

/** A pod template in a ReplicaSet, Deployment or Job. */
export interface PodTemplateSpec {
  readonly metadata?: ObjectMeta;
  readonly spec: PodSpec;
}

/** What a binding points at (core/v1 ObjectReference, the fields skiff uses). */
export interface ObjectReference {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly uid?: string;
}

/** The scheduler's decision, posted to a pod's `binding` subresource: set `spec.nodeName` to `target.name`. */
export interface Binding extends KubeObject<never, never> {
  readonly apiVersion: 'v1';
  readonly kind: 'Binding';
  readonly target: ObjectReference;
}

// ---------------------------------------------------------------- services

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';

export interface ServicePort {
  /** Required when the service has more than one port. */
  readonly name?: string;
  /** Default TCP. */
  readonly protocol?: Protocol;
  readonly appProtocol?: string;
  readonly port: number;
  /** Default: `port`. A number or the name of a container port. */
  readonly targetPort?: IntOrString;
  /** NodePort services: allocated from 30000–32767 when not given. */
  readonly nodePort?: number;
}

export interface ServiceSpec {
  readonly ports?: readonly ServicePort[];
  readonly selector?: Readonly<Record<string, string>>;
  /** Allocated by the API; `None` makes a headless service. */
  readonly clusterIP?: string;
  readonly clusterIPs?: readonly string[];
  /** Default ClusterIP. */
  readonly type?: ServiceType;
  readonly externalIPs?: readonly string[];
  /** Default None. */
  readonly sessionAffinity?: 'None' | 'ClientIP';
  readonly loadBalancerIP?: string;
  readonly loadBalancerSourceRanges?: readonly string[];
  readonly externalName?: string;
  readonly externalTrafficPolicy?: 'Cluster' | 'Local';
  readonly healthCheckNodePort?: number;
  readonly publishNotReadyAddresses?: boolean;
  readonly sessionAffinityConfig?: OpaqueObject;
  readonly ipFamilies?: readonly string[];
  readonly ipFamilyPolicy?: string;
  readonly allocateLoadBalancerNodePorts?: boolean;
  readonly loadBalancerClass?: string;
  /** Default Cluster. */
  readonly internalTrafficPolicy?: 'Cluster' | 'Local';
  readonly trafficDistribution?: string;
}

export interface ServiceStatus {
  readonly loadBalancer?: OpaqueObject;
  readonly conditions?: readonly OpaqueObject[];
}

export interface Service extends KubeObject<ServiceSpec, ServiceStatus> {
  readonly apiVersion: 'v1';
  readonly kind: 'Service';
  readonly spec?: ServiceSpec;
}

// ---------------------------------------------------------------- endpoints

/** One backend of a Service: a pod's address (core/v1 EndpointAddress). */
export interface EndpointAddress {
  readonly ip: string;
  readonly hostname?: string;
  readonly nodeName?: string;
  /** The pod behind the address (kind Pod, namespace, name, uid). */
  readonly targetRef?: ObjectReference;
}

/** A port of a subset's addresses, named after the Service port it serves (core/v1 EndpointPort). */
export interface EndpointPort {
  /** The Service port's name (absent when the Service has a single unnamed port). */
  readonly name?: string;
  readonly port: number;
  /** Default TCP. */
  readonly protocol?: Protocol;
  readonly appProtocol?: string;
}

/** Addresses that share the same ports (core/v1 EndpointSubset). */
export interface EndpointSubset {
  /** Ready addresses: traffic goes to these. */
  readonly addresses?: readonly EndpointAddress[];
  /** Addresses of pods not (yet) ready: listed, never sent traffic. */
  readonly notReadyAddresses?: readonly EndpointAddress[];
  readonly ports?: readonly EndpointPort[];
}

/**
 * The backends of a Service (core/v1 Endpoints), same namespace and name as the
 * Service; written by the endpoints controller for Services with a selector.
 */
export interface Endpoints extends KubeObject<never, never> {
  readonly apiVersion: 'v1';
  readonly kind: 'Endpoints';
  readonly subsets?: readonly EndpointSubset[];
}

// ---------------------------------------------------------------- config maps

export interface ConfigMap extends KubeObject<never, never> {
  readonly apiVersion: 'v1';
  readonly kind: 'ConfigMap';
  readonly data?: Readonly<Record<string, string>>;
  /** Base64-encoded values. */
  readonly binaryData?: Readonly<Record<string, string>>;
  readonly immutable?: boolean;
}

// ---------------------------------------------------------------- secrets

/**
 * A Secret as stored: `data` holds base64 values. `stringData` is write-only, as in
 * Kubernetes: admission merges it into `data` (its keys win) and drops it.
 */
export interface Secret extends KubeObject<never, never> {
  readonly apiVersion: 'v1';
  readonly kind: 'Secret';
  /** Base64-encoded values. */
  readonly data?: Readonly<Record<string, string>>;
  readonly stringData?: Readonly<Record<string, string>>;
  /** Default `Opaque`. */
  readonly type?: string;
  readonly immutable?: boolean;
}

// ---------------------------------------------------------------- nodes

export interface NodeSpec {
  readonly podCIDR?: string;
  readonly podCIDRs?: readonly string[];
  readonly providerID?: string;
  /** Cordoned: no new pods (the NodeUnschedulable filter). */
  readonly unschedulable?: boolean;
  readonly taints?: readonly Taint[];
  readonly configSource?: OpaqueObject;
  readonly externalID?: string;
}

export interface NodeCondition {
  /** Ready, MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable. */
  readonly type: string;
  readonly status: ConditionStatus;
  readonly lastHeartbeatTime?: string;
  readonly lastTransitionTime?: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface NodeAddress {
  readonly type: string;
  readonly address: string;
}

export interface NodeStatus {
  /** `cpu`, `memory`, `pods`, … */
  readonly capacity?: ResourceList;
  /** What pods may request; defaults to `capacity`. */
  readonly allocatable?: ResourceList;
  readonly phase?: string;
  readonly conditions?: readonly NodeCondition[];
  readonly addresses?: readonly NodeAddress[];
  readonly daemonEndpoints?: OpaqueObject;
  readonly nodeInfo?: OpaqueObject;
  readonly images?: readonly OpaqueObject[];
  readonly volumesInUse?: readonly string[];
  readonly volumesAttached?: readonly OpaqueObject[];
  readonly config?: OpaqueObject;
  readonly runtimeHandlers?: readonly OpaqueObject[];
  readonly features?: OpaqueObject;
}

export interface Node extends KubeObject<NodeSpec, NodeStatus> {
  readonly apiVersion: 'v1';
  readonly kind: 'Node';
}

// ---------------------------------------------------------------- persistent volume claims

export type PersistentVolumeAccessMode = 'ReadWriteOnce' | 'ReadOnlyMany' | 'ReadWriteMany' | 'ReadWriteOncePod';

export interface PersistentVolumeClaimSpec {
  readonly accessModes?: readonly PersistentVolumeAccessMode[];
  readonly selector?: LabelSelector;
  readonly resources?: ResourceRequirements;
  readonly volumeName?: string;
  readonly storageClassName?: string;
  /** Default Filesystem. */
  readonly volumeMode?: 'Filesystem' | 'Block';
  readonly dataSource?: OpaqueObject;
  readonly dataSourceRef?: OpaqueObject;
  readonly volumeAttributesClassName?: string;
}

export interface PersistentVolumeClaimStatus {
  /** Default Pending. */
  readonly phase?: 'Pending' | 'Bound' | 'Lost';
  readonly accessModes?: readonly PersistentVolumeAccessMode[];
  readonly capacity?: ResourceList;
  readonly conditions?: readonly OpaqueObject[];
  readonly allocatedResources?: ResourceList;
  readonly allocatedResourceStatuses?: Readonly<Record<string, string>>;
  readonly currentVolumeAttributesClassName?: string;
  readonly modifyVolumeStatus?: OpaqueObject;
}

export interface PersistentVolumeClaim extends KubeObject<PersistentVolumeClaimSpec, PersistentVolumeClaimStatus> {
  readonly apiVersion: 'v1';
  readonly kind: 'PersistentVolumeClaim';
  readonly spec: PersistentVolumeClaimSpec;
}

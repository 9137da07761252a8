/**
 * Every message between the master (node-host.ts, `NodeHost`) and a kubelet thread
 * (kubelet.ts, `Kubelet`), declared here and encoded here (STYLE §9). Nothing else crosses.
 *
 * Wire form (as src/sandbox/protocol.ts): each post carries `[bytes, handles]`:
 * - `bytes`: the message, msgpackr-encoded plain data; its field `v` is the protocol
 *   version, and a receiver refuses any other.
 * - `handles`: what msgpackr should not carry, referenced from the message by index: a
 *   `VolumeConnection` (SharedArrayBuffer + maybe a MessagePort, for a claim's volume) or
 *   a large byte array (an image archive) that is transferred rather than copied.
 *
 * One conversation:
 *   kubelet → `ready`                              (once, after spawn)
 *   master  → `init` { nodeName, podCIDR, now }    (once)
 *   kubelet → `wake` { at }  ↔ master → `time` { now } when its clock reaches `at`
 *                                                  (and at each tick, and before `pods`): the
 *                                                  kubelet's clock follows the master's, so a
 *                                                  FakeClock drives back-off and probes
 *   master  → `pods` { pods, configMaps, secrets } (the full desired set bound to this node,
 *                                                  after every change; level-triggered)
 *   kubelet → `pull` { id, image }  ↔ master → `image` { id, archive | error }
 *                                                  (an OCI layout tar, loaded into the
 *                                                  kubelet's own ImageStore)
 *   kubelet → `claim` { id, namespace, claimName } ↔ master → `volume` { id, connection | error }
 *                                                  (a PersistentVolumeClaim's files live on
 *                                                  the master; served over the sync channel)
 *   kubelet → `podStatus` { namespace, name, uid, status }   (after every change)
 *   kubelet → `podStopped` { namespace, name, uid }          (a pod marked for deletion has
 *                                                  no container left: the master confirms)
 *   kubelet → `heartbeat` { now }, `metrics` { pods }, `event` { … }
 *   master  → `dial` { stream, namespace, name, port } ↔ kubelet → `dialed` { stream, error? }
 *   kubelet → `connect` { stream, namespace, address, port } ↔ master → `connected` { stream, error? }
 *                                                  (a container's outbound connect to an address
 *                                                  not on this node: a pod IP elsewhere or a
 *                                                  Service's cluster IP; the stream's id is
 *                                                  negative, the master's own are positive)
 *   either  → `data` { stream, chunk } / `credit` { stream, bytes } / `end` { stream } /
 *             `reset` { stream }                   (a byte stream to a pod's port: see streams.ts)
 *   kubelet → `resolve` { id, namespace, name } ↔ master → `resolved` { id, addresses }
 *                                                  (a container's name lookup: a Service's
 *                                                  cluster IP, or a headless one's pod IPs)
 *   master  → `logs` { id, namespace, name, container? } ↔ kubelet → `logsResult` { id, text | error }
 *   master  → `stop`  ↔ kubelet → `stopped`        (graceful: every container killed)
 */
import { Handles, handleOf, postMessage, receiveMessage, type Handle, type Poster, type Received } from '../../sandbox/wire.js';
import type { Pod, PodStatus } from '../objects/index.js';

export const KUBELET_PROTOCOL_VERSION = 1;
type V = typeof KUBELET_PROTOCOL_VERSION;

/** Index into the handles array of the same post. */
export { Handles, type Handle };

// ---------------------------------------------------------------- master → kubelet

export interface InitMessage {
  readonly v: V;
  readonly type: 'init';
  readonly nodeName: string;
  /** Pod addresses are `<podCIDR prefix>.<n>` (the first three octets of e.g. 10.244.1.0/24). */
  readonly podCIDR: string;
  /** The node's own (virtual) address. */
  readonly hostIP: string;
  readonly now: number;
  /** How often (cluster ms) the kubelet sends `heartbeat` and `metrics`. */
  readonly heartbeatMs: number;
  /** The master's clock is real time: the kubelet's reading moves on between `time` messages (followed-clock.ts). */
  readonly realTime?: boolean;
  /** Container threads to keep booted and idle (the kubelet's own default when absent). */
  readonly warmThreads?: number;
}

export interface TimeMessage {
  readonly v: V;
  readonly type: 'time';
  readonly now: number;
}

/** ConfigMap or Secret data a pod's volumes and env refer to, by `namespace/name`. Secret values are decoded bytes. */
export type ConfigData = Readonly<Record<string, Readonly<Record<string, Uint8Array>>>>;

/** A Service with a cluster IP, as a pod's service links (enableServiceLinks) name it. */
export interface ServiceLink {
  readonly name: string;
  readonly clusterIP: string;
  readonly ports: readonly { readonly name?: string; readonly port: number; readonly protocol: string }[];
}

export interface PodsMessage {
  readonly v: V;
  readonly type: 'pods';
  /** Every pod bound to this node, as stored (including ones marked for deletion). */
  readonly pods: readonly Pod[];
  readonly configMaps: ConfigData;
  readonly secrets: ConfigData;
  /** The Services with a cluster IP of each namespace that has a pod with service links, by namespace. */
  readonly services: Readonly<Record<string, readonly ServiceLink[]>>;
}

export interface ImageMessage {
  readonly v: V;
  readonly type: 'image';
  readonly id: number;
  /** Handle of a Uint8Array: the image as an OCI image layout tar (`ImageStore.save`). */
  readonly archive?: Handle;
  readonly error?: string;
}

export interface VolumeMessage {
  readonly v: V;
  readonly type: 'volume';
  readonly id: number;
  /** Handle of a `VolumeConnection` (remote-fs.ts) serving the claim's files at its root. */
  readonly connection?: Handle;
  readonly error?: string;
}

export interface DialMessage {
  readonly v: V;
  readonly type: 'dial';
  readonly stream: number;
  readonly namespace: string;
  readonly name: string;
  readonly port: number;
}

export interface StopMessage {
  readonly v: V;
  readonly type: 'stop';
}

/** The master's answer to `resolve`: IPv4 addresses (none: the name resolves to nothing). */
export interface ResolvedMessage {
  readonly v: V;
  readonly type: 'resolved';
  readonly id: number;
  readonly addresses: readonly string[];
}

/** The master's answer to `connect`: the stream is open, or why not (nothing at the address, refused). */
export interface ConnectedMessage {
  readonly v: V;
  readonly type: 'connected';
  readonly stream: number;
  readonly error?: string;
}

/** `kubectl logs`: the current run's output of one container of a pod (answered by `logsResult` with the same id). */
export interface LogsMessage {
  readonly v: V;
  readonly type: 'logs';
  readonly id: number;
  readonly namespace: string;
  readonly name: string;
  /** Default: the pod's only container (an error names them when there are several). */
  readonly container?: string;
}

/** Pull `image` from the master now (as `crictl pull` on a node): answered with `warmed`, its `error` if the pull failed. */
export interface PrepullMessage {
  readonly v: V;
  readonly type: 'prepull';
  readonly id: number;
  readonly image: string;
}

/** Answer `warmed` once the kubelet's warm container threads are all booted (`InitMessage.warmThreads`). */
export interface WarmMessage {
  readonly v: V;
  readonly type: 'warm';
  readonly id: number;
}

// ---------------------------------------------------------------- kubelet → master

export interface ReadyMessage {
  readonly v: V;
  readonly type: 'ready';
}

export interface HeartbeatMessage {
  readonly v: V;
  readonly type: 'heartbeat';
  readonly now: number;
}

export interface PodStatusMessage {
  readonly v: V;
  readonly type: 'podStatus';
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly status: PodStatus;
}

export interface PodStoppedMessage {
  readonly v: V;
  readonly type: 'podStopped';
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

export interface EventMessage {
  readonly v: V;
  readonly type: 'event';
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** Normal or Warning. */
  readonly eventType: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
  readonly now: number;
}

export interface PullMessage {
  readonly v: V;
  readonly type: 'pull';
  readonly id: number;
  readonly image: string;
}

export interface ClaimMessage {
  readonly v: V;
  readonly type: 'claim';
  readonly id: number;
  readonly namespace: string;
  readonly claimName: string;
}

/** The kubelet no longer uses the claim connection it got for request `id`; the master may stop serving it. */
export interface UnclaimMessage {
  readonly v: V;
  readonly type: 'unclaim';
  readonly id: number;
}

export interface LogsResultMessage {
  readonly v: V;
  readonly type: 'logsResult';
  readonly id: number;
  /** stdout and stderr interleaved in the order written, as `kubectl logs` shows them. */
  readonly text?: string;
  /** Why there are none (no such pod or container on this node, not started yet). */
  readonly error?: string;
}

/** The answer to `warm` and to `prepull`. */
export interface WarmedMessage {
  readonly v: V;
  readonly type: 'warmed';
  readonly id: number;
  /** The kubelet's container threads once booted: idle (warm) and busy (running containers). */
  readonly threads?: { readonly idle: number; readonly busy: number };
  /** Why the threads cannot be booted (the container thread module fails to load), or the image not pulled. */
  readonly error?: string;
}

/** A container of a pod in `namespace` looks up `name` (a Service name, in Kubernetes' DNS forms). */
export interface ResolveMessage {
  readonly v: V;
  readonly type: 'resolve';
  readonly id: number;
  readonly namespace: string;
  readonly name: string;
}

/** A container on this node connects to `address:port` (not on this node); `namespace` is its pod's, for Service names. */
export interface ConnectMessage {
  readonly v: V;
  readonly type: 'connect';
  /** Negative: allocated by the kubelet. */
  readonly stream: number;
  readonly namespace: string;
  readonly address: string;
  readonly port: number;
}

export interface DialedMessage {
  readonly v: V;
  readonly type: 'dialed';
  readonly stream: number;
  /** Why the dial failed (no such pod, no container listens on the port). */
  readonly error?: string;
}

export interface PodMetrics {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /**
   * CPU in millicores since the previous report, estimated as busy (not blocked in a WASI
   * wait) time over wall time (see kubelet.ts, "Metrics"); undefined where unmeasured.
   */
  readonly cpuMillis?: number;
  /** Guest linear memory of the pod's containers at their last exit (what the runtime reports). */
  readonly memoryBytes?: number;
  readonly containers: number;
}

export interface MetricsMessage {
  readonly v: V;
  readonly type: 'metrics';
  readonly now: number;
  readonly pods: readonly PodMetrics[];
}

/** The kubelet's next timer is due at cluster time `at` (undefined: none): the master sends `time` then. */
export interface WakeMessage {
  readonly v: V;
  readonly type: 'wake';
  readonly at: number | undefined;
}

export interface StoppedMessage {
  readonly v: V;
  readonly type: 'stopped';
}

// ---------------------------------------------------------------- streams (both ways)

/** Bytes on stream `stream`; the receiver owes a `credit` of its length once it has passed them on. */
export interface DataMessage {
  readonly v: V;
  readonly type: 'data';
  readonly stream: number;
  readonly chunk: Uint8Array;
}

/** The receiver passed `bytes` on: the sender may send that many more. */
export interface CreditMessage {
  readonly v: V;
  readonly type: 'credit';
  readonly stream: number;
  readonly bytes: number;
}

/** The sender will send no more (a half-close). */
export interface EndMessage {
  readonly v: V;
  readonly type: 'end';
  readonly stream: number;
}

/** Both directions are over at once (a close, an error, the pod went away). */
export interface ResetMessage {
  readonly v: V;
  readonly type: 'reset';
  readonly stream: number;
}

export type StreamMessage = DataMessage | CreditMessage | EndMessage | ResetMessage;

export type ToKubelet = InitMessage | TimeMessage | PodsMessage | ImageMessage | VolumeMessage | DialMessage | ConnectedMessage | ResolvedMessage | StopMessage | LogsMessage | WarmMessage | PrepullMessage | StreamMessage;
export type FromKubelet =
  | ReadyMessage
  | LogsResultMessage
  | WarmedMessage
  | HeartbeatMessage
  | PodStatusMessage
  | PodStoppedMessage
  | EventMessage
  | PullMessage
  | ClaimMessage
  | UnclaimMessage
  | DialedMessage
  | ConnectMessage
  | ResolveMessage
  | MetricsMessage
  | WakeMessage
  | StoppedMessage
  | StreamMessage;
export type KubeletMessage = ToKubelet | FromKubelet;

/** A message without its version field, as callers write it. */
export type Unversioned<M> = M extends unknown ? Omit<M, 'v'> : never;

// ---------------------------------------------------------------- encoding

/** Encodes `message` (adding the version) and posts it with its handles (wire.ts). */
export function post<M extends KubeletMessage>(to: Poster, message: Unversioned<M>, handles?: Handles): void {
  postMessage(to, { v: KUBELET_PROTOCOL_VERSION, ...message }, handles);
}

/** Decodes a post. Throws on anything that is not a message of this protocol version. */
export function receive<M extends KubeletMessage>(raw: unknown): Received<M> {
  return receiveMessage<M>(raw, 'kubelet protocol', KUBELET_PROTOCOL_VERSION);
}

/** The handle `h` of a received message, with its expected type (unchecked: both ends are this package). */
export function handle<T>(handles: readonly unknown[], h: Handle): T {
  return handleOf<T>(handles, h, 'kubelet protocol');
}

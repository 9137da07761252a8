/**
 * `NodeHost`: the master's end of one cluster node. It starts the node's kubelet thread
 * (kubelet.ts, through the platform's `Threads`), and is the only party that talks to it
 * (protocol.ts). It keeps the API store and the thread in step:
 *
 *   store → kubelet   the pods bound to the node (an informer on `spec.nodeName=<node>`),
 *                     sent whole after every change and at each heartbeat, with the
 *                     ConfigMaps and Secrets they refer to; the master's clock (`time`
 *                     whenever the kubelet's next timer is due, and every `tickMs`); image
 *                     pulls (the master's `ImageStore`, as an OCI layout tar); claims
 *                     (`ClaimVolumes`, served over the volume channel).
 *   kubelet → store   the Node object (registered at start: capacity, allocatable,
 *                     addresses, nodeInfo; condition Ready with `lastHeartbeatTime` in
 *                     cluster time at each heartbeat), pod status (`updateStatus`, retried
 *                     on Conflict, written only for the pod uid the kubelet ran), and the
 *                     confirmation of a pod deletion (`delete` with grace period 0) once
 *                     the kubelet has stopped its containers. Kubelet events and per-pod
 *                     metrics (CPU millicores, estimated) are kept here (`events()`,
 *                     `metrics()`) and passed to `onEvent`.
 *
 * Lifecycle:
 *   const node = await NodeHost.start({ name: 'node-1', store, images, platform })
 *       — resolves once the Node is registered and the kubelet is ready (Node Ready=True).
 *   await node.dial('default', 'web-1', 80) — a byte stream to a pod's port (ForwardTarget).
 *   await node.stop()  — graceful: every container killed, thread ended, Node NotReady.
 *   await node.kill()  — simulated node death: the thread is terminated at once, and the
 *       Node is marked NotReady at once (as it is whenever the thread dies by itself).
 * After either, the `NodeHost` is spent; start another with the same name to bring the
 * node back (its Node object is reused).
 */
import type { ObjectKey } from '../api/types.js';
import type { Clock } from '../clock.js';
import { realClock, timestamp } from '../clock.js';
import { Informer } from '../controllers/informer.js';
import type { ConfigMap, Node, NodeCondition, NodeStatus, Pod, PodStatus, Secret, Service } from '../objects/index.js';
import type { Quantity } from '../objects/quantity.js';
import type { Store } from '../store/store.js';
import type { ImageStore } from '../../layers/image-store.js';
import type { ForwardTarget, Platform } from '../../platform/platform.js';
import type { Thread } from '../../platform/threads.js';
import { VolumeServer } from '../../sandbox/remote-fs.js';
import { ClaimVolumes } from './claims.js';
import { Handles, post, receive, type ConfigData, type EventMessage, type FromKubelet, type LogsResultMessage, type PodMetrics, type ServiceLink, type ToKubelet, type Unversioned, type WarmedMessage } from './protocol.js';
import { StreamEnd, join } from './streams.js';

export interface NodeCapacity {
  /** Default '4'. */
  readonly cpu?: Quantity;
  /** Default '8Gi'. */
  readonly memory?: Quantity;
  /** Default 110. */
  readonly pods?: number;
}

export interface NodeHostOptions {
  /** The Node's name (a DNS-1123 subdomain). */
  readonly name: string;
  readonly store: Store;
  /** Where the kubelet pulls images from. */
  readonly images: ImageStore;
  /** Threads for the kubelet (and, inside it, its container threads). */
  readonly platform: Platform;
  /**
   * The kubelet's thread module, which must inject a platform for its container threads
   * (Node: `KUBELET_MODULE` of src/platform/node/kubelet-main.ts, the default).
   */
  readonly kubeletModule?: URL;
  /** Cluster time (default real time). The kubelet follows it: a FakeClock drives its back-off and probes. */
  readonly clock?: Clock;
  /** Shared by the cluster's nodes so that claims outlive nodes (default: one of this node's own). */
  readonly claims?: ClaimVolumes;
  /**
   * Where a container of this node connects when the address is not on the node (a pod
   * IP elsewhere, a Service's cluster IP): the cluster resolves it. Default: refused.
   */
  readonly connect?: (address: string, port: number, namespace: string) => Promise<ForwardTarget>;
  /** A container's name lookup (a Service name), in its pod's namespace: IPv4 addresses, none when unknown. */
  readonly resolve?: (name: string, namespace: string) => readonly string[];
  /** The node's number: pod IPs are 10.244.<index>.<n>, the node's 10.0.0.<index + 1>. Default 0. */
  readonly index?: number;
  readonly capacity?: NodeCapacity;
  /** Added to the well-known ones (kubernetes.io/hostname, kubernetes.io/os, kubernetes.io/arch). */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Container threads the kubelet keeps booted and idle (default 1): a pod started on
   * the node takes one instead of spawning a thread (about 40 ms of CPU each, here). They
   * are spawned in the background after the node is Ready, and replaced after a burst.
   */
  readonly warmThreads?: number;
  /** How often the kubelet heartbeats (cluster seconds; default 10, Kubernetes' nodeStatusUpdateFrequency). */
  readonly heartbeatSeconds?: number;
  /**
   * How often the master's time is sent to the kubelet besides when its timers are due
   * (cluster ms; default 1000): how fresh its timestamps are. Timers (back-off, probes,
   * heartbeats) do not depend on it.
   */
  readonly tickMs?: number;
  /** Kubernetes-style events from the kubelet (Started, BackOff, Unhealthy, Killing…). */
  readonly onEvent?: (event: NodeEvent) => void;
}

/** What the kubelet answers a `logs` or `warm` request with. */
type Answer = Partial<Pick<LogsResultMessage, 'text' | 'error'> & Pick<WarmedMessage, 'threads'>>;

/** A Kubernetes-style event about a pod of this node (`type` as an Event's: Normal or Warning). */
export interface NodeEvent {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly type: EventMessage['eventType'];
  readonly reason: string;
  readonly message: string;
  /** Cluster time (ms) when the kubelet saw it. */
  readonly now: number;
}

const DEFAULT_MODULE = new URL('../../platform/node/kubelet-main.js', import.meta.url);
/** Wait for a graceful stop before terminating the thread anyway (real ms). */
const STOP_TIMEOUT_MS = 10_000;

export class NodeHost {
  readonly name: string;
  private readonly store: Store;
  private readonly images: ImageStore;
  private readonly clock: Clock;
  private readonly claims: ClaimVolumes;
  private readonly index: number;
  private readonly options: NodeHostOptions;
  private thread: Thread | undefined;
  private informer: Informer<Pod> | undefined;
  private alive = false;
  private stopping = false;
  private cancelTick: (() => void) | undefined;
  private cancelWake: (() => void) | undefined;
  private readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (e: Error) => void;
  private stopped: (() => void) | undefined;
  private nodeWrites: Promise<unknown> = Promise.resolve();
  private readonly statusQueue = new Map<string, { uid: string; status: PodStatus }>();
  private statusLoop: Promise<void> | undefined;
  private readonly claimServers = new Map<number, VolumeServer>();
  private readonly streams = new Map<number, StreamEnd>();
  private readonly dials = new Map<number, (error: string | undefined) => void>();
  /** `logs` and `warm` requests waiting for the kubelet's answer, by id: rejected if the node goes down first. */
  private readonly requests = new Map<number, { answer: (m: Answer) => void; fail: (e: Error) => void }>();
  private nextStream = 1;
  private sendQueued = false;
  private latestMetrics: readonly PodMetrics[] = [];
  private readonly recentEvents: NodeEvent[] = [];

  private constructor(options: NodeHostOptions) {
    this.options = options;
    this.name = options.name;
    this.store = options.store;
    this.images = options.images;
    this.clock = options.clock ?? realClock;
    this.claims = options.claims ?? new ClaimVolumes();
    this.index = options.index ?? 0;
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
  }

  /** Registers the Node, starts its kubelet thread, and resolves when the kubelet is ready (Node Ready=True). */
  static async start(options: NodeHostOptions): Promise<NodeHost> {
    const host = new NodeHost(options);
    await host.register();
    host.spawn();
    await host.ready;
    return host;
  }

  /** The kubelet thread is running (not killed, not exited, not stopped). */
  get running(): boolean {
    return this.alive;
  }

  get podCIDR(): string {
    return `10.244.${this.index}.0/24`;
  }

  get hostIP(): string {
    return `10.0.0.${this.index + 1}`;
  }

  /** The kubelet's latest metrics, per pod, sent with each heartbeat (CPU is an estimate: see kubelet.ts "Metrics"). */
  metrics(): readonly PodMetrics[] {
    return this.latestMetrics;
  }

  /** The last 1,000 events the kubelet reported, oldest first. */
  events(): readonly NodeEvent[] {
    return this.recentEvents;
  }

  /**
   * A byte stream to `port` of pod `namespace/podName` on this node, relayed through the
   * kubelet to the container that listens on it (with flow control; streams.ts). Rejects
   * when the node is down, the pod is not on it, or nothing listens on the port.
   */
  dial(namespace: string, podName: string, port: number): Promise<ForwardTarget> {
    if (!this.alive) return Promise.reject(new Error(`node ${this.name} is not running`));
    const stream = this.nextStream++;
    const end = new StreamEnd(stream, (m) => this.send(m), () => this.streams.delete(stream));
    this.streams.set(stream, end);
    return new Promise<ForwardTarget>((resolve, reject) => {
      this.dials.set(stream, (error) => {
        this.dials.delete(stream);
        if (error === undefined) return resolve(end);
        end.reset(false);
        reject(new Error(`dial ${namespace}/${podName}:${port} on node ${this.name}: ${error}`));
      });
      this.send({ type: 'dial', stream, namespace, name: podName, port });
    });
  }

  /**
   * A container's outbound connect (protocol.ts `connect`): the cluster resolves the
   * address (`connect` option) and the stream is joined to the target both ways, with
   * flow control on the kubelet's side (streams.ts). The stream is registered before the
   * answer, so the kubelet's first bytes, sent after `connected`, find it.
   */
  private async serveConnect(stream: number, address: string, port: number, namespace: string): Promise<void> {
    const resolve = this.options.connect;
    let target: ForwardTarget;
    try {
      if (resolve === undefined) throw new Error(`connect ${address}:${port}: connection refused (the node has no cluster network)`);
      target = await resolve(address, port, namespace);
    } catch (e) {
      this.send({ type: 'connected', stream, error: (e as Error).message });
      return;
    }
    if (!this.alive) {
      target.close();
      return;
    }
    const end = new StreamEnd(stream, (m) => this.send(m), () => this.streams.delete(stream));
    this.streams.set(stream, end);
    this.send({ type: 'connected', stream });
    join(target, end);
  }

  /**
   * `kubectl logs`: the output of the current (or last) run of a container of a pod on
   * this node. Rejects with the kubelet's reason (no such pod or container, not started).
   */
  logs(namespace: string, podName: string, container?: string): Promise<string> {
    return this.ask((id) => ({ type: 'logs', id, namespace, name: podName, ...(container !== undefined ? { container } : {}) })).then((m) => m.text ?? '');
  }

  /**
   * Resolves when the kubelet's warm container threads (`warmThreads`) are booted: pods
   * started from then on take a booted thread. Rejects if they cannot boot, or the node
   * goes down first. Says how many container threads are then idle and busy.
   */
  async warm(): Promise<{ idle: number; busy: number }> {
    const m = await this.ask((id) => ({ type: 'warm', id }));
    return m.threads ?? { idle: 0, busy: 0 };
  }

  /** Pulls `ref` onto this node now (`crictl pull`): its pods skip the pull. Rejects with the kubelet's reason. */
  async pull(ref: string): Promise<void> {
    await this.ask((id) => ({ type: 'prepull', id, image: ref }));
  }

  /** Sends a request and resolves with the answer (rejects with its `error`, or if the node goes down). */
  private ask(request: (id: number) => Unversioned<ToKubelet>): Promise<Answer> {
    if (!this.alive) return Promise.reject(new Error(`node ${this.name} is not running`));
    const id = this.nextStream++;
    return new Promise<Answer>((resolve, reject) => {
      this.requests.set(id, { answer: (m) => (m.error !== undefined ? reject(new Error(m.error)) : resolve(m)), fail: reject });
      this.send(request(id));
    });
  }

  /** Graceful stop: the kubelet kills its containers, the thread ends, the Node is marked NotReady. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopping || this.thread === undefined) return;
    this.stopping = true;
    const thread = this.thread;
    if (this.alive) {
      const done = new Promise<void>((resolve) => (this.stopped = resolve));
      this.send({ type: 'stop' });
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([done, new Promise<void>((r) => (timer = setTimeout(r, STOP_TIMEOUT_MS)))]);
      clearTimeout(timer);
    }
    await this.statusLoop; // what the kubelet reported before it went is written
    await this.down('KubeletStopped', 'kubelet was stopped');
    await thread.terminate();
  }

  /** Simulated node death: terminates the kubelet thread at once; the Node is NotReady when this resolves. */
  async kill(): Promise<void> {
    if (this.thread === undefined) return;
    this.stopping = true;
    const down = this.down('NodeStatusUnknown', 'kubelet thread was killed');
    await this.thread.terminate();
    await down;
  }

  // ---------------------------------------------------------------- node object

  private nodeKey(): ObjectKey {
    return { kind: 'Node', namespace: '', name: this.name };
  }

  private async register(): Promise<void> {
    const o = this.options;
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: this.name,
        labels: { 'kubernetes.io/hostname': this.name, 'kubernetes.io/os': 'wasip1', 'kubernetes.io/arch': 'wasm', ...o.labels },
      },
      spec: { podCIDR: this.podCIDR, podCIDRs: [this.podCIDR] },
    };
    const created = await this.store.create(node);
    if (!created.ok && created.error.reason !== 'AlreadyExists') throw new Error(`node ${this.name}: ${created.error.message}`);
    const capacity = { cpu: String(o.capacity?.cpu ?? '4'), memory: String(o.capacity?.memory ?? '8Gi'), pods: String(o.capacity?.pods ?? 110) };
    await this.updateNode((status) => ({
      ...status,
      capacity,
      allocatable: capacity,
      phase: 'Running',
      conditions: this.conditions(status.conditions, 'False', 'KubeletNotReady', 'kubelet is starting'),
      addresses: [
        { type: 'InternalIP', address: this.hostIP },
        { type: 'Hostname', address: this.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
      nodeInfo: {
        machineID: this.name,
        systemUUID: this.name,
        bootID: `${this.name}-${this.clock.now()}`,
        kernelVersion: '',
        osImage: 'skiff',
        containerRuntimeVersion: 'skiff://0.1.0',
        kubeletVersion: 'v1.33.0-skiff',
        kubeProxyVersion: '',
        operatingSystem: 'wasip1',
        architecture: 'wasm',
      },
    }));
  }

  /** Node conditions with Ready set to `ready` (transition time kept when unchanged), heartbeat now. */
  private conditions(old: readonly NodeCondition[] | undefined, ready: 'True' | 'False' | 'Unknown', reason: string, message: string): NodeCondition[] {
    const now = timestamp(this.clock.now());
    const make = (type: string, status: NodeCondition['status'], why: string, text: string): NodeCondition => {
      const prev = old?.find((c) => c.type === type);
      return { type, status, lastHeartbeatTime: now, lastTransitionTime: prev?.status === status ? (prev.lastTransitionTime ?? now) : now, reason: why, message: text };
    };
    return [
      make('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      make('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      make('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      make('Ready', ready, reason, message),
    ];
  }

  /** Writes the Node's status as `change` makes it from the current one, retrying on Conflict. Serialized. */
  private updateNode(change: (status: NodeStatus) => NodeStatus): Promise<void> {
    const write = this.nodeWrites.then(async () => {
      for (let attempt = 0; attempt < 20; attempt++) {
        const got = this.store.get<Node>(this.nodeKey());
        if (!got.ok) return; // deleted: nothing to report to
        const node = got.value;
        const r = await this.store.updateStatus<Node>({ ...node, status: change(node.status ?? {}) });
        if (r.ok || r.error.reason !== 'Conflict') return;
      }
    });
    // A write that throws (the store was closed under a stopping cluster) has nothing to retry.
    this.nodeWrites = write.catch(() => undefined);
    return this.nodeWrites as Promise<void>;
  }

  private setReady(ready: 'True' | 'False' | 'Unknown', reason: string, message: string): Promise<void> {
    return this.updateNode((status) => ({ ...status, conditions: this.conditions(status.conditions, ready, reason, message) }));
  }

  // ---------------------------------------------------------------- thread

  private spawn(): void {
    const module = this.options.kubeletModule ?? DEFAULT_MODULE;
    this.thread = this.options.platform.threads.spawn(module, {
      onMessage: (raw) => {
        try {
          const { message, handles } = receive<FromKubelet>(raw);
          this.onMessage(message, handles);
        } catch (e) {
          console.error(`node ${this.name}: bad kubelet message`, e);
        }
      },
      onError: (error) => {
        this.rejectReady(error);
        void this.down('KubeletNotReady', `kubelet thread failed: ${error.message}`);
      },
      onExit: (code) => {
        this.rejectReady(new Error(`kubelet thread exited (code ${code}) before it was ready`));
        void this.down('KubeletNotReady', `kubelet thread exited (code ${code})`);
      },
    });
    this.alive = true;
  }

  private send(message: Unversioned<ToKubelet>, handles?: Handles): void {
    if (!this.alive || this.thread === undefined) return;
    post(this.thread, message, handles);
  }

  private downed: Promise<void> | undefined;

  /**
   * The thread is gone, or going (killed, stopped, died): everything tied to it ends, and
   * the Node is NotReady at once. The first call says why; later ones return its promise.
   */
  private down(reason: string, message: string): Promise<void> {
    if (this.downed !== undefined) return this.downed;
    this.alive = false;
    this.cancelTick?.();
    this.cancelWake?.();
    void this.informer?.stop();
    for (const s of [...this.streams.values()]) s.reset(false);
    for (const d of [...this.dials.values()]) d('the node went down');
    for (const r of this.requests.values()) r.fail(new Error(`node ${this.name} went down: ${message}`));
    this.requests.clear();
    for (const server of this.claimServers.values()) void server.close();
    this.claimServers.clear();
    this.stopped?.();
    this.downed = this.setReady('False', reason, message);
    return this.downed;
  }

  private onMessage(m: FromKubelet, handles: readonly unknown[]): void {
    void handles;
    // A message the thread sent just before it was stopped must not make the Node Ready again.
    if (!this.alive && m.type !== 'stopped') return;
    switch (m.type) {
      case 'ready':
        void this.onReady();
        return;
      case 'heartbeat':
        void this.setReady('True', 'KubeletReady', 'kubelet is posting ready status');
        this.queueSend(); // a periodic full resync (ConfigMaps may have changed)
        return;
      case 'podStatus':
        this.statusQueue.set(`${m.namespace}/${m.name}`, { uid: m.uid, status: m.status });
        this.statusLoop ??= this.writeStatuses();
        return;
      case 'podStopped':
        void this.confirmDeletion(m.namespace, m.name, m.uid);
        return;
      case 'event': {
        const event: NodeEvent = { namespace: m.namespace, name: m.name, uid: m.uid, type: m.eventType, reason: m.reason, message: m.message, now: m.now };
        this.recentEvents.push(event);
        if (this.recentEvents.length > 1000) this.recentEvents.shift();
        this.options.onEvent?.(event);
        return;
      }
      case 'metrics':
        this.latestMetrics = m.pods;
        return;
      case 'pull':
        void this.servePull(m.id, m.image);
        return;
      case 'claim':
        this.serveClaim(m.id, m.namespace, m.claimName);
        return;
      case 'unclaim': {
        const server = this.claimServers.get(m.id);
        this.claimServers.delete(m.id);
        void server?.close();
        return;
      }
      case 'logsResult':
      case 'warmed': {
        const done = this.requests.get(m.id);
        this.requests.delete(m.id);
        done?.answer(m);
        return;
      }
      case 'dialed':
        this.dials.get(m.stream)?.(m.error);
        return;
      case 'connect':
        void this.serveConnect(m.stream, m.address, m.port, m.namespace);
        return;
      case 'resolve': {
        let addresses: readonly string[] = [];
        try {
          addresses = this.options.resolve?.(m.name, m.namespace) ?? [];
        } catch {
          addresses = [];
        }
        this.send({ type: 'resolved', id: m.id, addresses });
        return;
      }
      case 'wake':
        this.cancelWake?.();
        this.cancelWake = m.at === undefined ? undefined : this.clock.setTimer(m.at - this.clock.now(), () => this.send({ type: 'time', now: this.clock.now() }));
        return;
      case 'stopped':
        this.stopped?.();
        return;
      case 'data':
      case 'credit':
      case 'end':
      case 'reset':
        this.streams.get(m.stream)?.receive(m);
        return;
    }
  }

  private async onReady(): Promise<void> {
    this.send({
      type: 'init',
      nodeName: this.name,
      podCIDR: this.podCIDR,
      hostIP: this.hostIP,
      now: this.clock.now(),
      heartbeatMs: (this.options.heartbeatSeconds ?? 10) * 1000,
      ...(this.clock === realClock ? { realTime: true } : {}),
      ...(this.options.warmThreads !== undefined ? { warmThreads: this.options.warmThreads } : {}),
    });
    const tickMs = this.options.tickMs ?? 1000;
    const tick = (): void => {
      if (!this.alive) return;
      this.send({ type: 'time', now: this.clock.now() });
      this.cancelTick = this.clock.setTimer(tickMs, tick);
    };
    this.cancelTick = this.clock.setTimer(tickMs, tick);
    const informer = new Informer<Pod>(this.store, 'Pod', { fieldSelector: `spec.nodeName=${this.name}` });
    this.informer = informer;
    // Status writes (the node's own, mostly) change nothing the kubelet acts on.
    informer.on((type, pod, old) => {
      if (type === 'MODIFIED' && old !== undefined && sameDesired(pod, old)) return;
      this.queueSend();
    });
    await informer.start();
    this.queueSend();
    await this.setReady('True', 'KubeletReady', 'kubelet is posting ready status');
    this.resolveReady();
  }

  // ---------------------------------------------------------------- pods

  /** Sends the desired pods (once per turn however many changes came). */
  private queueSend(): void {
    if (this.sendQueued) return;
    this.sendQueued = true;
    queueMicrotask(() => {
      this.sendQueued = false;
      try {
        this.sendPods();
      } catch (e) {
        if (this.alive) console.error(`node ${this.name}: cannot send pods`, e);
      }
    });
  }

  /** The desired pods and what they refer to, with the time. */
  private sendPods(): void {
    const informer = this.informer;
    if (informer === undefined || !this.alive) return;
    const pods = informer.list();
    const configMaps: Record<string, Record<string, Uint8Array>> = {};
    const secrets: Record<string, Record<string, Uint8Array>> = {};
    for (const pod of pods) {
      const ns = pod.metadata.namespace ?? 'default';
      const refs = podReferences(pod);
      for (const name of refs.configMaps) {
        const cm = this.store.get<ConfigMap>({ kind: 'ConfigMap', namespace: ns, name });
        if (cm.ok) configMaps[`${ns}/${name}`] = configData(cm.value.data, cm.value.binaryData);
      }
      for (const name of refs.secrets) {
        const s = this.store.get<Secret>({ kind: 'Secret', namespace: ns, name });
        if (s.ok) secrets[`${ns}/${name}`] = configData(s.value.stringData, s.value.data);
      }
    }
    // Service links (env vars) are made at container start from the Services then known, as the kubelet's service lister does.
    const services: Record<string, ServiceLink[]> = {};
    for (const pod of pods) {
      const ns = pod.metadata.namespace ?? 'default';
      if (pod.spec.enableServiceLinks === false || services[ns] !== undefined) continue;
      const listed = this.store.list<Service>('Service', { namespace: ns });
      services[ns] = (listed.ok ? listed.value.items : [])
        .filter((svc) => svc.spec?.clusterIP !== undefined && svc.spec.clusterIP !== '' && svc.spec.clusterIP !== 'None')
        .map((svc) => ({
          name: svc.metadata.name ?? '',
          clusterIP: svc.spec?.clusterIP as string,
          ports: (svc.spec?.ports ?? []).map((p) => ({ ...(p.name !== undefined ? { name: p.name } : {}), port: p.port, protocol: p.protocol ?? 'TCP' })),
        }));
    }
    this.send({ type: 'time', now: this.clock.now() });
    this.send({ type: 'pods', pods, configMaps, secrets, services });
  }

  /** Writes queued pod statuses, newest per pod, until none is left. */
  private async writeStatuses(): Promise<void> {
    try {
      for (;;) {
        const next = this.statusQueue.entries().next();
        if (next.done === true) return;
        const [key, { uid, status }] = next.value;
        this.statusQueue.delete(key);
        const [namespace, name] = key.split('/') as [string, string];
        await this.writeStatus(namespace, name, uid, status).catch(() => undefined); // a closed store: nothing to write to
      }
    } finally {
      this.statusLoop = undefined;
      if (this.statusQueue.size > 0) this.statusLoop = this.writeStatuses();
    }
  }

  private async writeStatus(namespace: string, name: string, uid: string, reported: PodStatus): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const got = this.store.get<Pod>({ kind: 'Pod', namespace, name });
      if (!got.ok || got.value.metadata.uid !== uid) return; // gone, or a new pod of the same name
      const pod = got.value;
      const old = pod.status ?? {};
      // PodScheduled is the scheduler's: keep its transition time; keep what the kubelet does not own.
      const scheduled = old.conditions?.find((c) => c.type === 'PodScheduled');
      const conditions = (reported.conditions ?? []).map((c) => (c.type === 'PodScheduled' && scheduled !== undefined ? scheduled : c));
      const status: PodStatus = { ...old, ...reported, conditions };
      if (JSON.stringify(status) === JSON.stringify(old)) return;
      const r = await this.store.updateStatus<Pod>({ ...pod, status });
      if (r.ok || r.error.reason !== 'Conflict') return;
    }
  }

  private async confirmDeletion(namespace: string, name: string, uid: string): Promise<void> {
    await this.statusLoop;
    await this.store.delete({ kind: 'Pod', namespace, name }, { gracePeriodSeconds: 0, preconditions: { uid } }).catch(() => undefined);
  }

  // ---------------------------------------------------------------- pulls and claims

  private async servePull(id: number, ref: string): Promise<void> {
    try {
      const image = await this.images.get(ref);
      if (image === undefined) return this.send({ type: 'image', id, error: `image ${ref} not found on the master: load or build it first` });
      const saved = await this.images.save([ref]);
      const archive = saved.byteOffset === 0 && saved.byteLength === saved.buffer.byteLength ? saved : saved.slice();
      const handles = new Handles();
      const h = handles.add(archive, archive.buffer instanceof ArrayBuffer ? [archive.buffer] : []);
      this.send({ type: 'image', id, archive: h }, handles);
    } catch (e) {
      this.send({ type: 'image', id, error: `cannot pull ${ref}: ${(e as Error).message}` });
    }
  }

  private serveClaim(id: number, namespace: string, claimName: string): void {
    try {
      this.serveClaimOrThrow(id, namespace, claimName);
    } catch (e) {
      this.send({ type: 'volume', id, error: `cannot mount claim ${claimName}: ${(e as Error).message}` });
    }
  }

  private serveClaimOrThrow(id: number, namespace: string, claimName: string): void {
    const claim = this.store.get({ kind: 'PersistentVolumeClaim', namespace, name: claimName });
    if (!claim.ok) return this.send({ type: 'volume', id, error: `persistentvolumeclaim "${claimName}" not found` });
    const fs = this.claims.fs(namespace, claimName);
    if (typeof fs === 'string') return this.send({ type: 'volume', id, error: fs });
    const server = new VolumeServer([{ path: '/', fs }]);
    this.claimServers.set(id, server);
    void server.done.then(() => this.claimServers.delete(id));
    const handles = new Handles();
    const h = handles.add(server.connection, server.transfer);
    this.send({ type: 'volume', id, connection: h }, handles);
  }
}

/** Whether two versions of a pod differ only in what the kubelet does not act on (status, resourceVersion). */
function sameDesired(a: Pod, b: Pod): boolean {
  const ma = a.metadata;
  const mb = b.metadata;
  return (
    ma.uid === mb.uid &&
    ma.generation === mb.generation &&
    ma.deletionTimestamp === mb.deletionTimestamp &&
    JSON.stringify(ma.labels ?? {}) === JSON.stringify(mb.labels ?? {}) &&
    JSON.stringify(ma.annotations ?? {}) === JSON.stringify(mb.annotations ?? {})
  );
}

/** The ConfigMaps and Secrets a pod's volumes and environment name. */
function podReferences(pod: Pod): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const v of pod.spec.volumes ?? []) {
    if (v.configMap?.name !== undefined) configMaps.add(v.configMap.name);
    if (v.secret?.secretName !== undefined) secrets.add(v.secret.secretName);
  }
  for (const c of pod.spec.containers) {
    for (const f of c.envFrom ?? []) {
      if (f.configMapRef?.name !== undefined) configMaps.add(f.configMapRef.name);
      if (f.secretRef?.name !== undefined) secrets.add(f.secretRef.name);
    }
    for (const e of c.env ?? []) {
      if (e.valueFrom?.configMapKeyRef?.name !== undefined) configMaps.add(e.valueFrom.configMapKeyRef.name);
      if (e.valueFrom?.secretKeyRef?.name !== undefined) secrets.add(e.valueFrom.secretKeyRef.name);
    }
  }
  return { configMaps, secrets };
}

/** Text values as UTF-8, base64 values decoded. */
function configData(text: Readonly<Record<string, string>> | undefined, base64: Readonly<Record<string, string>> | undefined): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(base64 ?? {})) out[k] = Uint8Array.from(atob(v), (ch) => ch.charCodeAt(0));
  for (const [k, v] of Object.entries(text ?? {})) out[k] = new TextEncoder().encode(v);
  return out;
}

export type { ConfigData };

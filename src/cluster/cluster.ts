/**
 * `Cluster`: a Kubernetes-style micro-cluster in one process — the API store, the
 * controllers (scheduler, ReplicaSet, Deployment, Job, HPA, endpoints, Service addresses,
 * node lifecycle, garbage collection), a service proxy, and a pool of nodes, each a
 * kubelet on its own worker thread running pods through the container runtime.
 *
 *   const cluster = await Cluster.start({ nodes: 3 });
 *   await cluster.images.load('web.tar');                  // or bytes
 *   await cluster.apply(readFileSync('web.yaml', 'utf8')); // Deployment + Service
 *   const res = await cluster.fetch('http://web.default.svc/');
 *   await cluster.nodes.kill('node-2');                    // its pods are replaced elsewhere
 *   await cluster.stop();
 *
 * Contracts:
 * - Writes (`apply`, `delete`, `scale`, `rollback`, node operations) resolve once the store
 *   has accepted them; what follows from them (pods created, scheduled, started) happens
 *   asynchronously, as in Kubernetes. `whenIdle()` waits for the master's side to settle;
 *   `waitFor(predicate)` polls the store until something holds.
 * - Errors from the API are `ApiError`s with Kubernetes' reasons (NotFound, Invalid naming
 *   the field, Conflict…); connection failures to Services are `ServiceProxyError`s.
 * - Time: every timer of the cluster (heartbeats, grace periods, back-off, probes, the
 *   HPA's sync period) runs on `options.clock`. With a `FakeClock` a test moves minutes of
 *   cluster time in milliseconds; the kubelets follow the master's clock.
 * - Defaults, as Kubernetes': heartbeat every 10 s; a node silent for 40 s is NotReady
 *   (Unknown); its pods are evicted 300 s later (`podEvictionTimeout`) and replaced; a
 *   node whose thread dies is NotReady at once.
 */
import type { Platform } from '../platform/platform.js';
import { defaultPlatform } from '../platform/platform.js';
import { ImageStore, type Image, type ImageSummary, type LoadOptions } from '../layers/image-store.js';
import { MemoryFiles } from '../layers/files.js';
import { ApiError, type KubeObject, type ObjectKey } from './api/types.js';
import { admitAll, applyObjects, type Applied } from './apply.js';
import { realClock, type Clock } from './clock.js';
import type { Controller } from './controllers/controller.js';
import { DeploymentController, rollback as rollbackDeployment } from './controllers/deployment.js';
import { EndpointsController } from './controllers/endpoints.js';
import { EventRecorder } from './controllers/events.js';
import { HorizontalPodAutoscalerController } from './controllers/hpa.js';
import { JobController } from './controllers/job.js';
import { NodeLifecycleController } from './controllers/node-lifecycle.js';
import { ReplicaSetController } from './controllers/replicaset.js';
import { SchedulingController } from './controllers/scheduling.js';
import { ServiceIPController } from './controllers/service-ip.js';
import { ClaimVolumes } from './kubelet/claims.js';
import { NodeHost, type NodeCapacity } from './kubelet/node-host.js';
import type { Node, Pod, Service } from './objects/core.js';
import type { SchedulerOptions } from './scheduler/scheduler.js';
import { ServiceProxy } from './services/proxy.js';
import { fetchOver } from '../sandbox/network.js';
import { parseIPv4 } from '../sandbox/net/ipv4.js';
import { CLUSTER_SCOPED_KINDS, openStore, type SnapshotPolicy } from './store/index.js';
import type { LogFiles } from './store/log-files.js';
import type { ListOptions, Store, Watch, WatchOptions } from './store/store.js';
import type { ForwardTarget } from '../platform/platform.js';

export interface ClusterOptions {
  /** Nodes started with the cluster (default 3), named node-1, node-2, … */
  readonly nodes?: number;
  /** Default: the platform the package entry registered. */
  readonly platform?: Platform;
  /** Cluster time (default real time). A FakeClock makes runs deterministic. */
  readonly clock?: Clock;
  /**
   * Persist the API store in an append-only log with snapshots (default: in memory):
   * `path`, a host directory (where the platform has files), or any `log`.
   */
  readonly store?: { readonly path?: string; readonly log?: LogFiles; readonly snapshot?: SnapshotPolicy };
  /**
   * A home directory (where the platform has files): images are kept in `HOME/images`,
   * an OCI image layout, and survive the process. Default: images in memory.
   */
  readonly home?: string;
  /** Where images come from (default: `home`'s, else a new in-memory store). */
  readonly images?: ImageStore;
  /** Capacity of each node (default 4 cpu, 8Gi, 110 pods). */
  readonly capacity?: NodeCapacity;
  /**
   * Container threads each node keeps booted and idle (default 1). A pod takes one
   * instead of spawning a thread, the largest cost of its start; size it to the pods a
   * node starts at once (see README, "Start-up"). Each idle thread costs memory (about
   * 11 MB here).
   */
  readonly warmThreads?: number;
  /** ms without a heartbeat before a node is NotReady/Unknown (default 40,000). */
  readonly nodeMonitorGracePeriod?: number;
  /** ms a pod stays on a NotReady node before it is evicted (default 300,000). */
  readonly podEvictionTimeout?: number;
  /** Kubelet heartbeat period in cluster seconds (default 10). */
  readonly heartbeatSeconds?: number;
  readonly scheduler?: SchedulerOptions;
  /**
   * Where the HPA reads each pod's CPU use, in millicores (metrics-server's role). Default:
   * what the kubelets measure from their container threads (busy time). Give your own to
   * feed the HPA from elsewhere, or to make its inputs exact in a test.
   */
  readonly podMetrics?: { cpuMilli(namespace: string, pod: string): number | undefined };
  /** ms between two HPA evaluations (default 15,000, kube-controller-manager's). */
  readonly hpaSyncPeriod?: number;
  /** Reports a controller's failed reconcile (it is retried). Default: console.error. */
  readonly onError?: (what: string, error: unknown) => void;
}

/** Kinds by the names kubectl accepts for them (`pods`, `deploy`, `svc`…). */
const KIND_ALIASES: Readonly<Record<string, string>> = {
  pod: 'Pod', pods: 'Pod', po: 'Pod',
  deployment: 'Deployment', deployments: 'Deployment', deploy: 'Deployment',
  replicaset: 'ReplicaSet', replicasets: 'ReplicaSet', rs: 'ReplicaSet',
  job: 'Job', jobs: 'Job',
  service: 'Service', services: 'Service', svc: 'Service',
  endpoints: 'Endpoints', ep: 'Endpoints',
  configmap: 'ConfigMap', configmaps: 'ConfigMap', cm: 'ConfigMap',
  secret: 'Secret', secrets: 'Secret',
  node: 'Node', nodes: 'Node', no: 'Node',
  horizontalpodautoscaler: 'HorizontalPodAutoscaler', horizontalpodautoscalers: 'HorizontalPodAutoscaler', hpa: 'HorizontalPodAutoscaler',
  persistentvolumeclaim: 'PersistentVolumeClaim', persistentvolumeclaims: 'PersistentVolumeClaim', pvc: 'PersistentVolumeClaim',
  event: 'Event', events: 'Event', ev: 'Event',
};

/** `Deployment`, `deploy`, `pods` → the kind's name. */
export function kindOf(name: string): string {
  return KIND_ALIASES[name.toLowerCase()] ?? name;
}

interface DeploymentStatusLike {
  readonly observedGeneration?: number;
  readonly replicas?: number;
  readonly updatedReplicas?: number;
  readonly availableReplicas?: number;
  readonly conditions?: readonly { readonly type: string; readonly reason?: string }[];
}

const CLUSTER_SCOPED = new Set(CLUSTER_SCOPED_KINDS);

/**
 * The cluster's images (#3's ImageStore, in memory unless one is given): what the kubelets
 * pull from. `load` takes a path (where the platform has files) or the bytes of an OCI
 * layout tar or a `docker save` archive.
 */
export class ClusterImages {
  constructor(
    readonly store: ImageStore,
    private readonly platform: Platform,
  ) {}

  async load(source: string | Uint8Array, options?: LoadOptions): Promise<ImageSummary[]> {
    let bytes: Uint8Array;
    if (typeof source === 'string') {
      if (this.platform.readFile === undefined) throw new Error(`images.load(${JSON.stringify(source)}): this platform (${this.platform.name}) has no files; pass the archive's bytes`);
      bytes = await this.platform.readFile(source);
    } else bytes = source;
    return this.store.load(bytes, options);
  }

  list(): Promise<ImageSummary[]> {
    return this.store.list();
  }

  get(ref: string): Promise<Image | undefined> {
    return this.store.get(ref);
  }

  tag(src: string, dst: string): Promise<Image> {
    return this.store.tag(src, dst);
  }

  remove(ref: string): ReturnType<ImageStore['remove']> {
    return this.store.remove(ref);
  }

  save(refs: readonly string[]): Promise<Uint8Array> {
    return this.store.save(refs);
  }
}

/** The cluster's nodes: add, kill, cordon, drain. */
export class ClusterNodes {
  constructor(private readonly cluster: Cluster) {}

  /** The Node objects. */
  list(): Node[] {
    return this.cluster.list<Node>('Node');
  }

  /** Names of the nodes whose kubelet thread runs. */
  running(): string[] {
    return this.cluster.nodeHosts().filter((h) => h.running).map((h) => h.name);
  }

  /** Starts a new node (a kubelet thread) and resolves once it is Ready. */
  add(options: { name?: string; capacity?: NodeCapacity; labels?: Record<string, string> } = {}): Promise<Node> {
    return this.cluster.addNode(options);
  }

  /**
   * Kills a node's kubelet thread at once, as if the machine died: the Node is NotReady
   * when this resolves; its pods are evicted after `podEvictionTimeout` and replaced.
   */
  async kill(name: string): Promise<void> {
    await this.cluster.nodeHost(name).kill();
  }

  /**
   * Resolves when every running node's warm container threads (`warmThreads`) are
   * booted, so that pods started from then on skip spawning a thread; with each node's
   * container threads then idle (warm) and busy (running containers).
   */
  async warm(): Promise<Record<string, { idle: number; busy: number }>> {
    // By name (node-2 before node-10), not in the order the nodes finished booting.
    const hosts = this.cluster
      .nodeHosts()
      .filter((h) => h.running)
      .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
    const threads = await Promise.all(hosts.map((h) => h.warm()));
    return Object.fromEntries(hosts.map((h, i) => [h.name, threads[i] ?? { idle: 0, busy: 0 }]));
  }

  /**
   * Pulls image `ref` onto every running node now, as `crictl pull` on each node would
   * (or a DaemonSet that pre-pulls): pods started there later skip the pull. Rejects with
   * a node's reason if one cannot pull it (the image is not in `cluster.images`).
   */
  async pull(ref: string): Promise<void> {
    await Promise.all(this.cluster.nodeHosts().filter((h) => h.running).map((h) => h.pull(ref)));
  }

  /** Marks a node unschedulable (`kubectl cordon`). */
  async cordon(name: string): Promise<void> {
    await this.cluster.patch('Node', name, { spec: { unschedulable: true } });
  }

  async uncordon(name: string): Promise<void> {
    await this.cluster.patch('Node', name, { spec: { unschedulable: null } });
  }

  /**
   * `kubectl drain`: cordons the node, then deletes its pods (their controllers replace
   * them elsewhere). Resolves when the node runs no pod; returns the evicted pods' names.
   */
  async drain(name: string): Promise<string[]> {
    await this.cordon(name);
    const pods = this.cluster.store.list<Pod>('Pod', { fieldSelector: `spec.nodeName=${name}` });
    if (!pods.ok) throw pods.error;
    const evicted: string[] = [];
    for (const p of pods.value.items) {
      const r = await this.cluster.store.delete({ kind: 'Pod', namespace: p.metadata.namespace ?? 'default', name: p.metadata.name ?? '' }, { gracePeriodSeconds: 30 });
      if (r.ok) evicted.push(`${p.metadata.namespace ?? 'default'}/${p.metadata.name ?? ''}`);
    }
    return evicted;
  }
}

export class Cluster {
  readonly nodes: ClusterNodes;
  readonly images: ClusterImages;
  private readonly hosts = new Map<string, NodeHost>();
  private readonly controllers: Controller[] = [];
  private nextIndex = 0;
  private stopped = false;

  private constructor(
    readonly store: Store,
    imageStore: ImageStore,
    readonly clock: Clock,
    readonly platform: Platform,
    private readonly options: ClusterOptions,
    private readonly claims: ClaimVolumes,
    private readonly proxy: ServiceProxy,
    private readonly nodeEvents: EventRecorder,
    private readonly serviceIPs: ServiceIPController,
  ) {
    this.nodes = new ClusterNodes(this);
    this.images = new ClusterImages(imageStore, platform);
  }

  /** Starts the master, then `options.nodes` nodes; resolves when every node is Ready. */
  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const clock = options.clock ?? realClock;
    const platform = options.platform ?? defaultPlatform();
    const log = options.store?.log ?? (options.store?.path !== undefined ? hostStorage(platform, 'logFiles', options.store.path) : undefined);
    const store = await openStore({ now: () => clock.now(), ...(log ? { log } : {}), ...(options.store?.snapshot ? { snapshot: options.store.snapshot } : {}) });
    const images = options.images ?? (await ImageStore.open(options.home !== undefined ? hostStorage(platform, 'files', `${options.home}/images`) : new MemoryFiles()));
    const onError = options.onError;
    const controllerOptions = { store, clock, ...(onError ? { onError: (key: string, e: unknown) => onError(key, e) } : {}) };
    // The proxy dials pods through the cluster's nodes, and the cluster owns the proxy.
    const late: { cluster?: Cluster } = {};
    const proxy = new ServiceProxy({
      store,
      platform,
      dialer: { dial: (namespace, pod, port) => (late.cluster as Cluster).dial(namespace, pod, port) },
      ...(onError ? { onError } : {}),
    });
    const cluster = new Cluster(store, images, clock, platform, options, new ClaimVolumes(), proxy, new EventRecorder(store, clock, 'kubelet'), new ServiceIPController(controllerOptions));
    late.cluster = cluster;
    cluster.controllers.push(
      named('scheduler', new SchedulingController({ store, clock, ...(options.scheduler ? { scheduler: options.scheduler } : {}) })),
      new ReplicaSetController(controllerOptions),
      new DeploymentController(controllerOptions),
      new JobController(controllerOptions),
      new HorizontalPodAutoscalerController({
        ...controllerOptions,
        // CPU busy per pod, as the kubelets last reported it (metrics-server's role).
        metrics: options.podMetrics ?? { cpuMilli: (namespace: string, pod: string) => cluster.podCpuMilli(namespace, pod) },
        ...(options.hpaSyncPeriod !== undefined ? { syncPeriod: options.hpaSyncPeriod } : {}),
      }),
      named('endpoints', new EndpointsController(controllerOptions)),
      named('service-ip', cluster.serviceIPs),
      named(
        'node-lifecycle',
        new NodeLifecycleController({
          ...controllerOptions,
          ...(options.nodeMonitorGracePeriod !== undefined ? { nodeMonitorGracePeriod: options.nodeMonitorGracePeriod } : {}),
          ...(options.podEvictionTimeout !== undefined ? { podEvictionTimeout: options.podEvictionTimeout } : {}),
        }),
      ),
    );
    try {
      for (const c of cluster.controllers) await c.start();
      await proxy.start();
      // The nodes boot side by side (each is a thread loading its modules); names and
      // indexes are given in order, so node-1 is always index 0.
      const n = options.nodes ?? 3;
      await Promise.all(Array.from({ length: n }, () => cluster.addNode({})));
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  // ---------------------------------------------------------------- objects

  /**
   * `kubectl apply -f`: YAML or JSON text (any number of documents), an object, or a list.
   * Every object is validated before any is written. Returns what happened to each.
   */
  async apply(input: string | object | readonly object[]): Promise<Applied[]> {
    return applyObjects(this.store, admitAll(input), (obj) => (obj.kind === 'Service' && obj.apiVersion === 'v1' ? this.serviceIPs.create(obj as Service) : undefined));
  }

  /** The object, or throws NotFound. `kind` may be a kubectl name (`deploy`, `svc`). */
  get<T extends KubeObject = KubeObject>(kind: string, name: string, namespace = 'default'): T {
    const r = this.store.get<T>(this.key(kind, name, namespace));
    if (!r.ok) throw r.error;
    return r.value;
  }

  /** Objects of a kind (all namespaces unless `namespace` is given), with label/field selectors. */
  list<T extends KubeObject = KubeObject>(kind: string, options: ListOptions = {}): T[] {
    const r = this.store.list<T>(kindOf(kind), options);
    if (!r.ok) throw r.error;
    return [...r.value.items];
  }

  /** Watches a kind: `for await (const ev of cluster.watch('pods')) …`; `close()` to stop. */
  watch<T extends KubeObject = KubeObject>(kind: string, options: WatchOptions = {}): Watch<T> {
    const r = this.store.watch<T>(kindOf(kind), options);
    if (!r.ok) throw r.error;
    return r.value;
  }

  /** Deletes an object (its dependents are garbage-collected). Throws NotFound. */
  async delete(kind: string, name: string, namespace = 'default'): Promise<void> {
    const r = await this.store.delete(this.key(kind, name, namespace));
    if (!r.ok) throw r.error;
  }

  /** A JSON merge patch of an object's spec/metadata. */
  async patch<T extends KubeObject = KubeObject>(kind: string, name: string, patch: object, namespace = 'default'): Promise<T> {
    const r = await this.store.patch<T>(this.key(kind, name, namespace), patch);
    if (!r.ok) throw r.error;
    return r.value;
  }

  /** `kubectl scale`: sets spec.replicas of a Deployment, ReplicaSet or (parallelism of) a Job. */
  async scale(kind: string, name: string, replicas: number, namespace = 'default'): Promise<KubeObject> {
    if (!Number.isInteger(replicas) || replicas < 0) throw new ApiError('BadRequest', `scale ${kind}/${name}: replicas must be a non-negative integer, got ${replicas}`);
    const k = kindOf(kind);
    if (k === 'Job') return this.patch(k, name, { spec: { parallelism: replicas } }, namespace);
    if (k !== 'Deployment' && k !== 'ReplicaSet') throw new ApiError('BadRequest', `scale: ${k} has no scale subresource (Deployment, ReplicaSet or Job)`);
    return this.patch(k, name, { spec: { replicas } }, namespace);
  }

  /** `kubectl rollout undo`: back to the previous revision (or `toRevision`). Returns the revision rolled back to. */
  async rollback(kind: string, name: string, options: { toRevision?: number; namespace?: string } = {}): Promise<number> {
    const k = kindOf(kind);
    if (k !== 'Deployment') throw new ApiError('BadRequest', `rollback: only Deployments have a rollout history, not ${k}`);
    const r = await rollbackDeployment(this.store, options.namespace ?? 'default', name, options.toRevision);
    if (!r.ok) throw r.error;
    return r.value.revision;
  }

  /**
   * `kubectl rollout status`: resolves when the Deployment's latest generation is fully
   * rolled out (every replica updated and available, no old one left); throws after
   * `timeoutMs` real ms (default 60,000) or if the rollout exceeded its progress deadline.
   */
  async rolloutStatus(kind: string, name: string, options: { namespace?: string; timeoutMs?: number } = {}): Promise<void> {
    const k = kindOf(kind);
    if (k !== 'Deployment') throw new ApiError('BadRequest', `rollout status: only Deployments have rollouts, not ${k}`);
    await this.waitFor(
      `deployment "${name}" to roll out`,
      () => {
        const d = this.get<KubeObject<{ replicas?: number }, DeploymentStatusLike>>('Deployment', name, options.namespace ?? 'default');
        const st = d.status ?? {};
        const failed = st.conditions?.find((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded');
        if (failed !== undefined) throw new Error(`deployment "${name}" exceeded its progress deadline`);
        const want = d.spec?.replicas ?? 1;
        return (st.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) && (st.updatedReplicas ?? 0) === want && (st.replicas ?? 0) === want && (st.availableReplicas ?? 0) === want;
      },
      { timeoutMs: options.timeoutMs ?? 60_000 },
    );
  }

  // ---------------------------------------------------------------- traffic

  /**
   * `fetch` against the cluster: a Service (`http://web.default.svc/`, `http://web/`, a
   * ClusterIP, or a NodePort on localhost), or a running pod by its IP (`http://10.244.1.2/`,
   * as from inside the cluster).
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const request = new Request(input, init);
    const pod = this.podByIP(new URL(request.url).hostname);
    if (pod === undefined) return this.proxy.fetch(request);
    return fetchOver((port) => this.dial(pod.metadata.namespace ?? 'default', pod.metadata.name ?? '', port), undefined, request);
  }

  /** A byte stream to a Service's port (round-robin over its ready endpoints), or to a running pod's port by its IP. */
  connect(host: string, port: number, options: { namespace?: string } = {}): Promise<ForwardTarget> {
    const pod = this.podByIP(host);
    if (pod !== undefined) return this.dial(pod.metadata.namespace ?? 'default', pod.metadata.name ?? '', port);
    return this.proxy.connect(host, port, options);
  }

  /** The running pod (not being deleted) whose IP is `address`, if any. */
  private podByIP(address: string): Pod | undefined {
    if (parseIPv4(address) === undefined) return undefined;
    return this.list<Pod>('Pod').find((p) => p.status?.podIP === address && p.metadata.deletionTimestamp === undefined && p.status.phase === 'Running');
  }

  /** The NodePorts listening on 127.0.0.1. */
  nodePorts(): ReturnType<ServiceProxy['nodePorts']> {
    return this.proxy.nodePorts();
  }

  /** A byte stream to `port` of a pod, through the kubelet of the node it runs on. */
  async dial(namespace: string, pod: string, port: number): Promise<ForwardTarget> {
    return this.placed(namespace, pod).host.dial(namespace, pod, port);
  }

  /**
   * Where a pod's outbound connect goes when its node does not hold the address: the running pod
   * with that IP, on any node (on the ports its containers declare: skiff listens on
   * those only), or else the service proxy (a Service's cluster IP). Rejects with why it cannot.
   */
  private connectFromPod(address: string, port: number, namespace: string): Promise<ForwardTarget> {
    return this.connect(address, port, { namespace });
  }

  /**
   * A pod's name lookup, as cluster DNS answers it: a Service name (`web`, `web.shop`,
   * `web.shop.svc`, `web.shop.svc.cluster.local`, relative to the pod's namespace) gives
   * its cluster IP; a headless Service's gives its ready pods' IPs. Anything else: none.
   */
  private resolveFromPod(name: string, namespace: string): string[] {
    const svc = this.proxy.lookup(name, namespace);
    if (svc === undefined) return [];
    const ip = svc.spec?.clusterIP;
    if (ip !== undefined && ip !== '' && ip !== 'None') return [ip];
    const ep = this.list<KubeObject & { subsets?: { addresses?: { ip: string }[] }[] }>('Endpoints', { namespace: svc.metadata.namespace ?? 'default' }).find((e) => e.metadata.name === svc.metadata.name);
    return (ep?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip));
  }

  /**
   * `kubectl logs`: what a pod's container (its only one by default) wrote to stdout and
   * stderr in its current run. Rejects when the pod is not running on a live node.
   */
  async logs(pod: string, options: { namespace?: string; container?: string } = {}): Promise<string> {
    const namespace = options.namespace ?? 'default';
    return this.placed(namespace, pod).host.logs(namespace, pod, options.container);
  }

  /** @internal a pod's CPU use (millicores) from its node's last metrics report. */
  podCpuMilli(namespace: string, pod: string): number | undefined {
    let placed: { pod: Pod; host: NodeHost };
    try {
      placed = this.placed(namespace, pod);
    } catch {
      return undefined;
    }
    const uid = placed.pod.metadata.uid;
    return placed.host.metrics().find((x) => x.namespace === namespace && x.name === pod && x.uid === uid)?.cpuMillis;
  }

  /** The pod and the NodeHost of the node it is bound to; throws NotFound, or an Error when it is on no node of this cluster. */
  private placed(namespace: string, pod: string): { pod: Pod; host: NodeHost } {
    const p = this.get<Pod>('Pod', pod, namespace);
    const nodeName = p.spec?.nodeName;
    const host = nodeName === undefined ? undefined : this.hosts.get(nodeName);
    if (host === undefined) throw new Error(`pod ${namespace}/${pod} is not running on a node`);
    return { pod: p, host };
  }

  // ---------------------------------------------------------------- nodes

  /** @internal the NodeHost of `name`; throws NotFound. */
  nodeHost(name: string): NodeHost {
    const h = this.hosts.get(name);
    if (h === undefined) throw new ApiError('NotFound', `nodes "${name}" not found`);
    return h;
  }

  /** @internal */
  nodeHosts(): NodeHost[] {
    return [...this.hosts.values()];
  }

  /** @internal */
  async addNode(options: { name?: string; capacity?: NodeCapacity; labels?: Record<string, string> }): Promise<Node> {
    if (this.stopped) throw new Error('cluster is stopped');
    const index = this.nextIndex++;
    const name = options.name ?? `node-${index + 1}`;
    if (this.hosts.has(name)) throw new ApiError('AlreadyExists', `nodes "${name}" already exists`);
    const capacity = options.capacity ?? this.options.capacity;
    const host = await NodeHost.start({
      name,
      store: this.store,
      images: this.images.store,
      platform: this.platform,
      clock: this.clock,
      claims: this.claims,
      index,
      ...(capacity ? { capacity } : {}),
      ...(options.labels ? { labels: options.labels } : {}),
      ...(this.options.heartbeatSeconds !== undefined ? { heartbeatSeconds: this.options.heartbeatSeconds } : {}),
      ...(this.options.warmThreads !== undefined ? { warmThreads: this.options.warmThreads } : {}),
      onEvent: (e) => void this.recordNodeEvent(e),
      connect: (address, port, namespace) => this.connectFromPod(address, port, namespace),
      resolve: (name, namespace) => this.resolveFromPod(name, namespace),
    });
    this.hosts.set(name, host);
    return this.get<Node>('Node', name, '');
  }

  private async recordNodeEvent(e: { namespace?: string; name?: string; uid?: string; kind?: string; reason: string; message: string; type?: 'Normal' | 'Warning' }): Promise<void> {
    const involved = { apiVersion: 'v1', kind: e.kind ?? 'Pod', metadata: { namespace: e.namespace ?? 'default', name: e.name ?? '', ...(e.uid ? { uid: e.uid } : {}) } };
    await this.nodeEvents.record(involved, e.type ?? 'Normal', e.reason, e.message);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Resolves when the master's controllers have nothing queued and the store is idle. */
  async whenIdle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await Promise.all(this.controllers.map((c) => c.whenIdle()));
      await this.proxy.whenIdle();
      await this.store.whenIdle();
    }
  }

  /**
   * Polls (every `intervalMs` real ms, default 20) until `predicate()` is truthy, and
   * returns its value; throws after `timeoutMs` (default 30,000) naming `what`.
   */
  async waitFor<T>(what: string, predicate: () => T | undefined | false | null, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      const v = predicate();
      if (v !== undefined && v !== false && v !== null) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 20));
    }
  }

  /** Stops the nodes (their containers killed), the controllers and the store. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.proxy.stop();
    await Promise.all([...this.hosts.values()].map((h) => h.stop().catch(() => undefined)));
    for (const c of [...this.controllers].reverse()) await c.stop();
    await this.store.close();
  }

  private key(kind: string, name: string, namespace: string): ObjectKey {
    const k = kindOf(kind);
    return { kind: k, namespace: CLUSTER_SCOPED.has(k) ? '' : namespace, name };
  }
}

/** The platform's host storage under `dir`, or a clear error where it has none. */
function hostStorage<K extends 'files' | 'logFiles'>(platform: Platform, kind: K, dir: string): ReturnType<NonNullable<Platform[K]>> {
  const make = platform[kind];
  if (make === undefined) throw new Error(`Cluster.start: ${dir} needs a host filesystem, which the ${platform.name} platform does not have`);
  return make(dir) as ReturnType<NonNullable<Platform[K]>>;
}

/** Gives a controller without a `name` one (the scheduler, endpoints…). */
function named(name: string, c: { start(): Promise<void>; stop(): Promise<void>; whenIdle(): Promise<void> }): Controller {
  return { name, start: () => c.start(), stop: () => c.stop(), whenIdle: () => c.whenIdle() };
}

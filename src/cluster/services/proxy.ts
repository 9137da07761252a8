/**
 * The service proxy: kube-proxy's job, done in-process. It turns "a Service" into "a byte
 * stream to one of its ready pods", and publishes NodePort Services on the host.
 *
 * Words:
 * - A *service address* is what a client names: `NAME.NAMESPACE.svc.cluster.local`,
 *   `NAME.NAMESPACE.svc`, `NAME.NAMESPACE`, `NAME` (in the proxy's default namespace), or the
 *   Service's cluster IP — plus `localhost`/`127.0.0.1` with a node port, which reaches the
 *   NodePort Service that holds it (how a browser, which has no host sockets, reaches one).
 * - An *endpoint* is one ready address of the Service's `Endpoints` (controllers/endpoints.ts)
 *   for the Service port asked for: a pod (the address's targetRef) and its resolved port.
 *   `notReadyAddresses` are never used.
 * - The *dialer* opens a stream to a pod's port (`PodDialer`, the kubelets' side: it knows
 *   which node runs the pod). Virtual addresses are never dialled with real sockets: the
 *   cluster IP and pod IPs are names here, not routes.
 *
 * Flow of one connection (`connect(host, port)`):
 *   1. the host resolves to a Service and the port to one of its `spec.ports` (by `port`;
 *      by `nodePort` for the localhost form);
 *   2. the Service port's ready endpoints are read from the watched Endpoints;
 *   3. the next one in ROUND-ROBIN order (a counter per Service port) is dialled; if the
 *      dial fails the next is tried, each at most once (kube-proxy's userspace mode);
 *   4. the stream is returned as is: bytes are not inspected.
 * `fetch(url, init)` is a `fetch` over `connect`: plain HTTP/1.1, one request per
 * connection, the sandbox's client (sandbox/network.ts `fetchOver`).
 *
 * Failures are a `ServiceProxyError` with a closed set of reasons (STYLE §6), naming the
 * service: ServiceNotFound (a name or IP no Service has), PortNotFound (the Service has no
 * such port), NoEndpoints (no ready endpoint: kube-proxy rejects the connection, an HTTP
 * client sees connection refused), Unsupported (ExternalName), ConnectionRefused (every
 * endpoint's dial failed). `fetch` rejects as `fetch` does, with a TypeError whose `cause`
 * is that error.
 *
 * NodePorts: for each port of a NodePort or LoadBalancer Service that has a `nodePort`,
 * `Platform.publish` opens a real listener on `nodePortAddress` (127.0.0.1) at that port;
 * each accepted connection goes to an endpoint, round-robin, as above. The listener closes
 * when the Service (or the port) goes away and when the proxy stops. Without
 * `platform.publish` (a browser) no listener is opened; the localhost form still works.
 */
import type { ForwardTarget, Platform, PublishedPort } from '../../platform/platform.js';
import { fetchOver } from '../../sandbox/network.js';
import { Informer, objectKey, splitKey } from '../controllers/informer.js';
import { parseIPv4 } from '../controllers/service-ip.js';
import type { Endpoints, Service, ServicePort } from '../objects/core.js';
import type { ObjectReader, ObjectWatcher } from '../store/store.js';

/** Opens a byte stream to `port` of pod `namespace/pod`; rejects when it cannot (not running, nobody listening). */
export interface PodDialer {
  dial(namespace: string, pod: string, port: number): Promise<ForwardTarget>;
}

export type ServiceProxyErrorReason = 'ServiceNotFound' | 'PortNotFound' | 'NoEndpoints' | 'Unsupported' | 'ConnectionRefused';

/** Why a connection to a service address failed (see the file comment). */
export class ServiceProxyError extends Error {
  constructor(
    readonly reason: ServiceProxyErrorReason,
    message: string,
    /** `namespace/name` of the Service, when the address resolved to one. */
    readonly service: string | undefined,
    readonly host: string,
    readonly port: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ServiceProxyError';
  }
}

export interface ServiceProxyOptions {
  readonly store: ObjectReader & ObjectWatcher;
  readonly dialer: PodDialer;
  /** For NodePort listeners (`platform.publish`); none: NodePorts are reachable in-process only. */
  readonly platform?: Platform;
  /** Namespace of a bare `NAME` (default `default`). */
  readonly namespace?: string;
  /** Cluster DNS domain (default `cluster.local`). */
  readonly clusterDomain?: string;
  /** Loopback address NodePorts listen on (default 127.0.0.1). */
  readonly nodePortAddress?: string;
  /** Reports a NodePort that could not be opened (e.g. the host port is taken); default console.error. */
  readonly onError?: (what: string, error: unknown) => void;
}

/** An open NodePort listener. */
export interface NodePortBinding {
  readonly nodePort: number;
  readonly address: string;
  /** `namespace/name` of the Service. */
  readonly service: string;
  /** The Service port it forwards to (`spec.ports[].port`). */
  readonly port: number;
}

/** One ready endpoint of a Service port. */
export interface ServiceEndpoint {
  readonly namespace: string;
  readonly pod: string;
  readonly ip: string;
  readonly port: number;
}

interface Listener {
  readonly target: string;
  readonly service: string;
  readonly port: number;
  readonly published: PublishedPort;
}

const LOCALHOST = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export class ServiceProxy {
  private readonly store: ObjectReader & ObjectWatcher;
  private readonly dialer: PodDialer;
  private readonly platform: Platform | undefined;
  private readonly namespace: string;
  private readonly clusterDomain: string;
  private readonly nodePortAddress: string;
  private readonly onError: (what: string, error: unknown) => void;
  private readonly services: Informer<Service>;
  private readonly endpoints: Informer<Endpoints>;
  private readonly next = new Map<string, number>();
  private readonly listeners = new Map<number, Listener>();
  private syncing: Promise<void> = Promise.resolve();
  private syncQueued = false;
  private started = false;
  private stopped = false;

  constructor(options: ServiceProxyOptions) {
    this.store = options.store;
    this.dialer = options.dialer;
    this.platform = options.platform;
    this.namespace = options.namespace ?? 'default';
    this.clusterDomain = (options.clusterDomain ?? 'cluster.local').toLowerCase().replace(/^\.|\.$/g, '');
    this.nodePortAddress = options.nodePortAddress ?? '127.0.0.1';
    this.onError = options.onError ?? ((what, e) => console.error(`skiff: service proxy: ${what}:`, e));
    this.services = new Informer<Service>(this.store, 'Service');
    this.endpoints = new Informer<Endpoints>(this.store, 'Endpoints');
  }

  /** Watches Services and Endpoints and opens the NodePort listeners. Idempotent. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.services.on(() => this.scheduleSync());
    await this.services.start();
    await this.endpoints.start();
    this.scheduleSync();
    await this.syncing;
  }

  /** Stops watching and closes every NodePort listener (and the connections through them). Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.services.stop(), this.endpoints.stop()]);
    await this.syncing;
    const open = [...this.listeners.values()];
    this.listeners.clear();
    await Promise.all(open.map((l) => l.published.close()));
  }

  /** Resolves once the NodePort listeners match the Services seen so far. */
  async whenIdle(): Promise<void> {
    for (let quiet = 0; quiet < 3; ) {
      const s = this.syncing;
      await s;
      await new Promise<void>((r) => setTimeout(r, 0));
      quiet = s === this.syncing && !this.syncQueued ? quiet + 1 : 0;
    }
  }

  /** The open NodePort listeners. */
  nodePorts(): NodePortBinding[] {
    return [...this.listeners.entries()].map(([nodePort, l]) => ({ nodePort, address: l.published.address, service: l.service, port: l.port }));
  }

  /**
   * The Service a host name or cluster IP names (see the file comment), or undefined.
   * `namespace`: the namespace of a bare NAME (default: the proxy's).
   */
  lookup(host: string, namespace = this.namespace): Service | undefined {
    const h = host.toLowerCase().replace(/\.$/, '');
    if (parseIPv4(h) !== undefined) return this.services.list((s) => s.spec?.clusterIP === h || (s.spec?.clusterIPs ?? []).includes(h))[0];
    let parts = h.split('.');
    const domain = this.clusterDomain.split('.');
    if (parts.length === 3 + domain.length && parts.slice(3).join('.') === this.clusterDomain) parts = parts.slice(0, 3);
    if (parts.length === 3 && parts[2] !== 'svc') return undefined;
    if (parts.length === 1) return this.services.get(namespace, parts[0] as string);
    if (parts.length === 2 || parts.length === 3) return this.services.get(parts[1] as string, parts[0] as string);
    return undefined;
  }

  /**
   * The ready endpoints of `service`'s port `servicePort` (its `spec.ports[].port`), in
   * the order round-robin walks them.
   */
  endpointsOf(service: Service, servicePort: ServicePort): ServiceEndpoint[] {
    const ep = this.endpoints.get(service.metadata.namespace ?? 'default', service.metadata.name ?? '');
    const out: ServiceEndpoint[] = [];
    const single = (service.spec?.ports ?? []).length === 1;
    for (const subset of ep?.subsets ?? []) {
      const port = (subset.ports ?? []).find((p) => (p.name ?? '') === (servicePort.name ?? '') || (single && (subset.ports ?? []).length === 1));
      if (port === undefined) continue;
      for (const a of subset.addresses ?? []) {
        const ref = a.targetRef;
        if (ref?.name === undefined || (ref.kind !== undefined && ref.kind !== 'Pod')) continue;
        out.push({ namespace: ref.namespace ?? service.metadata.namespace ?? 'default', pod: ref.name, ip: a.ip, port: port.port });
      }
    }
    return out;
  }

  /**
   * A byte stream to one ready endpoint of the Service that `host` names, on its port
   * `port`, picked round-robin (see the file comment). Rejects with a ServiceProxyError.
   */
  async connect(host: string, port: number, options: { readonly namespace?: string } = {}): Promise<ForwardTarget> {
    const h = host.toLowerCase().replace(/\.$/, '');
    let svc: Service | undefined;
    let servicePort: ServicePort | undefined;
    if (LOCALHOST.has(h)) {
      svc = this.services.list((s) => (s.spec?.ports ?? []).some((p) => p.nodePort === port))[0];
      if (svc === undefined) throw new ServiceProxyError('ServiceNotFound', `connect ${host}:${port}: connection refused: no NodePort Service has node port ${port}`, undefined, host, port);
      servicePort = (svc.spec?.ports ?? []).find((p) => p.nodePort === port);
    } else {
      svc = this.lookup(h, options.namespace);
      if (svc === undefined) {
        throw new ServiceProxyError(
          'ServiceNotFound',
          `connect ${host}:${port}: no such service: ${JSON.stringify(host)} names no Service (use NAME, NAME.NAMESPACE, NAME.NAMESPACE.svc[.${this.clusterDomain}] or a cluster IP)`,
          undefined,
          host,
          port,
        );
      }
      servicePort = (svc.spec?.ports ?? []).find((p) => p.port === port && (p.protocol ?? 'TCP') === 'TCP');
    }
    return this.connectTo(svc, servicePort, host, port);
  }

  /**
   * `fetch` through the proxy: `http://web/`, `http://web.shop.svc.cluster.local:8080/x`,
   * `http://10.96.0.1/`. Plain HTTP/1.1 (no https). Rejects as `fetch` does: a TypeError
   * whose `cause` is the ServiceProxyError (or the HTTP client's error).
   */
  async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const request = new Request(input, init);
    const hostname = new URL(request.url).hostname;
    try {
      return await fetchOver((port) => this.connect(hostname, port), undefined, request);
    } catch (e) {
      if (e instanceof TypeError && e.cause instanceof ServiceProxyError) throw new TypeError(`fetch failed: ${e.cause.message}`, { cause: e.cause });
      throw e;
    }
  }

  private async connectTo(svc: Service, servicePort: ServicePort | undefined, host: string, port: number): Promise<ForwardTarget> {
    const key = objectKey(svc);
    if (svc.spec?.type === 'ExternalName') {
      throw new ServiceProxyError('Unsupported', `connect ${host}:${port}: service ${key} is an ExternalName service (${svc.spec.externalName ?? ''}); skiff resolves no external names`, key, host, port);
    }
    if (servicePort === undefined) {
      const ports = (svc.spec?.ports ?? []).map((p) => p.port).join(', ');
      throw new ServiceProxyError('PortNotFound', `connect ${host}:${port}: connection refused: service ${key} has no port ${port} (its ports: ${ports || 'none'})`, key, host, port);
    }
    const endpoints = this.endpointsOf(svc, servicePort);
    if (endpoints.length === 0) {
      throw new ServiceProxyError('NoEndpoints', `connect ${host}:${port}: connection refused: service ${key} has no ready endpoints for port ${servicePort.port}`, key, host, port);
    }
    const rrKey = `${key}:${servicePort.port}`;
    const start = this.next.get(rrKey) ?? 0;
    this.next.set(rrKey, (start + 1) % endpoints.length);
    let lastError: unknown;
    for (let i = 0; i < endpoints.length; i++) {
      const ep = endpoints[(start + i) % endpoints.length] as ServiceEndpoint;
      try {
        const target = await this.dialer.dial(ep.namespace, ep.pod, ep.port);
        if (i > 0) this.next.set(rrKey, (start + i + 1) % endpoints.length);
        return target;
      } catch (e) {
        lastError = e;
      }
    }
    throw new ServiceProxyError('ConnectionRefused', `connect ${host}:${port}: connection refused: no endpoint of service ${key} accepted (${endpoints.length} tried)`, key, host, port, { cause: lastError });
  }

  private scheduleSync(): void {
    if (this.syncQueued || this.stopped) return;
    this.syncQueued = true;
    this.syncing = this.syncing.then(async () => {
      this.syncQueued = false;
      if (!this.stopped) await this.syncNodePorts();
    });
  }

  /** Opens and closes NodePort listeners to match the Services. */
  private async syncNodePorts(): Promise<void> {
    const publish = this.platform?.publish;
    const wanted = new Map<number, { target: string; service: string; port: number }>();
    if (publish !== undefined) {
      for (const svc of this.services.list((s) => s.spec?.type === 'NodePort' || s.spec?.type === 'LoadBalancer')) {
        for (const p of svc.spec?.ports ?? []) {
          if (!p.nodePort || (p.protocol ?? 'TCP') !== 'TCP' || wanted.has(p.nodePort)) continue;
          const service = objectKey(svc);
          wanted.set(p.nodePort, { target: `${svc.metadata.uid ?? ''}/${service}:${p.port}`, service, port: p.port });
        }
      }
    }
    const closing: Promise<void>[] = [];
    for (const [nodePort, l] of this.listeners) {
      if (wanted.get(nodePort)?.target === l.target) continue;
      this.listeners.delete(nodePort);
      closing.push(l.published.close());
    }
    await Promise.all(closing);
    if (publish === undefined) return;
    for (const [nodePort, w] of wanted) {
      if (this.listeners.has(nodePort) || this.stopped) continue;
      const { namespace, name } = splitKey(w.service);
      try {
        const published = await publish({
          address: this.nodePortAddress,
          port: nodePort,
          connect: () => this.connectNodePort(namespace, name, w.port),
        });
        if (this.stopped) await published.close();
        else this.listeners.set(nodePort, { ...w, published });
      } catch (e) {
        this.onError(`cannot open node port ${this.nodePortAddress}:${nodePort} for service ${w.service}`, e);
      }
    }
  }

  /** A host connection arriving at a node port: to an endpoint of the Service as it is now; undefined refuses it. */
  private async connectNodePort(namespace: string, name: string, port: number): Promise<ForwardTarget | undefined> {
    const svc = this.services.get(namespace, name);
    if (svc === undefined) return undefined;
    try {
      return await this.connectTo(
        svc,
        (svc.spec?.ports ?? []).find((p) => p.port === port),
        this.nodePortAddress,
        port,
      );
    } catch {
      return undefined;
    }
  }
}

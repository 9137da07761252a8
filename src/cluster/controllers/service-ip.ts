/**
 * Service address allocation: what Kubernetes' API server does in the Service registry
 * (pkg/registry/core/service/ipallocator and portallocator) plus its repair loops.
 *
 * - A *cluster IP* comes from `serviceClusterIPRange` (default 10.96.0.0/12, kube's
 *   `--service-cluster-ip-range` default in kubeadm), for every Service but ExternalName
 *   ones; `spec.clusterIP: None` (headless) is kept and takes no address. The network and
 *   broadcast addresses are never given out. `spec.clusterIP` and `spec.clusterIPs` are set.
 * - A *node port* comes from `nodePortRange` (default 30000–32767, kube's
 *   `--service-node-port-range`) for each port of a NodePort or LoadBalancer Service
 *   without one (`spec.ports[].nodePort`).
 * - A requested address or port is checked: outside the range or held by another Service
 *   is Invalid, worded as the API server words it (`provided IP is already allocated`).
 * - Everything a Service holds is released when it is deleted (or when an update drops a
 *   node port, e.g. type NodePort → ClusterIP). An update that drops `clusterIP` gets the
 *   same address back (the API server keeps it immutable).
 *
 * Addresses and ports are handed out in order from a cursor that moves past the last one
 * given (so a released one is not reused at once), which keeps runs deterministic.
 *
 * Two ways in:
 * - `create(service)`: admission — allocates, then stores; a create that fails releases
 *   what it took. This is how the cluster's client API creates Services.
 * - the controller loop, for Services that reached the store some other way (a manifest
 *   applied straight to the store, a store recovered from its log): on start it first
 *   marks what every stored Service holds (kube's repair loop), then gives the missing
 *   ones addresses with an update, and releases on delete.
 */
import { ApiError } from '../api/types.js';
import type { Clock } from '../clock.js';
import type { Service, ServicePort } from '../objects/core.js';
import type { Result, Store, Stored } from '../store/store.js';
import { whenQueueIdle } from './idle.js';
import { Informer, objectKey, splitKey, WorkQueue, type ReconcileResult } from './informer.js';
import { formatIPv4, parseIPv4 } from '../../sandbox/net/ipv4.js';

/** Kubernetes' default service CIDR (kubeadm's `networking.serviceSubnet`). */
export const DEFAULT_SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/12';
/** Kubernetes' default `--service-node-port-range`. */
export const DEFAULT_NODE_PORT_RANGE: NodePortRange = { min: 30000, max: 32767 };

export interface NodePortRange {
  readonly min: number;
  readonly max: number;
}

export interface ServiceAllocatorOptions {
  /** IPv4 CIDR the cluster IPs come from (default 10.96.0.0/12). */
  readonly serviceClusterIPRange?: string;
  /** Inclusive node port range (default 30000–32767). */
  readonly nodePortRange?: NodePortRange;
}

interface Holding {
  ip: number | undefined;
  /** `port/protocol` → node port. */
  nodePorts: Map<string, number>;
}

const portKey = (p: ServicePort): string => `${p.port}/${p.protocol ?? 'TCP'}`;

/**
 * The allocation tables (pure bookkeeping, no I/O). Holdings are by Service key
 * (`namespace/name`); `allocate` is idempotent for a Service that already holds what it asks.
 */
export class ServiceAllocator {
  readonly cidr: string;
  private readonly base: number;
  private readonly size: number;
  private readonly ports: NodePortRange;
  private readonly ipOwner = new Map<number, string>();
  private readonly portOwner = new Map<number, string>();
  private readonly holdings = new Map<string, Holding>();
  private ipCursor = 1;
  private portCursor: number;

  constructor(options: ServiceAllocatorOptions = {}) {
    this.cidr = options.serviceClusterIPRange ?? DEFAULT_SERVICE_CLUSTER_IP_RANGE;
    const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(this.cidr);
    const bits = m ? Number(m[2]) : NaN;
    const addr = m ? parseIPv4(m[1] as string) : undefined;
    if (addr === undefined || !(bits >= 1 && bits <= 30)) throw new Error(`serviceClusterIPRange ${JSON.stringify(this.cidr)}: expected an IPv4 CIDR with a prefix of 1–30 bits, e.g. 10.96.0.0/12`);
    this.size = 2 ** (32 - bits);
    this.base = addr - (addr % this.size);
    this.ports = options.nodePortRange ?? DEFAULT_NODE_PORT_RANGE;
    if (!(Number.isInteger(this.ports.min) && Number.isInteger(this.ports.max) && this.ports.min >= 1 && this.ports.min <= this.ports.max && this.ports.max <= 65535)) {
      throw new Error(`nodePortRange ${this.ports.min}-${this.ports.max}: expected 1 <= min <= max <= 65535`);
    }
    this.portCursor = this.ports.min;
  }

  /** Cluster IPs handed out. */
  get allocatedIPs(): number {
    return this.ipOwner.size;
  }

  /** Node ports handed out. */
  get allocatedNodePorts(): number {
    return this.portOwner.size;
  }

  /** Who holds `ip` (a Service key), if anyone. */
  ipHolder(ip: string): string | undefined {
    const n = parseIPv4(ip);
    return n === undefined ? undefined : this.ipOwner.get(n);
  }

  /** Who holds `nodePort`, if anyone. */
  nodePortHolder(nodePort: number): string | undefined {
    return this.portOwner.get(nodePort);
  }

  /**
   * Gives `svc` (keyed `key`) what it lacks and records what it holds: the Service with
   * `spec.clusterIP`/`clusterIPs` and `spec.ports[].nodePort` filled in, or Invalid when a
   * requested address or port is out of range or held by another Service (then nothing changes).
   */
  allocate(key: string, svc: Service): Result<Service> {
    const spec = svc.spec ?? {};
    const type = spec.type ?? 'ClusterIP';
    const held = this.holdings.get(key);
    const invalid = (field: string, value: unknown, why: string): Result<Service> => ({
      ok: false,
      error: new ApiError('Invalid', `Service ${JSON.stringify(svc.metadata.name ?? '')} is invalid: ${field}: Invalid value: ${JSON.stringify(value)}: ${why}`, field),
    });

    // Cluster IP.
    let ip: number | undefined;
    const headless = spec.clusterIP === 'None' || (!spec.clusterIP && spec.clusterIPs?.[0] === 'None');
    const wantsIP = type !== 'ExternalName' && !headless;
    if (wantsIP) {
      const requested = spec.clusterIP || spec.clusterIPs?.[0];
      if (requested) {
        const n = parseIPv4(requested);
        if (n === undefined || n <= this.base || n >= this.base + this.size - 1) {
          return invalid('spec.clusterIPs', [requested], `failed to allocate IP ${requested}: the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${this.cidr}`);
        }
        const owner = this.ipOwner.get(n);
        if (owner !== undefined && owner !== key) return invalid('spec.clusterIPs', [requested], `failed to allocate IP ${requested}: provided IP is already allocated`);
        ip = n;
      } else if (held?.ip !== undefined) ip = held.ip;
      else {
        ip = this.nextIP();
        if (ip === undefined) return invalid('spec.clusterIPs', [], `failed to allocate a service IP: range is full (${this.cidr})`);
      }
    }

    // Node ports.
    const nodePorts = new Map<string, number>();
    const taken = new Set<number>();
    const ports = spec.ports ?? [];
    const wantsNodePorts = type === 'NodePort' || type === 'LoadBalancer';
    if (wantsNodePorts) {
      for (const [i, p] of ports.entries()) {
        if (!p.nodePort) continue;
        const field = `spec.ports[${i}].nodePort`;
        if (p.nodePort < this.ports.min || p.nodePort > this.ports.max) {
          return invalid(field, p.nodePort, `provided port is not in the valid range. The range of valid ports is ${this.ports.min}-${this.ports.max}`);
        }
        const owner = this.portOwner.get(p.nodePort);
        if ((owner !== undefined && owner !== key) || taken.has(p.nodePort)) return invalid(field, p.nodePort, 'provided port is already allocated');
        taken.add(p.nodePort);
        nodePorts.set(portKey(p), p.nodePort);
      }
      for (const p of ports) {
        if (p.nodePort) continue;
        const previous = held?.nodePorts.get(portKey(p));
        let n = previous !== undefined && !taken.has(previous) ? previous : undefined;
        n ??= this.nextPort(taken);
        if (n === undefined) return invalid('spec.ports', ports.length, `failed to allocate a node port: range is full (${this.ports.min}-${this.ports.max})`);
        taken.add(n);
        nodePorts.set(portKey(p), n);
      }
    }

    // Commit: release what the Service no longer holds, record what it holds now.
    this.release(key);
    const holding: Holding = { ip, nodePorts };
    if (ip !== undefined) this.ipOwner.set(ip, key);
    for (const n of nodePorts.values()) this.portOwner.set(n, key);
    if (ip !== undefined || nodePorts.size > 0) this.holdings.set(key, holding);

    const ipText = ip === undefined ? undefined : formatIPv4(ip);
    const newSpec = {
      ...spec,
      ...(ipText !== undefined ? { clusterIP: ipText, clusterIPs: [ipText] } : {}),
      ...(wantsNodePorts ? { ports: ports.map((p) => ({ ...p, nodePort: nodePorts.get(portKey(p)) as number })) } : {}),
    };
    return { ok: true, value: { ...svc, spec: newSpec } };
  }

  /** Frees everything `key` holds. Idempotent. */
  release(key: string): void {
    const held = this.holdings.get(key);
    if (held === undefined) return;
    this.holdings.delete(key);
    if (held.ip !== undefined && this.ipOwner.get(held.ip) === key) this.ipOwner.delete(held.ip);
    for (const n of held.nodePorts.values()) if (this.portOwner.get(n) === key) this.portOwner.delete(n);
  }

  private nextIP(): number | undefined {
    const usable = this.size - 2;
    for (let i = 0; i < usable; i++) {
      const offset = ((this.ipCursor - 1 + i) % usable) + 1;
      if (!this.ipOwner.has(this.base + offset)) {
        this.ipCursor = (offset % usable) + 1;
        return this.base + offset;
      }
    }
    return undefined;
  }

  private nextPort(taken: ReadonlySet<number>): number | undefined {
    const span = this.ports.max - this.ports.min + 1;
    for (let i = 0; i < span; i++) {
      const n = this.ports.min + ((this.portCursor - this.ports.min + i) % span);
      if (!this.portOwner.has(n) && !taken.has(n)) {
        this.portCursor = this.ports.min + ((n - this.ports.min + 1) % span);
        return n;
      }
    }
    return undefined;
  }
}

export interface ServiceIPControllerOptions extends ServiceAllocatorOptions {
  readonly store: Store;
  readonly clock: Clock;
  /** Reports a failed reconcile, or a stored Service whose address cannot be honoured; default console.error. */
  readonly onError?: (key: string, error: unknown) => void;
}

/** Allocates cluster IPs and node ports (see the file comment). */
export class ServiceIPController {
  /** For logs and errors (the `Controller` shape of controller.ts). */
  readonly name = 'service-ip';
  readonly allocator: ServiceAllocator;
  private readonly store: Store;
  private readonly services: Informer<Service>;
  private readonly queue: WorkQueue;
  private readonly onError: (key: string, error: unknown) => void;
  private started = false;

  constructor(options: ServiceIPControllerOptions) {
    this.store = options.store;
    this.allocator = new ServiceAllocator(options);
    this.onError = options.onError ?? ((k, e) => console.error(`skiff: service ${k}:`, e));
    this.services = new Informer<Service>(options.store, 'Service');
    this.queue = new WorkQueue((key) => this.reconcile(key), { clock: options.clock, onError: this.onError });
  }

  /**
   * Marks what every stored Service holds (oldest first, so a later duplicate is the one
   * refused), then watches and fills in what is missing. Idempotent.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const listed = this.store.list<Service>('Service');
    if (!listed.ok) throw listed.error;
    const byAge = [...listed.value.items].sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
    for (const svc of byAge) {
      const s = svc.spec ?? {};
      const holds = (s.clusterIP && s.clusterIP !== 'None') || s.ports?.some((p) => p.nodePort);
      if (holds) {
        const r = this.allocator.allocate(objectKey(svc), svc);
        if (!r.ok) this.onError(objectKey(svc), r.error);
      }
    }
    this.services.on((_type, svc) => this.queue.add(objectKey(svc)));
    await this.services.start();
  }

  async stop(): Promise<void> {
    this.queue.stop();
    await this.services.stop();
  }

  whenIdle(): Promise<void> {
    return whenQueueIdle(this.queue);
  }

  /**
   * Admission and create in one: allocates what `svc` lacks (Invalid if a requested
   * address or port is taken or out of range), then `store.create`; on a failed create
   * the allocation is released. AlreadyExists when a Service of that name exists.
   */
  async create(svc: Service): Promise<Result<Stored<Service>>> {
    const namespace = svc.metadata.namespace || 'default';
    const name = svc.metadata.name ?? '';
    const key = `${namespace}/${name}`;
    if (name !== '' && this.store.get({ kind: 'Service', namespace, name }).ok) {
      return { ok: false, error: new ApiError('AlreadyExists', `services ${JSON.stringify(name)} already exists`) };
    }
    if (name === '') return this.store.create(svc); // generateName: the controller allocates once it is stored
    const allocated = this.allocator.allocate(key, svc);
    if (!allocated.ok) return allocated;
    const r = await this.store.create(allocated.value);
    if (!r.ok) this.allocator.release(key);
    return r;
  }

  /** Gives Service `key` its addresses if it lacks them; releases them once it is gone. */
  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const got = this.store.get<Service>({ kind: 'Service', namespace, name });
    if (!got.ok) {
      if (got.error.reason !== 'NotFound') throw got.error;
      this.allocator.release(key);
      return;
    }
    const svc = got.value;
    if (svc.metadata.deletionTimestamp !== undefined) return;
    const allocated = this.allocator.allocate(key, svc);
    if (!allocated.ok) {
      // A stored Service asking for an address another holds: nothing to retry until it changes.
      this.onError(key, allocated.error);
      return;
    }
    if (JSON.stringify(allocated.value.spec) === JSON.stringify(svc.spec)) return;
    const r = await this.store.update(allocated.value);
    if (!r.ok) throw r.error;
  }
}

export { formatIPv4, parseIPv4 };

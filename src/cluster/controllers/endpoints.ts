/**
 * The endpoints controller (kube-controller-manager's `endpoint` controller): for every
 * Service with a selector, an `Endpoints` object of the same namespace and name whose
 * subsets list the pods the selector matches —
 * - `addresses`: pods with a `status.podIP` and condition Ready=True (traffic goes there);
 * - `notReadyAddresses`: pods with a podIP that are not ready (listed, never sent traffic);
 *   with `spec.publishNotReadyAddresses` every such pod counts as ready, as in Kubernetes;
 * - pods without a podIP, terminating pods (deletionTimestamp set) and finished pods
 *   (phase Succeeded or Failed) are left out;
 * - each Service port becomes an `EndpointPort` named after it, its number the port's
 *   `targetPort` resolved per pod: a number as is, a name through the pod's containers'
 *   `ports[].name` (same protocol); a pod lacking that named port is left out of that
 *   port. Addresses with the same resolved ports share a subset (Kubernetes' RepackSubsets),
 *   addresses sorted by IP, so the object is the same whatever order pods arrive in.
 *
 * Services without a selector (or with an empty one) are not touched (their Endpoints are
 * the user's). When a
 * Service is deleted its Endpoints are deleted. Level-triggered: `reconcile(key)` reads the
 * Service, the pods and the current Endpoints from the informers/store and writes only a
 * difference; running it twice is harmless. A write that fails (a Conflict) is retried by
 * the work queue with back-off.
 */
import type { Clock } from '../clock.js';
import type { EndpointAddress, EndpointPort, Endpoints, EndpointSubset, Pod, Service, ServicePort } from '../objects/core.js';
import type { Store } from '../store/store.js';
import { whenQueueIdle } from './idle.js';
import { Informer, objectKey, splitKey, WorkQueue, type ReconcileResult } from './informer.js';

export interface EndpointsControllerOptions {
  readonly store: Store;
  /** Cluster time for the work queue's retry back-off. */
  readonly clock: Clock;
  /** Reports a reconcile that failed (it is retried); default console.error. */
  readonly onError?: (key: string, error: unknown) => void;
}

/** Label Kubernetes puts on the Endpoints of a headless Service. */
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';

export class EndpointsController {
  /** For logs and errors (the `Controller` shape of controller.ts). */
  readonly name = 'endpoints';
  private readonly store: Store;
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly queue: WorkQueue;
  private started = false;

  constructor(options: EndpointsControllerOptions) {
    this.store = options.store;
    this.services = new Informer<Service>(options.store, 'Service');
    this.pods = new Informer<Pod>(options.store, 'Pod');
    this.queue = new WorkQueue((key) => this.reconcile(key), { clock: options.clock, ...(options.onError ? { onError: options.onError } : {}) });
  }

  /** Lists and watches Services and Pods, and reconciles every Service. Idempotent. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.services.on((_type, svc) => this.queue.add(objectKey(svc)));
    this.pods.on((_type, pod, old) => {
      this.enqueueServicesOf(pod);
      if (old !== undefined && old !== pod) this.enqueueServicesOf(old);
    });
    await this.services.start();
    await this.pods.start();
    // Endpoints whose Service disappeared while nobody watched.
    const stale = this.store.list<Endpoints>('Endpoints');
    if (stale.ok) for (const ep of stale.value.items) if (this.services.getByKey(objectKey(ep)) === undefined) this.queue.add(objectKey(ep));
  }

  /** Stops watching and reconciling. Idempotent. */
  async stop(): Promise<void> {
    this.queue.stop();
    await Promise.all([this.services.stop(), this.pods.stop()]);
  }

  /** Resolves when every change seen so far has been reconciled (see idle.ts). */
  whenIdle(): Promise<void> {
    return whenQueueIdle(this.queue);
  }

  private enqueueServicesOf(pod: Pod): void {
    const ns = pod.metadata.namespace ?? 'default';
    for (const svc of this.services.list((s) => (s.metadata.namespace ?? 'default') === ns && s.spec?.selector !== undefined)) {
      if (selects(svc, pod)) this.queue.add(objectKey(svc));
    }
  }

  /** Makes the Endpoints of Service `key` (`namespace/name`) match its pods. */
  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const epKey = { kind: 'Endpoints', namespace, name };
    const svc = this.services.get(namespace, name);
    const current = this.store.get<Endpoints>(epKey);
    if (svc === undefined) {
      if (current.ok) {
        const r = await this.store.delete(epKey);
        if (!r.ok && r.error.reason !== 'NotFound') throw r.error;
      }
      return;
    }
    // No selector (or an empty one, which Kubernetes stores as none): the Endpoints are the user's.
    if (Object.keys(svc.spec?.selector ?? {}).length === 0 || svc.spec?.type === 'ExternalName') return;
    const pods = this.pods.list((p) => (p.metadata.namespace ?? 'default') === namespace && selects(svc, p));
    const subsets = endpointSubsets(svc, pods);
    const labels = { ...(svc.metadata.labels ?? {}), ...(svc.spec?.clusterIP === 'None' ? { [HEADLESS_LABEL]: '' } : {}) };
    if (current.ok) {
      const ep = current.value;
      if (sameJSON(ep.subsets ?? [], subsets) && sameJSON(ep.metadata.labels ?? {}, labels)) return;
      const r = await this.store.update<Endpoints>({ ...ep, metadata: { ...ep.metadata, labels }, subsets });
      if (!r.ok) throw r.error;
      return;
    }
    const r = await this.store.create<Endpoints>({ apiVersion: 'v1', kind: 'Endpoints', metadata: { namespace, name, labels }, subsets });
    if (!r.ok) throw r.error;
  }
}

/** Whether `svc`'s selector (an equality map; empty selects nothing, as for Endpoints) matches `pod`. */
function selects(svc: Service, pod: Pod): boolean {
  const sel = svc.spec?.selector;
  if (sel === undefined) return false;
  const entries = Object.entries(sel);
  if (entries.length === 0) return false;
  const labels = pod.metadata.labels ?? {};
  return entries.every(([k, v]) => labels[k] === v);
}

/** Whether a pod's condition Ready is True. */
export function isPodReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * The port a Service port sends to on `pod` (Kubernetes' `podutil.FindPort`): a numeric
 * targetPort as is (default: the port), a named one through the containers' ports with
 * that name and protocol; undefined when the pod has no such named port.
 */
export function resolveTargetPort(pod: Pod, port: ServicePort): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target === 0 ? port.port : target;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = port.protocol ?? 'TCP';
  for (const c of pod.spec.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  return undefined;
}

/** The subsets of `svc`'s Endpoints given the pods its selector matches (see the file comment). */
export function endpointSubsets(svc: Service, pods: readonly Pod[]): EndpointSubset[] {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const servicePorts = svc.spec?.ports ?? [];
  const groups = new Map<string, { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }>();
  for (const pod of pods) {
    const ip = pod.status?.podIP;
    if (!ip || pod.metadata.deletionTimestamp !== undefined) continue;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const ports: EndpointPort[] = [];
    for (const sp of servicePorts) {
      const port = resolveTargetPort(pod, sp);
      if (port === undefined) continue;
      ports.push({ ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol ?? 'TCP', ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) });
    }
    // A pod that serves none of several ports has nothing to offer; with no Service ports (headless), list it bare.
    if (servicePorts.length > 0 && ports.length === 0) continue;
    ports.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.port - b.port);
    const groupKey = JSON.stringify(ports);
    let group = groups.get(groupKey);
    if (group === undefined) groups.set(groupKey, (group = { ports, ready: [], notReady: [] }));
    const address: EndpointAddress = {
      ip,
      ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      targetRef: { kind: 'Pod', namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name ?? '', ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}) },
    };
    (publishNotReady || isPodReady(pod) ? group.ready : group.notReady).push(address);
  }
  const byIP = (a: EndpointAddress, b: EndpointAddress): number => compareIP(a.ip, b.ip) || (a.targetRef?.name ?? '').localeCompare(b.targetRef?.name ?? '');
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, g]) => ({
      ...(g.ready.length ? { addresses: g.ready.sort(byIP) } : {}),
      ...(g.notReady.length ? { notReadyAddresses: g.notReady.sort(byIP) } : {}),
      ...(g.ports.length ? { ports: g.ports } : {}),
    }));
}

/** Orders dotted IPv4 addresses numerically, anything else as strings after them. */
function compareIP(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  if (pa.length === 4 && pb.length === 4 && !pa.some(Number.isNaN) && !pb.some(Number.isNaN)) {
    for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return (pa[i] as number) - (pb[i] as number);
    return 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function sameJSON(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The kubelet: the thread side of a cluster node. It runs the pods the master binds to
 * its node through a container `Runtime` of its own (whose container threads are nested
 * workers of this thread), and reports what it sees. It talks to the master only by the
 * messages of protocol.ts; node-host.ts is the master's end.
 *
 * One pod, as Kubernetes' kubelet does it (level-triggered: every `pods` message is the
 * whole desired set; a pod not in it is stopped and forgotten):
 *   1. Pending: images pulled (`pull` → the master's `ImageStore.save` → this thread's
 *      `ImageStore.load`; reason `ErrImagePull`, then retried), volumes made (emptyDir: an
 *      in-memory filesystem of this thread, shared by the pod's containers; configMap and
 *      secret: a read-only in-memory filesystem with a file per key; persistentVolumeClaim:
 *      the claim's files, which live on the master and are served to this thread over the
 *      synchronous volume channel, so they outlive the pod and the node), a pod IP given
 *      (`10.244.<node>.<n>`).
 *   2. Init containers, in order, each to completion; then each container created (image, command → entrypoint, args → cmd, env with
 *      `valueFrom`/`envFrom` and `$(VAR)` expansion, workingDir, `ports[].containerPort`
 *      → listening sockets, `resources.limits.memory` → the memory limit) and started.
 *   3. Probes (startup, then liveness and readiness; httpGet and tcpSocket over the
 *      container's virtual ports, exec through `Runtime.exec`) with Kubernetes' timing
 *      fields and defaults. A failed liveness or startup probe kills the container.
 *   4. A container that exits is restarted per `restartPolicy` (Always; OnFailure when its
 *      exit code is not 0; Never) after Kubernetes' back-off: 10 s, doubling to 5 min,
 *      back to 10 s once a run lasted 10 min; meanwhile it waits with reason
 *      `CrashLoopBackOff`. A restart is a new container (a fresh root), as in Kubernetes;
 *      the pod's volumes stay.
 *   5. A pod marked for deletion (`deletionTimestamp`): its containers are killed and
 *      removed, its claims released, and `podStopped` tells the master to confirm.
 *
 * Status (`podStatus`, sent whenever it changes): phase (Pending until every container
 * has started once; Running while one runs or will restart; Succeeded / Failed when all
 * have terminated for good), conditions PodScheduled, Initialized, ContainersReady and
 * Ready with their transition times, containerStatuses (state waiting / running /
 * terminated with reason, exit code, times; lastState; restartCount; ready; started),
 * podIP, hostIP, startTime. All times are the followed cluster clock's.
 *
 * Init containers run one at a time before the app containers (each must exit 0; a
 * failed one is restarted with the same back-off unless restartPolicy is Never, which
 * fails the pod); the pod is Pending, Initialized=False and its app containers wait with
 * `PodInitializing` until they are done.
 *
 * Not done (said where it matters): sidecars (init containers with restartPolicy Always:
 * refused as a pod error), one network namespace per pod (each container has its own ports; probes and
 * dials find the container that listens on the port), graceful termination (containers
 * are killed at once: the runtime has no SIGTERM), subPath mounts, hostPath, HTTPS and
 * gRPC probes.
 *
 * Metrics (`metrics`, with each heartbeat): a pod's CPU in millicores over the interval
 * since the last report, from `Runtime.usage` — a run's wall time minus the time its
 * thread spent blocked in WASI waits (sleeps, socket waits), measured in real time by the
 * container thread. It is an estimate: nothing counts a worker thread's true CPU time,
 * and a thread preempted by the OS still counts as busy. A spinning guest reads ~1000m,
 * an idle server ~0m. Memory is the guest's linear memory at its last exit (what the
 * runtime reports).
 */
import type { Clock } from '../clock.js';
import { timestamp } from '../clock.js';
import { Errno } from '../../layers/errno.js';
import { MemoryFiles } from '../../layers/files.js';
import { ImageStore, type Image } from '../../layers/image-store.js';
import type { ThreadPort } from '../../platform/threads.js';
import type { Platform } from '../../platform/platform.js';
import { fsMount, type ContainerMount } from '../../sandbox/mounts.js';
import { requestStatus } from '../../sandbox/net/http.js';
import { RemoteFs, type VolumeConnection } from '../../sandbox/remote-fs.js';
import { Runtime, type ExitStatus } from '../../sandbox/runtime.js';
import type { MountFs } from '../../sandbox/vfs.js';
import { createTmpfs } from '../../sandbox/volumes.js';
import { quantityValue } from '../objects/quantity.js';
import type { Container, ContainerState, ContainerStatus, EnvVar, Pod, PodCondition, PodStatus, Probe } from '../objects/index.js';
import { FollowedClock } from './followed-clock.js';
import { handle, post, receive, type ConfigData, type FromKubelet, type PodMetrics, type PodsMessage, type ServiceLink, type StreamMessage, type ToKubelet, type Unversioned } from './protocol.js';
import { StreamEnd, join } from './streams.js';

/** Kubernetes' container restart back-off: 10 s doubling to 5 min, reset after 10 min of a clean run. */
export const BACKOFF_INITIAL_MS = 10_000;
export const BACKOFF_MAX_MS = 300_000;
export const BACKOFF_RESET_MS = 600_000;
/**
 * The delay before restarting a container whose run lasted `ranMs`, given the delay the
 * previous restart would have had next (`pending`; BACKOFF_INITIAL_MS at first), and the
 * one after: 10 s, 20 s, 40 s … 5 min, back to 10 s after a run of 10 min or more.
 */
export function restartBackoff(pending: number, ranMs: number): { readonly delay: number; readonly next: number } {
  const delay = ranMs >= BACKOFF_RESET_MS ? BACKOFF_INITIAL_MS : pending;
  return { delay, next: Math.min(delay * 2, BACKOFF_MAX_MS) };
}

/** Retry of a failed image pull or container creation (ImagePullBackOff / CreateContainerError). */
const RETRY_MS = 10_000;

export interface KubeletOptions {
  /** Platform for the container threads (nested in this one). */
  readonly platform: Platform;
  /** Warm container threads kept (default 1). */
  readonly poolSize?: number;
  /** The container thread module (`RuntimeOptions.threadModule`). */
  readonly threadModule?: URL;
}

/** Runs a kubelet on `port` (the thread module's `main` calls this). */
export function serveKubelet(port: ThreadPort, options: KubeletOptions): Kubelet {
  return new Kubelet(port, options);
}

export class Kubelet {
  private followed: FollowedClock = new FollowedClock(0);
  private nodeName = '';
  private ipPrefix = '10.244.0';
  private hostIP = '';
  private readonly runtime: Runtime;
  private readonly images: Promise<ImageStore>;
  private readonly pods = new Map<string, PodWorker>();
  /** Pods stopped because they left the desired set: not started again if they come back. */
  private readonly finished = new Set<string>();
  private readonly usedIps = new Set<number>();
  private readonly pulls = new Map<string, Promise<Image | string>>();
  private readonly requests = new Map<number, (message: ToKubelet, handles: readonly unknown[]) => void>();
  private nextRequest = 1;
  private readonly streams = new Map<number, StreamEnd>();
  /** Outbound connects waiting for the master's `connected`, by (negative) stream id. */
  private readonly connects = new Map<number, (error: string | undefined) => void>();
  private nextOutStream = -1;
  configMaps: ConfigData = {};
  /** Services with cluster IPs by namespace, for service links (`enableServiceLinks`). */
  services: PodsMessage['services'] = {};
  secrets: ConfigData = {};
  private stopping = false;

  constructor(
    private readonly port: ThreadPort,
    options: KubeletOptions,
  ) {
    this.images = ImageStore.open(new MemoryFiles());
    this.runtime = new Runtime({
      platform: options.platform,
      poolSize: options.poolSize ?? 1,
      ...(options.threadModule !== undefined ? { threadModule: options.threadModule } : {}),
      dial: (address, port, podUid) => this.connectOut(address, port, podUid),
      resolve: (name, podUid) => this.resolveOut(name, podUid),
    });
    port.onMessage((raw) => {
      try {
        const { message, handles } = receive<ToKubelet>(raw);
        this.onMessage(message, handles);
      } catch (e) {
        console.error('kubelet: bad message', e);
      }
    });
    this.send({ type: 'ready' });
  }

  /** Cluster time, as followed from the master. */
  get clock(): Clock {
    return this.followed;
  }

  send(message: Unversioned<FromKubelet>): void {
    post(this.port, message);
  }

  private onMessage(m: ToKubelet, handles: readonly unknown[]): void {
    switch (m.type) {
      case 'init':
        this.nodeName = m.nodeName;
        this.ipPrefix = m.podCIDR.split('.').slice(0, 3).join('.');
        this.hostIP = m.hostIP;
        this.followed = new FollowedClock(m.now, (at) => this.send({ type: 'wake', at }), m.realTime === true);
        this.heartbeat(m.heartbeatMs);
        if (m.warmThreads !== undefined) this.runtime.resizePool(m.warmThreads);
        return;
      case 'time':
        this.followed.follow(m.now);
        return;
      case 'pods':
        this.configMaps = m.configMaps;
        this.services = m.services;
        this.secrets = m.secrets;
        this.sync(m.pods);
        return;
      case 'image':
      case 'volume':
      case 'resolved': {
        const done = this.requests.get(m.id);
        this.requests.delete(m.id);
        done?.(m, handles);
        return;
      }
      case 'dial':
        guard(this.dial(m.stream, m.namespace, m.name, m.port));
        return;
      case 'connected': {
        const done = this.connects.get(m.stream);
        this.connects.delete(m.stream);
        done?.(m.error);
        return;
      }
      case 'stop':
        guard(this.stop());
        return;
      case 'logs':
        this.send({ type: 'logsResult', id: m.id, ...this.logs(m.namespace, m.name, m.container) });
        return;
      case 'prepull':
        void this.pull(m.image, false).then((r) => this.send({ type: 'warmed', id: m.id, ...(typeof r === 'string' ? { error: r } : {}) }));
        return;
      case 'warm':
        this.runtime.warm().then(
          () => {
            const { idle, busy } = this.runtime.stats();
            this.send({ type: 'warmed', id: m.id, threads: { idle, busy } });
          },
          (e: unknown) => this.send({ type: 'warmed', id: m.id, error: (e as Error).message }),
        );
        return;
      case 'data':
      case 'credit':
      case 'end':
      case 'reset':
        this.streams.get(m.stream)?.receive(m);
        return;
    }
  }

  /** The output of a pod's container's current (or last) run, stdout and stderr interleaved. */
  private logs(namespace: string, name: string, container: string | undefined): { text: string } | { error: string } {
    const pod = [...this.pods.values()].find((w) => w.namespace === namespace && w.name === name && !w.retiring);
    if (pod === undefined) return { error: `pod ${namespace}/${name} is not on node ${this.nodeName}` };
    const all = [...pod.inits, ...pod.containers];
    if (container === undefined && pod.containers.length > 1) {
      return { error: `a container name must be specified for pod ${name}, choose one of: [${pod.containers.map((c) => c.spec.name).join(' ')}]` };
    }
    const c = container === undefined ? pod.containers[0] : all.find((x) => x.spec.name === container);
    if (c === undefined) return { error: `container ${container ?? ''} is not valid for pod ${name}` };
    if (c.run === undefined) return { error: `container "${c.spec.name}" in pod "${name}" is waiting to start: ${c.state.waiting?.reason ?? 'ContainerCreating'}` };
    const ring = this.containers.logs(c.run.id);
    const decoder = new TextDecoder();
    return { text: ring.list().map((e) => decoder.decode(e.bytes)).join('') };
  }

  private heartbeat(everyMs: number): void {
    const beat = (): void => {
      if (this.stopping) return;
      this.send({ type: 'heartbeat', now: this.followed.now() });
      this.send({ type: 'metrics', now: this.followed.now(), pods: [...this.pods.values()].map((w) => w.metrics()) });
      this.followed.setTimer(everyMs, beat);
    };
    beat();
  }

  // ---------------------------------------------------------------- pods

  private sync(pods: readonly Pod[]): void {
    if (this.stopping) return;
    const wanted = new Set<string>();
    let starting = 0;
    for (const pod of pods) {
      const uid = pod.metadata.uid ?? '';
      wanted.add(uid);
      let worker = this.pods.get(uid);
      const deleting = pod.metadata.deletionTimestamp !== undefined;
      if (worker === undefined) {
        if (deleting) {
          // Nothing of it runs here (any more): the master may confirm at once.
          this.send({ type: 'podStopped', namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name ?? '', uid });
          continue;
        }
        // A pod that finished before this kubelet started (a node restarted) is not run again.
        if (this.finished.has(uid) || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
        worker = new PodWorker(this, pod, this.allocateIp());
        this.pods.set(uid, worker);
        starting += pod.spec.initContainers?.length ? 1 : pod.spec.containers.length;
        worker.start();
      } else worker.update(pod);
      if (deleting) guard(this.retire(worker, true));
    }
    for (const [uid, worker] of this.pods) if (!wanted.has(uid)) guard(this.retire(worker, false));
    // Their threads boot while their images are pulled (an init container first: one).
    if (starting > 0) this.runtime.prepareThreads(starting);
  }

  /** Stops a pod and forgets it; with `confirm`, tells the master its deletion may complete. */
  private async retire(worker: PodWorker, confirm: boolean): Promise<void> {
    if (worker.retiring) return;
    worker.retiring = true;
    await worker.terminate();
    if (this.pods.get(worker.uid) === worker) {
      this.pods.delete(worker.uid);
      this.usedIps.delete(worker.ipIndex);
    }
    if (confirm) this.send({ type: 'podStopped', namespace: worker.namespace, name: worker.name, uid: worker.uid });
    else this.finished.add(worker.uid);
  }

  private allocateIp(): number {
    for (let n = 2; n < 255; n++) {
      if (!this.usedIps.has(n)) {
        this.usedIps.add(n);
        return n;
      }
    }
    return 255;
  }

  ip(n: number): string {
    return `${this.ipPrefix}.${n}`;
  }

  get node(): { readonly name: string; readonly hostIP: string } {
    return { name: this.nodeName, hostIP: this.hostIP };
  }

  get containers(): Runtime {
    return this.runtime;
  }

  /** This node's images (what it pulled). */
  imageStore(): Promise<ImageStore> {
    return this.images;
  }

  // ---------------------------------------------------------------- master requests

  private request(message: Unversioned<FromKubelet> & { id: number }): Promise<{ message: ToKubelet; handles: readonly unknown[] }> {
    return new Promise((resolve) => {
      this.requests.set(message.id, (m, handles) => resolve({ message: m, handles }));
      this.send(message);
    });
  }

  /** The image `ref`, pulled from the master once (an error message when it cannot be). */
  pull(ref: string, always: boolean): Promise<Image | string> {
    const cached = this.pulls.get(ref);
    if (cached !== undefined && !always) return cached;
    const p = (async (): Promise<Image | string> => {
      const images = await this.images;
      if (!always) {
        const have = await images.get(ref);
        if (have !== undefined) return have;
      }
      const { message, handles } = await this.request({ type: 'pull', id: this.nextRequest++, image: ref });
      if (message.type !== 'image' || message.archive === undefined) return (message as { error?: string }).error ?? `cannot pull ${ref}`;
      const loaded = await images.load(handle<Uint8Array>(handles, message.archive));
      const got = (await images.get(ref)) ?? (loaded[0] !== undefined ? await images.tag(loaded[0].digest, ref) : undefined);
      return got ?? `pulled ${ref}, but the archive holds no image`;
    })().catch((e: unknown) => `cannot pull ${ref}: ${(e as Error).message}`);
    this.pulls.set(ref, p);
    void p.then((r) => {
      if (typeof r === 'string' && this.pulls.get(ref) === p) this.pulls.delete(ref);
    });
    return p;
  }

  /** Connects to claim `claimName`'s files on the master; an error message when it cannot. */
  async claim(namespace: string, claimName: string): Promise<{ fs: RemoteFs; release: () => void } | string> {
    const id = this.nextRequest++;
    const { message, handles } = await this.request({ type: 'claim', id, namespace, claimName });
    if (message.type !== 'volume' || message.connection === undefined) return (message as { error?: string }).error ?? `cannot mount claim ${claimName}`;
    const [fs] = RemoteFs.connect(handle<VolumeConnection>(handles, message.connection));
    if (fs === undefined) return `claim ${claimName}: the master served no mount`;
    let released = false;
    return {
      fs,
      release: () => {
        if (released) return;
        released = true;
        fs.disconnect();
        this.send({ type: 'unclaim', id });
      },
    };
  }

  event(worker: PodWorker, eventType: 'Normal' | 'Warning', reason: string, message: string): void {
    this.send({ type: 'event', namespace: worker.namespace, name: worker.name, uid: worker.uid, eventType, reason, message, now: this.followed.now() });
  }

  // ---------------------------------------------------------------- streams

  private async dial(stream: number, namespace: string, name: string, port: number): Promise<void> {
    const worker = [...this.pods.values()].find((w) => w.namespace === namespace && w.name === name && !w.deleting);
    if (worker === undefined) return this.send({ type: 'dialed', stream, error: `pod ${namespace}/${name} is not on node ${this.nodeName}` });
    let conn;
    try {
      conn = await worker.connect(port);
    } catch (e) {
      return this.send({ type: 'dialed', stream, error: (e as Error).message });
    }
    const end = new StreamEnd(stream, (m) => this.send(m as Unversioned<StreamMessage>), () => this.streams.delete(stream));
    this.streams.set(stream, end);
    this.send({ type: 'dialed', stream });
    join(conn, end);
  }

  /**
   * A container's connect to an address not on this node (runtime.ts `dial` option): the
   * master resolves it (a pod IP elsewhere, a Service's cluster IP) and relays the bytes.
   * Undefined (refused) when the master cannot reach it. `podUid` is the network
   * namespace key the kubelet gives a pod's containers.
   */
  private connectOut(address: string, port: number, podUid: string): Promise<StreamEnd | undefined> {
    const pod = this.pods.get(podUid);
    if (pod === undefined || this.stopping) return Promise.resolve(undefined);
    const stream = this.nextOutStream--;
    const end = new StreamEnd(stream, (m) => this.send(m as Unversioned<StreamMessage>), () => this.streams.delete(stream));
    this.streams.set(stream, end);
    return new Promise((resolve) => {
      this.connects.set(stream, (error) => {
        if (error === undefined) return resolve(end);
        end.reset(false);
        resolve(undefined);
      });
      this.send({ type: 'connect', stream, namespace: pod.namespace, address, port });
    });
  }

  /** A container's name lookup (runtime.ts `resolve` option), answered by the master: Service names of the pod's namespace. */
  private async resolveOut(name: string, podUid: string): Promise<readonly string[]> {
    const pod = this.pods.get(podUid);
    if (pod === undefined || this.stopping) return [];
    const { message } = await this.request({ type: 'resolve', id: this.nextRequest++, namespace: pod.namespace, name });
    return message.type === 'resolved' ? message.addresses : [];
  }

  // ---------------------------------------------------------------- stop

  private async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.pods.values()].map((w) => w.terminate()));
    for (const s of this.streams.values()) s.close();
    await this.runtime.close();
    this.send({ type: 'stopped' });
  }
}

// ============================================================================ pods

type ProbeKind = 'startup' | 'liveness' | 'readiness';

interface Run {
  /** Runtime container id. */
  readonly id: string;
  readonly startedAt: number;
  /** Probe timers and in-flight checks to cancel when the run ends. */
  readonly cancels: (() => void)[];
  ended: boolean;
}

/** One container of a pod: its runs, restarts and probes. */
class ContainerWorker {
  state: ContainerState = { waiting: { reason: 'ContainerCreating' } };
  lastState: ContainerState = {};
  restartCount = 0;
  ready = false;
  started = false;
  imageID = '';
  /** Terminated for good (no restart will follow). */
  done = false;
  /** Has started at least once. */
  ranOnce = false;
  run: Run | undefined;
  nextBackoff = BACKOFF_INITIAL_MS;
  cancelRestart: (() => void) | undefined;
  memoryBytes: number | undefined;

  constructor(
    readonly pod: PodWorker,
    readonly spec: Container,
    /** An init container: runs to completion before the app containers start. */
    readonly init = false,
  ) {}

  /** Completed successfully for good (an init container that exited 0). */
  get succeeded(): boolean {
    return this.done && this.state.terminated?.exitCode === 0;
  }

  status(): ContainerStatus {
    return {
      name: this.spec.name,
      state: this.state,
      ...(Object.keys(this.lastState).length > 0 ? { lastState: this.lastState } : {}),
      ready: this.ready,
      restartCount: this.restartCount,
      image: this.spec.image ?? '',
      imageID: this.imageID,
      ...(this.run !== undefined ? { containerID: `skiff://${this.run.id}` } : {}),
      started: this.started,
    };
  }

  /** Creates and starts a new run; an error message when the container cannot be made. */
  async startRun(image: Image, mounts: readonly ContainerMount[]): Promise<string | undefined> {
    const k = this.pod.kubelet;
    const rt = k.containers;
    const env = this.pod.env(this.spec);
    if (typeof env === 'string') return env;
    const expand = (s: string): string => s.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string) => env[name] ?? m);
    const memory = this.spec.resources?.limits?.memory;
    const memBytes = memory !== undefined ? quantityValue(memory) : undefined;
    const ports = (this.spec.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP').map((p) => p.containerPort);
    let id: string;
    try {
      const info = await rt.create({
        image,
        store: await k.imageStore(),
        name: `k8s_${this.spec.name}_${this.pod.name}_${this.pod.namespace}_${this.pod.uid}_${this.restartCount}`,
        ...(this.spec.command !== undefined ? { entrypoint: this.spec.command.map(expand) } : {}),
        ...(this.spec.args !== undefined ? { cmd: this.spec.args.map(expand) } : {}),
        env,
        ...(this.spec.workingDir !== undefined ? { workingDir: this.spec.workingDir } : {}),
        ...(ports.length > 0 ? { ports } : {}),
        ...(memBytes !== undefined ? { memory: memBytes } : {}),
        // The pod's containers share its address, and reach each other on localhost.
        network: { namespace: this.pod.uid, address: this.pod.ip },
        mounts,
      });
      id = info.id;
    } catch (e) {
      return (e as Error).message;
    }
    if (this.pod.terminating) {
      await rt.remove(id, { force: true }).catch(() => undefined);
      return undefined;
    }
    this.imageID = image.descriptor.digest;
    k.event(this.pod, 'Normal', 'Created', `Created container ${this.spec.name}`);
    await rt.start(id);
    if (this.pod.terminating) {
      await rt.remove(id, { force: true }).catch(() => undefined);
      return undefined;
    }
    const now = k.clock.now();
    const run: Run = { id, startedAt: now, cancels: [], ended: false };
    this.run = run;
    this.ranOnce = true;
    this.state = { running: { startedAt: timestamp(now) } };
    this.ready = false;
    this.started = this.spec.startupProbe === undefined;
    k.event(this.pod, 'Normal', 'Started', `Started container ${this.spec.name}`);
    guard(rt.wait(id).then((status) => this.onExit(run, status)));
    if (this.spec.startupProbe !== undefined) this.probe(run, 'startup', this.spec.startupProbe);
    else this.afterStarted(run);
    this.pod.changed();
    return undefined;
  }

  private afterStarted(run: Run): void {
    if (this.spec.livenessProbe !== undefined) this.probe(run, 'liveness', this.spec.livenessProbe);
    if (this.spec.readinessProbe !== undefined) this.probe(run, 'readiness', this.spec.readinessProbe);
    else this.ready = true;
    this.pod.changed();
  }

  private onExit(run: Run, status: ExitStatus): void {
    if (run.ended) return;
    run.ended = true;
    for (const c of run.cancels) c();
    const k = this.pod.kubelet;
    const rt = k.containers;
    const now = k.clock.now();
    try {
      this.memoryBytes = rt.inspect(run.id).state.memoryBytes ?? this.memoryBytes;
    } catch {
      // removed already
    }
    const startedAt = this.state.running?.startedAt ?? timestamp(run.startedAt);
    const terminated: ContainerState = {
      terminated: {
        exitCode: status.exitCode,
        reason: this.killedBy ?? status.reason,
        ...(status.message !== undefined ? { message: status.message } : {}),
        startedAt,
        finishedAt: timestamp(now),
        containerID: `skiff://${run.id}`,
      },
    };
    this.killedBy = undefined;
    this.ready = false;
    this.started = false;
    if (this.pod.terminating) {
      this.state = terminated;
      this.done = true;
      this.pod.changed();
      return;
    }
    const policy = this.pod.spec.restartPolicy ?? 'Always';
    // An init container is restarted only when it failed (and the pod's policy is not Never).
    const restart = this.init ? policy !== 'Never' && status.exitCode !== 0 : policy === 'Always' || (policy === 'OnFailure' && status.exitCode !== 0);
    if (!restart) {
      this.state = terminated;
      this.done = true;
      this.pod.changed();
      if (this.init && status.exitCode === 0) guard(this.pod.setUp());
      return;
    }
    const { delay, next } = restartBackoff(this.nextBackoff, now - run.startedAt);
    this.nextBackoff = next;
    this.lastState = terminated;
    this.state = {
      waiting: {
        reason: 'CrashLoopBackOff',
        message: `back-off ${delay / 1000}s restarting failed container=${this.spec.name} pod=${this.pod.name}_${this.pod.namespace}(${this.pod.uid})`,
      },
    };
    k.event(this.pod, 'Warning', 'BackOff', `Back-off restarting failed container ${this.spec.name} in pod ${this.pod.name}_${this.pod.namespace}(${this.pod.uid})`);
    this.cancelRestart = k.clock.setTimer(delay, () => {
      this.cancelRestart = undefined;
      guard(this.restart(run));
    });
    this.pod.changed();
  }

  /** Why the kubelet killed the current run (a failed probe), for its terminated reason. */
  private killedBy: string | undefined;

  private async restart(previous: Run): Promise<void> {
    if (this.pod.terminating) return;
    await this.pod.kubelet.containers.remove(previous.id, { force: true }).catch(() => undefined);
    this.restartCount++;
    await this.pod.startContainer(this);
  }

  /** Kills the current run (if any) and stops restarting; resolves when it has exited and is removed. */
  async terminate(): Promise<void> {
    this.cancelRestart?.();
    this.cancelRestart = undefined;
    const run = this.run;
    if (run === undefined) {
      if (this.state.terminated === undefined) {
        this.state = { terminated: { exitCode: 0, reason: 'Completed' } };
        this.done = true;
      }
      return;
    }
    const rt = this.pod.kubelet.containers;
    await rt.kill(run.id).catch(() => false);
    await rt.remove(run.id, { force: true }).catch(() => undefined);
  }

  private sample: { readonly id: string; readonly busy: number; readonly running: number } | undefined;

  /** Millicores since the last call (since the run started, the first time); 0 when not running, undefined when unmeasured. */
  cpuMillis(): number | undefined {
    const run = this.run;
    if (run === undefined || run.ended) return 0;
    let usage;
    try {
      usage = this.pod.kubelet.containers.usage(run.id);
    } catch {
      return 0;
    }
    if (usage === undefined) return undefined;
    const prev = this.sample?.id === run.id ? this.sample : { busy: 0, running: 0 };
    this.sample = { id: run.id, busy: usage.busyMs, running: usage.runningMs };
    const wall = usage.runningMs - prev.running;
    return wall <= 0 ? 0 : Math.round(((usage.busyMs - prev.busy) / wall) * 1000);
  }

  /** A virtual connection to this container's `port`. */
  connect(port: number): ReturnType<Runtime['connect']> {
    const run = this.run;
    if (run === undefined || run.ended) return Promise.reject(new Error(`container ${this.spec.name} is not running`));
    return this.pod.kubelet.containers.connect(run.id, port);
  }

  listensOn(port: number): boolean {
    return (this.spec.ports ?? []).some((p) => p.containerPort === port);
  }

  // ---------------------------------------------------------------- probes

  private probe(run: Run, kind: ProbeKind, probe: Probe): void {
    const k = this.pod.kubelet;
    const period = (probe.periodSeconds ?? 10) * 1000;
    const timeout = (probe.timeoutSeconds ?? 1) * 1000;
    const successThreshold = kind === 'readiness' ? (probe.successThreshold ?? 1) : 1;
    const failureThreshold = probe.failureThreshold ?? 3;
    let successes = 0;
    let failures = 0;
    const attempt = async (): Promise<void> => {
      if (run.ended) return;
      const result = await this.check(run, probe, timeout);
      if (run.ended) return;
      if (result === undefined) {
        successes++;
        failures = 0;
      } else {
        failures++;
        successes = 0;
        k.event(this.pod, 'Warning', 'Unhealthy', `${kind[0]?.toUpperCase()}${kind.slice(1)} probe failed: ${result}`);
      }
      if (kind === 'readiness') {
        const was = this.ready;
        if (successes >= successThreshold) this.ready = true;
        if (failures >= failureThreshold) this.ready = false;
        if (was !== this.ready) this.pod.changed();
      } else if (kind === 'startup' && successes >= 1) {
        this.started = true;
        this.afterStarted(run);
        return; // a startup probe stops once it succeeded
      } else if (failures >= failureThreshold && successes === 0) {
        const what = kind === 'liveness' ? 'liveness' : 'startup';
        k.event(this.pod, 'Normal', 'Killing', `Container ${this.spec.name} failed ${what} probe, will be restarted`);
        this.killedBy = 'Error';
        guard(k.containers.kill(run.id));
        return;
      }
      run.cancels.push(k.clock.setTimer(period, () => guard(attempt())));
    };
    run.cancels.push(k.clock.setTimer((probe.initialDelaySeconds ?? 0) * 1000, () => guard(attempt())));
  }

  /** One probe check: undefined on success, else why it failed. */
  private async check(run: Run, probe: Probe, timeoutMs: number): Promise<string | undefined> {
    const k = this.pod.kubelet;
    let cancel: (() => void) | undefined;
    const timedOut = new Promise<string>((resolve) => {
      cancel = k.clock.setTimer(timeoutMs, () => resolve(`timeout after ${timeoutMs / 1000}s`));
    });
    const doCheck = async (): Promise<string | undefined> => {
      if (probe.exec !== undefined) {
        const r = await k.containers.exec(run.id, { cmd: probe.exec.command ?? [] });
        return r.exitCode === 0 ? undefined : `command exited with ${r.exitCode}: ${(r.stdout + r.stderr).trim().slice(0, 200)}`;
      }
      if (probe.httpGet !== undefined) {
        const port = this.portOf(probe.httpGet.port);
        if (port === undefined) return `no port ${String(probe.httpGet.port)}`;
        const target = this.pod.containerFor(port, this);
        const path = probe.httpGet.path ?? '/';
        const headers: Record<string, string> = { 'user-agent': 'kube-probe/1.33' };
        for (const h of probe.httpGet.httpHeaders ?? []) headers[h.name] = h.value;
        const status = await requestStatus(await target.connect(port), `${this.pod.ip}:${port}`, path.startsWith('/') ? path : `/${path}`, headers);
        return status >= 200 && status < 400 ? undefined : `HTTP probe failed with statuscode: ${status}`;
      }
      if (probe.tcpSocket !== undefined) {
        const port = this.portOf(probe.tcpSocket.port);
        if (port === undefined) return `no port ${String(probe.tcpSocket.port)}`;
        const conn = await this.pod.containerFor(port, this).connect(port);
        conn.close();
        return undefined;
      }
      return 'probe has no supported handler (exec, httpGet, tcpSocket)';
    };
    try {
      return await Promise.race([doCheck().catch((e: unknown) => describe(e)), timedOut]);
    } finally {
      cancel?.();
    }
  }

  private portOf(port: number | string): number | undefined {
    if (typeof port === 'number') return port;
    if (/^\d+$/.test(port)) return Number(port);
    for (const c of this.pod.spec.containers) for (const p of c.ports ?? []) if (p.name === port) return p.containerPort;
    return undefined;
  }
}

/** Runs a promise whose failure is a kubelet bug: logged, never an unhandled rejection (which would end the node's thread). */
function guard(p: Promise<unknown>): void {
  p.catch((e: unknown) => console.error('kubelet:', e));
}

function describe(e: unknown): string {
  const err = e as Error & { cause?: unknown };
  return err.cause !== undefined ? `${err.message}: ${(err.cause as Error).message ?? String(err.cause)}` : String(err.message ?? e);
}

/** One pod on this node. */
class PodWorker {
  pod: Pod;
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  readonly containers: ContainerWorker[];
  readonly inits: ContainerWorker[];
  terminating = false;
  deleting = false;
  retiring = false;
  private startTime: number | undefined;
  /** Why the pod failed as a whole (unsupported spec, active deadline exceeded). */
  private podFailure: { readonly reason: string; readonly message: string } | undefined;
  private cancelDeadline: (() => void) | undefined;
  private readonly releases: (() => void)[] = [];
  private reportQueued = false;
  private lastReport = '';
  private readonly transitions = new Map<string, { status: string; at: number }>();
  private terminated: Promise<void> | undefined;
  private cancelRetry: (() => void) | undefined;

  constructor(
    readonly kubelet: Kubelet,
    pod: Pod,
    readonly ipIndex: number,
  ) {
    this.pod = pod;
    this.uid = pod.metadata.uid ?? '';
    this.namespace = pod.metadata.namespace ?? 'default';
    this.name = pod.metadata.name ?? '';
    this.ip = kubelet.ip(ipIndex);
    this.containers = pod.spec.containers.map((c) => new ContainerWorker(this, c));
    this.inits = (pod.spec.initContainers ?? []).map((c) => new ContainerWorker(this, c, true));
  }

  get spec(): Pod['spec'] {
    return this.pod.spec;
  }

  update(pod: Pod): void {
    // A pod's containers are immutable in Kubernetes; only metadata (deletion) matters here.
    this.pod = pod;
    if (pod.metadata.deletionTimestamp !== undefined) this.deleting = true;
  }

  start(): void {
    this.startTime = this.kubelet.clock.now();
    if (this.pod.metadata.deletionTimestamp !== undefined) this.deleting = true;
    const deadline = this.spec.activeDeadlineSeconds;
    if (deadline !== undefined) {
      this.cancelDeadline = this.kubelet.clock.setTimer(deadline * 1000, () => {
        this.podFailure = { reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' };
        this.kubelet.event(this, 'Normal', 'DeadlineExceeded', this.podFailure.message);
        guard(this.terminate());
      });
    }
    this.changed();
    guard(this.setUp());
  }

  /** Volumes, then every container. Retried (as ImagePullBackOff) while something fails. */
  private mounts: Map<string, { fs: MountFs; readonly: boolean }> | undefined;

  /**
   * Volumes, then the init containers one at a time (each must exit 0), then every app
   * container. Called again when an init container completes. Idempotent.
   */
  async setUp(): Promise<void> {
    if (this.terminating || this.podFailure !== undefined) return;
    if (this.inits.some((c) => c.spec.restartPolicy === 'Always')) {
      this.podFailure = { reason: 'Unsupported', message: 'sidecar containers (init containers with restartPolicy Always) are not supported by skiff yet' };
      this.changed();
      return;
    }
    if (this.mounts === undefined) {
      const made = await this.makeVolumes();
      if (typeof made === 'string') {
        this.kubelet.event(this, 'Warning', 'FailedMount', made);
        for (const c of this.containers) c.state = { waiting: { reason: 'ContainerCreating', message: made } };
        this.changed();
        this.retry();
        return;
      }
      this.mounts = made;
    }
    const init = this.inits.find((c) => !c.succeeded);
    if (init !== undefined) {
      for (const c of this.containers) c.state = { waiting: { reason: 'PodInitializing' } };
      if (!init.ranOnce && init.run === undefined && !this.starting.has(init)) {
        this.starting.add(init);
        await this.startContainer(init);
      }
      this.changed();
      return;
    }
    await Promise.all(
      this.containers
        .filter((c) => !c.ranOnce && !this.starting.has(c))
        .map((c) => {
          this.starting.add(c);
          return this.startContainer(c);
        }),
    );
  }

  /** Containers whose first start is under way (so a second setUp does not start them again). */
  private readonly starting = new Set<ContainerWorker>();

  private retry(): void {
    this.cancelRetry?.();
    this.cancelRetry = this.kubelet.clock.setTimer(RETRY_MS, () => {
      this.cancelRetry = undefined;
      guard(this.setUp());
    });
  }

  /** Pulls the container's image and starts a run; on failure the container waits and the pod retries. */
  async startContainer(c: ContainerWorker): Promise<void> {
    if (this.terminating || this.mounts === undefined) return;
    const ref = c.spec.image ?? '';
    const policy = c.spec.imagePullPolicy ?? 'IfNotPresent';
    const image = policy === 'Never' ? await this.kubelet.pull(ref, false) : await this.kubelet.pull(ref, policy === 'Always' && c.restartCount === 0 && !c.ranOnce);
    if (this.terminating) return;
    if (typeof image === 'string') {
      c.state = { waiting: { reason: c.state.waiting?.reason === 'ErrImagePull' || c.state.waiting?.reason === 'ImagePullBackOff' ? 'ImagePullBackOff' : 'ErrImagePull', message: image } };
      this.kubelet.event(this, 'Warning', 'Failed', image);
      this.changed();
      this.retryContainer(c);
      return;
    }
    const mounts: ContainerMount[] = [];
    for (const vm of c.spec.volumeMounts ?? []) {
      const v = this.mounts.get(vm.name);
      if (v === undefined || vm.subPath !== undefined) {
        c.state = { waiting: { reason: 'CreateContainerConfigError', message: v === undefined ? `volume ${vm.name} not found` : 'subPath mounts are not supported' } };
        this.changed();
        return;
      }
      mounts.push(fsMount(vm.mountPath, v.fs, { readonly: v.readonly || vm.readOnly === true }));
    }
    const error = await c.startRun(image, mounts);
    if (error !== undefined) {
      if (this.terminating) return;
      c.state = { waiting: { reason: 'CreateContainerError', message: error } };
      this.kubelet.event(this, 'Warning', 'Failed', error);
      this.changed();
      this.retryContainer(c);
    }
  }

  private retryContainer(c: ContainerWorker): void {
    c.cancelRestart = this.kubelet.clock.setTimer(RETRY_MS, () => {
      c.cancelRestart = undefined;
      guard(this.startContainer(c));
    });
  }

  /** The pod's volumes by name (see the module comment); an error message when one cannot be made. */
  private async makeVolumes(): Promise<Map<string, { fs: MountFs; readonly: boolean }> | string> {
    const out = new Map<string, { fs: MountFs; readonly: boolean }>();
    for (const v of this.spec.volumes ?? []) {
      if (v.emptyDir !== undefined) out.set(v.name, { fs: createTmpfs(), readonly: false });
      else if (v.configMap !== undefined || v.secret !== undefined) {
        const source = v.configMap ?? v.secret;
        const refName = v.configMap !== undefined ? (v.configMap.name ?? '') : (v.secret?.secretName ?? '');
        const data = (v.configMap !== undefined ? this.kubelet.configMaps : this.kubelet.secrets)[`${this.namespace}/${refName}`];
        if (data === undefined && source?.optional !== true) return `${v.configMap !== undefined ? 'configmap' : 'secret'} "${refName}" not found`;
        const fs = createTmpfs();
        const mode = source?.defaultMode ?? 0o644;
        const items = source?.items ?? Object.keys(data ?? {}).map((key) => ({ key, path: key }));
        for (const item of items) {
          const bytes = data?.[item.key];
          if (bytes === undefined) {
            if (source?.optional === true) continue;
            return `key ${item.key} not found in ${refName}`;
          }
          const err = writeFile(fs, item.path, bytes, (item as { mode?: number }).mode ?? mode);
          if (err !== undefined) return `volume ${v.name}: ${err}`;
        }
        out.set(v.name, { fs, readonly: true });
      } else if (v.persistentVolumeClaim !== undefined) {
        const claim = await this.kubelet.claim(this.namespace, v.persistentVolumeClaim.claimName);
        if (typeof claim === 'string') return claim;
        if (this.terminating) {
          claim.release();
          return 'pod is terminating';
        }
        this.releases.push(claim.release);
        out.set(v.name, { fs: claim.fs, readonly: v.persistentVolumeClaim.readOnly === true });
      } else return `volume ${v.name}: only emptyDir, configMap, secret and persistentVolumeClaim volumes are supported`;
    }
    return out;
  }

  /** The container's environment (Kubernetes' order: envFrom, then env, later wins), or an error message. */
  env(c: Container): Record<string, string> | string {
    // Service links first (envFrom and env override them), then HOSTNAME: the pod's
    // hostname (spec.hostname, else its name), as container runtimes set it from the pod
    // sandbox; envFrom and env may override it too.
    const out: Record<string, string> = this.spec.enableServiceLinks === false ? {} : serviceLinks(this.kubelet.services[this.namespace] ?? []);
    out.HOSTNAME = this.spec.hostname ?? this.name;
    const lookup = (kind: 'configMap' | 'secret', name: string | undefined): Readonly<Record<string, Uint8Array>> | undefined =>
      (kind === 'configMap' ? this.kubelet.configMaps : this.kubelet.secrets)[`${this.namespace}/${name ?? ''}`];
    const text = (b: Uint8Array): string => new TextDecoder().decode(b);
    for (const from of c.envFrom ?? []) {
      const kind = from.configMapRef !== undefined ? 'configMap' : 'secret';
      const ref = from.configMapRef ?? from.secretRef;
      const data = lookup(kind, ref?.name);
      if (data === undefined) {
        if (ref?.optional === true) continue;
        return `${kind.toLowerCase()} "${ref?.name ?? ''}" not found`;
      }
      for (const [k, v] of Object.entries(data)) out[`${from.prefix ?? ''}${k}`] = text(v);
    }
    const expand = (s: string): string => s.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string) => out[name] ?? m);
    for (const e of c.env ?? []) {
      const v = this.envValue(e, lookup, text);
      if (v === undefined) continue;
      if (typeof v === 'object') return v.error;
      out[e.name] = e.value !== undefined ? expand(v) : v;
    }
    return out;
  }

  private envValue(
    e: EnvVar,
    lookup: (kind: 'configMap' | 'secret', name: string | undefined) => Readonly<Record<string, Uint8Array>> | undefined,
    text: (b: Uint8Array) => string,
  ): string | { error: string } | undefined {
    if (e.value !== undefined || e.valueFrom === undefined) return e.value ?? '';
    const f = e.valueFrom;
    if (f.fieldRef !== undefined) {
      const fields: Record<string, string | undefined> = {
        'metadata.name': this.name,
        'metadata.namespace': this.namespace,
        'metadata.uid': this.uid,
        'spec.nodeName': this.kubelet.node.name,
        'spec.serviceAccountName': this.spec.serviceAccountName,
        'status.podIP': this.ip,
        'status.hostIP': this.kubelet.node.hostIP,
      };
      const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(f.fieldRef.fieldPath);
      if (m !== null) return (m[1] === 'labels' ? this.pod.metadata.labels : this.pod.metadata.annotations)?.[m[2] as string] ?? '';
      return fields[f.fieldRef.fieldPath] ?? '';
    }
    const keyRef = f.configMapKeyRef ?? f.secretKeyRef;
    if (keyRef !== undefined) {
      const kind = f.configMapKeyRef !== undefined ? 'configMap' : 'secret';
      const value = lookup(kind, keyRef.name)?.[keyRef.key];
      if (value === undefined) return keyRef.optional === true ? undefined : { error: `couldn't find key ${keyRef.key} in ${kind} ${this.namespace}/${keyRef.name ?? ''}` };
      return text(value);
    }
    if (f.resourceFieldRef !== undefined) {
      const c = this.spec.containers.find((x) => x.name === (f.resourceFieldRef?.containerName ?? x.name));
      const [kind, res] = f.resourceFieldRef.resource.split('.') as [string, string];
      const q = (kind === 'limits' ? c?.resources?.limits : c?.resources?.requests)?.[res];
      return q === undefined ? '0' : String(quantityValue(q) ?? q);
    }
    return '';
  }

  /** The container of this pod listening on `port` (`preferred` first). */
  containerFor(port: number, preferred: ContainerWorker): ContainerWorker {
    if (preferred.listensOn(port)) return preferred;
    return this.containers.find((c) => c.listensOn(port)) ?? preferred;
  }

  connect(port: number): ReturnType<Runtime['connect']> {
    const c = this.containers.find((x) => x.listensOn(port)) ?? this.containers.find((x) => x.run !== undefined && !x.run.ended);
    if (c === undefined) return Promise.reject(new Error(`pod ${this.namespace}/${this.name} has no running container`));
    return c.connect(port);
  }

  /** Kills every container and releases the pod's volumes. Idempotent. */
  terminate(): Promise<void> {
    this.terminating = true;
    this.cancelRetry?.();
    this.cancelDeadline?.();
    this.terminated ??= (async () => {
      await Promise.all([...this.inits, ...this.containers].map((c) => c.terminate()));
      for (const r of this.releases.splice(0)) r();
      this.changed();
    })();
    return this.terminated;
  }

  metrics(): PodMetrics {
    let memory: number | undefined;
    let cpu: number | undefined = 0;
    for (const c of this.containers) {
      if (c.memoryBytes !== undefined) memory = (memory ?? 0) + c.memoryBytes;
      const m = c.cpuMillis();
      cpu = m === undefined || cpu === undefined ? undefined : cpu + m;
    }
    return {
      namespace: this.namespace,
      name: this.name,
      uid: this.uid,
      containers: this.containers.filter((c) => c.run !== undefined && !c.run.ended).length,
      ...(cpu !== undefined ? { cpuMillis: cpu } : {}),
      ...(memory !== undefined ? { memoryBytes: memory } : {}),
    };
  }

  // ---------------------------------------------------------------- status

  /** Something changed: report the status (once per turn, and only if it differs). */
  changed(): void {
    if (this.reportQueued) return;
    this.reportQueued = true;
    queueMicrotask(() => {
      this.reportQueued = false;
      const status = this.status();
      const json = JSON.stringify(status);
      if (json === this.lastReport) return;
      this.lastReport = json;
      this.kubelet.send({ type: 'podStatus', namespace: this.namespace, name: this.name, uid: this.uid, status });
    });
  }

  private phase(): PodStatus['phase'] {
    if (this.podFailure !== undefined) return 'Failed';
    if (this.inits.some((c) => c.done && !c.succeeded)) return 'Failed';
    if (!this.inits.every((c) => c.succeeded)) return 'Pending';
    if (this.containers.some((c) => !c.ranOnce && !c.done)) return 'Pending';
    if (this.containers.some((c) => !c.done)) return 'Running';
    return this.containers.every((c) => c.state.terminated?.exitCode === 0) ? 'Succeeded' : 'Failed';
  }

  private condition(type: string, ok: boolean, reason?: string): PodCondition {
    const status = ok ? 'True' : 'False';
    const now = this.kubelet.clock.now();
    const prev = this.transitions.get(type);
    if (prev === undefined || prev.status !== status) this.transitions.set(type, { status, at: now });
    const at = this.transitions.get(type)?.at ?? now;
    return { type, status, lastProbeTime: null, lastTransitionTime: timestamp(at), ...(reason !== undefined && !ok ? { reason } : {}) };
  }

  status(): PodStatus {
    const phase = this.phase();
    const statuses = this.containers.map((c) => c.status());
    const running = this.containers.every((c) => c.run !== undefined && !c.run.ended);
    const allReady = this.containers.every((c) => c.ready) && running;
    const terminal = phase === 'Succeeded' || phase === 'Failed';
    const containersReady = allReady && !terminal;
    const reason = terminal ? 'PodCompleted' : 'ContainersNotReady';
    const initialized = this.inits.every((c) => c.succeeded);
    return {
      phase,
      conditions: [
        this.condition('Initialized', initialized, 'ContainersNotInitialized'),
        this.condition('Ready', containersReady, reason),
        this.condition('ContainersReady', containersReady, reason),
        this.condition('PodScheduled', true),
      ],
      ...(this.podFailure !== undefined ? { message: this.podFailure.message, reason: this.podFailure.reason } : {}),
      hostIP: this.kubelet.node.hostIP,
      hostIPs: [{ ip: this.kubelet.node.hostIP }],
      podIP: this.ip,
      podIPs: [{ ip: this.ip }],
      ...(this.startTime !== undefined ? { startTime: timestamp(this.startTime) } : {}),
      ...(this.inits.length > 0 ? { initContainerStatuses: this.inits.map((c) => c.status()) } : {}),
      containerStatuses: statuses,
      qosClass: qosClass(this.spec.containers),
    };
  }
}

/** Kubernetes' QoS class from the containers' requests and limits. */
function qosClass(containers: readonly Container[]): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (Object.keys(req).length > 0 || Object.keys(lim).length > 0) any = true;
    for (const r of ['cpu', 'memory']) {
      const l = lim[r];
      const q = req[r] ?? l;
      if (l === undefined || q === undefined || String(l) !== String(q)) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** Writes `bytes` at relative `path` in `fs` (making directories); an error message on failure. */
function writeFile(fs: MountFs, path: string, bytes: Uint8Array, mode: number): string | undefined {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..')) return `bad path ${path}`;
  let dir = fs.root();
  for (const part of parts.slice(0, -1)) {
    let next = fs.lookup(dir, part);
    if (isErrno(next) || fs.kind(next) !== 'dir') next = fs.mkdir(dir, part, 0o755);
    if (isErrno(next)) return `mkdir ${part}: ${String(next)}`;
    dir = next;
  }
  const file = fs.createFile(dir, parts[parts.length - 1] as string, mode);
  if (isErrno(file)) return `create ${path}: ${String(file)}`;
  const n = fs.write(file, 0, bytes);
  if (isErrno(n)) return `write ${path}: ${String(n)}`;
  return undefined;
}

function isErrno(v: unknown): v is Errno {
  return v instanceof Errno;
}

/**
 * Kubernetes' service environment variables (pkg/kubelet/envvars): for each Service with a
 * cluster IP, NAME_SERVICE_HOST and NAME_SERVICE_PORT (the first port), NAME_SERVICE_PORT_PORTNAME
 * for each named port, and the Docker link variables NAME_PORT and NAME_PORT_P_PROTO[_PROTO|_PORT|_ADDR];
 * NAME is the Service's name upper-cased with '-' as '_'.
 */
export function serviceLinks(services: readonly ServiceLink[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const svc of services) {
    const name = svc.name.toUpperCase().replace(/-/g, '_');
    const first = svc.ports[0];
    if (first === undefined) continue;
    out[`${name}_SERVICE_HOST`] = svc.clusterIP;
    out[`${name}_SERVICE_PORT`] = String(first.port);
    for (const p of svc.ports) if (p.name !== undefined && p.name !== '') out[`${name}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`] = String(p.port);
    svc.ports.forEach((p, i) => {
      const proto = p.protocol.toLowerCase();
      const url = `${proto}://${svc.clusterIP}:${p.port}`;
      const prefix = `${name}_PORT_${p.port}_${p.protocol.toUpperCase()}`;
      if (i === 0) out[`${name}_PORT`] = url;
      out[prefix] = url;
      out[`${prefix}_PROTO`] = proto;
      out[`${prefix}_PORT`] = String(p.port);
      out[`${prefix}_ADDR`] = svc.clusterIP;
    });
  }
  return out;
}

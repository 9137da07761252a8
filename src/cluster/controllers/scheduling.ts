/**
 * The scheduler's loop against the store (kube-scheduler's main): informers on Nodes and
 * Pods feed the pure `Scheduler` (scheduler/scheduler.ts), and its decisions are
 * performed here — a binding sets the pod's `spec.nodeName` (the pods/binding
 * subresource: refused if the pod is gone, replaced (new uid) or already bound), an
 * unschedulable pod gets the PodScheduled=False condition and a FailedScheduling event,
 * and waits until a node or pod change makes it worth another try.
 */
import { timestamp, type Clock } from '../clock.js';
import type { Node, Pod } from '../objects/core.js';
import { Scheduler, podScheduledCondition, schedulingEvent, type SchedulerOptions } from '../scheduler/scheduler.js';
import type { Store } from '../store/store.js';
import { EventRecorder } from './events.js';
import { Informer } from './informer.js';

export interface SchedulingOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly scheduler?: SchedulerOptions;
}

export class SchedulingController {
  readonly scheduler: Scheduler;
  private readonly nodes: Informer<Node>;
  private readonly pods: Informer<Pod>;
  private readonly events: EventRecorder;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: SchedulingOptions) {
    this.scheduler = new Scheduler(options.scheduler);
    this.nodes = new Informer<Node>(options.store, 'Node');
    this.pods = new Informer<Pod>(options.store, 'Pod');
    this.events = new EventRecorder(options.store, options.clock, 'default-scheduler');
  }

  async start(): Promise<void> {
    await this.nodes.start();
    await this.pods.start();
    // `on` replays the cache as ADDED events: nodes first, then pods (the initial sync).
    this.nodes.on((type, object) => {
      this.scheduler.onNodeEvent({ type, object });
      this.kick();
    });
    this.pods.on((type, object) => {
      this.scheduler.onPodEvent({ type, object });
      this.kick();
    });
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.nodes.stop(), this.pods.stop()]);
    await this.running;
  }

  /** Resolves when no scheduling cycle is running or queued (pods may still wait as unschedulable). */
  whenIdle(): Promise<void> {
    if (this.running === undefined) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.kick();
        return;
      }
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    });
  }

  private async drain(): Promise<void> {
    for (let d = this.scheduler.scheduleOne(); d !== undefined && !this.stopped; d = this.scheduler.scheduleOne()) {
      const pod = d.pod;
      const key = { kind: 'Pod', namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name ?? '' };
      if (d.status === 'Scheduled') {
        const bound = await this.bind(pod, d.nodeName);
        if (!bound) {
          this.scheduler.bindingFailed(pod);
          continue;
        }
        void this.events.record(pod, ...eventArgs(schedulingEvent(d)));
      } else {
        const condition = podScheduledCondition(d, timestamp(this.options.clock.now()));
        const cur = this.options.store.get<Pod>(key);
        if (cur.ok && cur.value.metadata.uid === pod.metadata.uid) {
          const others = (cur.value.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
          await this.options.store.patch(key, { status: { phase: 'Pending', conditions: [...others, condition] } }, { subresource: 'status' });
        }
        void this.events.record(pod, ...eventArgs(schedulingEvent(d)));
      }
    }
  }

  /** pods/binding: true when the pod is now bound to `nodeName`. */
  private async bind(pod: Pod, nodeName: string): Promise<boolean> {
    const key = { kind: 'Pod', namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name ?? '' };
    const cur = this.options.store.get<Pod>(key);
    if (!cur.ok || cur.value.metadata.uid !== pod.metadata.uid || cur.value.metadata.deletionTimestamp !== undefined) return false;
    if ((cur.value.spec?.nodeName ?? '') !== '') return cur.value.spec?.nodeName === nodeName;
    const r = await this.options.store.patch(key, { metadata: { uid: pod.metadata.uid, resourceVersion: cur.value.metadata.resourceVersion }, spec: { nodeName } });
    if (!r.ok) return false;
    const others = (cur.value.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    await this.options.store.patch(key, { status: { conditions: [...others, { type: 'PodScheduled', status: 'True', lastTransitionTime: timestamp(this.options.clock.now()), lastProbeTime: null }] } }, { subresource: 'status' });
    return true;
  }
}

function eventArgs(e: { type: 'Normal' | 'Warning'; reason: string; message: string }): ['Normal' | 'Warning', string, string] {
  return [e.type, e.reason, e.message];
}

/**
 * Events (core/v1 Event): what controllers, the scheduler and kubelets tell the user
 * about an object (`kubectl describe`'s Events). Recording is best-effort and never
 * blocks the caller's reconcile: a failed write is dropped, as client-go's recorder does.
 * Repeats of the same (object, reason, message) within the recorder's life bump `count`
 * and `lastTimestamp` on one Event instead of making another.
 */
import type { KubeObject } from '../api/types.js';
import { timestamp, type Clock } from '../clock.js';
import type { ObjectWriter } from '../store/store.js';

export interface CoreEvent extends KubeObject {
  readonly apiVersion: 'v1';
  readonly kind: 'Event';
  readonly involvedObject: { readonly apiVersion: string; readonly kind: string; readonly namespace?: string; readonly name: string; readonly uid?: string };
  readonly reason: string;
  readonly message: string;
  readonly type: 'Normal' | 'Warning';
  readonly count: number;
  readonly firstTimestamp: string;
  readonly lastTimestamp: string;
  readonly source: { readonly component: string; readonly host?: string };
  readonly reportingComponent: string;
}

export class EventRecorder {
  private readonly seen = new Map<string, { name: string; namespace: string; count: number; first: string }>();
  private seq = 0;

  constructor(
    private readonly store: ObjectWriter,
    private readonly clock: Clock,
    /** `source.component`: `default-scheduler`, `replicaset-controller`, `kubelet`… */
    private readonly component: string,
  ) {}

  /** Records an event about `obj`. Resolves when written (or dropped); never rejects. */
  async record(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const namespace = obj.metadata.namespace ?? 'default';
    const name = obj.metadata.name ?? '';
    const id = `${obj.kind}/${namespace}/${name}/${obj.metadata.uid ?? ''}/${reason}/${message}`;
    const now = timestamp(this.clock.now());
    const before = this.seen.get(id);
    try {
      if (before !== undefined) {
        before.count++;
        const r = await this.store.patch({ kind: 'Event', namespace: before.namespace, name: before.name }, { count: before.count, lastTimestamp: now });
        if (r.ok) return;
      }
      const evName = `${name}.${(this.clock.now() * 1000 + this.seq++).toString(16)}`;
      const event: CoreEvent = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: evName, namespace },
        involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, namespace, name, ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}) },
        reason,
        message,
        type,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: this.component },
        reportingComponent: this.component,
      };
      const r = await this.store.create(event);
      if (r.ok) this.seen.set(id, { name: evName, namespace, count: 1, first: now });
    } catch {
      // Best-effort: a closed or failed store drops the event.
    }
  }
}

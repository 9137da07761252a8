import { afterEach, describe, expect, it } from 'vitest';
import type { Job } from '../objects/index.js';
import { unwrap } from '../store/store.js';
import { controllerRef, getCondition, isPodActive } from './controller.js';
import type { CoreEvent } from './events.js';
import { CONTROLLER_UID_LABEL, JOB_NAME_LABEL, JobController } from './job.js';
import { type Fixture, fixture, template } from './testing.js';

let f: Fixture;
afterEach(async () => {
  const open = f as Fixture | undefined;
  f = undefined as unknown as Fixture;
  await open?.close();
});

const job = (spec: Partial<Job['spec']> = {}, restartPolicy: 'Never' | 'OnFailure' = 'Never'): Job => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'pi', namespace: 'default' },
  spec: { template: template({ app: 'pi' }, 'pi:1', { restartPolicy }), ...spec },
});
const getJob = () => unwrap(f.store.get<Job>({ kind: 'Job', namespace: 'default', name: 'pi' }));
const cond = (type: string) => getCondition(getJob().status?.conditions, type);

describe('JobController', () => {
  it('runs completions pods, at most parallelism at once, then completes', async () => {
    f = await fixture((o) => new JobController(o));
    const created = unwrap(await f.store.create(job({ completions: 5, parallelism: 2 })));
    await f.settle();
    const first = f.pods();
    expect(first).toHaveLength(2);
    for (const p of first) {
      expect(p.metadata.labels).toMatchObject({ app: 'pi', 'job-name': 'pi', [JOB_NAME_LABEL]: 'pi', 'controller-uid': created.metadata.uid, [CONTROLLER_UID_LABEL]: created.metadata.uid });
      expect(controllerRef(p)).toMatchObject({ kind: 'Job', name: 'pi', uid: created.metadata.uid });
      expect(p.spec.restartPolicy).toBe('Never');
    }
    expect(getJob().status).toMatchObject({ active: 2, succeeded: 0, failed: 0, startTime: '2026-01-01T00:00:00Z' });
    const activeCounts: number[] = [];
    for (let step = 0; step < 10 && cond('Complete') === undefined; step++) {
      const active = f.pods(isPodActive);
      activeCounts.push(active.length);
      await f.clock.advance(1000);
      await f.finish(active[0]!, 'Succeeded');
      await f.settle();
    }
    // 2 at a time while 2 or more remain, then 1 for the last one.
    expect(activeCounts).toEqual([2, 2, 2, 2, 1]);
    expect(cond('Complete')).toMatchObject({ status: 'True' });
    expect(getJob().status).toMatchObject({ active: 0, succeeded: 5, failed: 0, completionTime: '2026-01-01T00:00:05Z' });
    expect(f.pods()).toHaveLength(5);
    await f.clock.advance(60_000);
    expect(f.pods()).toHaveLength(5); // nothing more once complete
  });

  it('restartPolicy Never: a new pod per failure after the back-off, then Failed with BackoffLimitExceeded past backoffLimit', async () => {
    f = await fixture((o) => new JobController(o));
    unwrap(await f.store.create(job({ backoffLimit: 2 })));
    await f.settle();
    const t0 = f.clock.now();
    const created: number[] = [];
    for (let i = 1; i <= 3; i++) {
      await f.clock.advanceUntil(() => f.pods(isPodActive).length > 0, { step: 1000, limit: 600_000 });
      const active = f.pods(isPodActive);
      expect(active).toHaveLength(1);
      created.push((Date.parse(active[0]!.metadata.creationTimestamp!) - t0) / 1000);
      expect(cond('Failed')).toBeUndefined();
      await f.finish(active[0]!, 'Failed');
      await f.settle();
      expect(getJob().status?.failed).toBe(i);
    }
    // Back-off after the 1st failure 10 s, after the 2nd 20 s.
    expect(created).toEqual([0, 10, 30]);
    expect(cond('Failed')).toMatchObject({ status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
    expect(f.pods()).toHaveLength(3);
    expect(f.pods(isPodActive)).toHaveLength(0);
    expect(getJob().status).toMatchObject({ active: 0, failed: 3, succeeded: 0 });
    expect(cond('Complete')).toBeUndefined();
    const events = unwrap(f.store.list<CoreEvent>('Event', { namespace: 'default' })).items.map((e) => `${e.reason}`);
    expect(events.filter((r) => r === 'SuccessfulCreate')).toHaveLength(3);
    expect(events).toContain('BackoffLimitExceeded');
  });

  it('restartPolicy OnFailure: container restarts count toward backoffLimit; the pod is not replaced', async () => {
    f = await fixture((o) => new JobController(o));
    unwrap(await f.store.create(job({ backoffLimit: 2 }, 'OnFailure')));
    await f.settle();
    const [pod] = f.pods();
    await f.ready(pod!);
    await f.settle();
    await f.restart(f.pods()[0]!);
    await f.settle();
    expect(f.pods()).toHaveLength(1);
    expect(cond('Failed')).toBeUndefined();
    await f.restart(f.pods()[0]!);
    await f.settle();
    expect(cond('Failed')).toMatchObject({ status: 'True', reason: 'BackoffLimitExceeded' });
    expect(f.pods()).toHaveLength(0); // the running pod was stopped
    expect(getJob().status).toMatchObject({ active: 0, failed: 1 });
  });

  it('a succeeded pod completes a Job with no completions (work queue) once no pod is active', async () => {
    f = await fixture((o) => new JobController(o));
    unwrap(await f.store.create(job({ parallelism: 2 })));
    await f.settle();
    const [a, b] = f.pods();
    await f.finish(a!, 'Succeeded');
    await f.settle();
    expect(f.pods(isPodActive)).toHaveLength(1); // no replacement once one succeeded
    expect(cond('Complete')).toBeUndefined();
    await f.finish(b!, 'Succeeded');
    await f.settle();
    expect(cond('Complete')).toMatchObject({ status: 'True' });
    expect(getJob().status?.succeeded).toBe(2);
  });

  it('fails with DeadlineExceeded after activeDeadlineSeconds of cluster time', async () => {
    f = await fixture((o) => new JobController(o));
    unwrap(await f.store.create(job({ activeDeadlineSeconds: 60 })));
    await f.settle();
    await f.clock.advance(59_000);
    expect(cond('Failed')).toBeUndefined();
    expect(f.pods(isPodActive)).toHaveLength(1);
    await f.clock.advance(1_000);
    await f.settle();
    expect(cond('Failed')).toMatchObject({ status: 'True', reason: 'DeadlineExceeded', lastTransitionTime: '2026-01-01T00:01:00Z' });
    expect(f.pods(isPodActive)).toHaveLength(0);
  });
});

/**
 * The PreFilter and PreScore skips (a plugin not run for a pod, or for a cluster, where
 * it would have nothing to say) must never change a decision: random clusters and pods,
 * scheduled once by the default plugins and once by the same plugins stripped of their
 * skips, give the same node, message and reasons, cycle after cycle.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Taint, Toleration } from '../objects/core.js';
import type { FilterPlugin, ScorePlugin } from './framework.js';
import { DEFAULT_FILTERS, DEFAULT_SCORES, Scheduler, type ScheduleResult } from './scheduler.js';
import { bound, makeNode, makePod } from './testing.js';

const noSkips = {
  filters: DEFAULT_FILTERS.map((f): FilterPlugin => ({ name: f.name, filter: (p, n) => f.filter(p, n) })),
  scores: DEFAULT_SCORES.map(({ plugin, weight }) => ({
    weight,
    plugin: {
      name: plugin.name,
      score: (p, n) => plugin.score(p, n),
      ...(plugin.normalizeScore ? { normalizeScore: plugin.normalizeScore.bind(plugin) } : {}),
    } satisfies ScorePlugin,
  })),
};

const taint = fc.record({ key: fc.constantFrom('a', 'b'), value: fc.constantFrom('x', 'y'), effect: fc.constantFrom('NoSchedule', 'NoExecute', 'PreferNoSchedule') }) as fc.Arbitrary<Taint>;
const toleration = fc.record({ key: fc.constantFrom('a', 'b'), operator: fc.constantFrom('Exists', 'Equal'), value: fc.constantFrom('x', 'y'), effect: fc.constantFrom('NoSchedule', 'PreferNoSchedule', '') });
const node = fc.record({
  taints: fc.array(taint, { maxLength: 2 }),
  unschedulable: fc.boolean(),
  ready: fc.constantFrom('True', 'True', 'True', 'False', 'Unknown'),
  zone: fc.constantFrom('z1', 'z2'),
  cpu: fc.constantFrom('1', '4'),
});
const pod = fc.record({
  tolerations: fc.array(toleration, { maxLength: 2 }),
  zone: fc.option(fc.constantFrom('z1', 'z2')),
  nodeName: fc.option(fc.nat(7)),
  owner: fc.option(fc.constantFrom('rs-1', 'rs-2')),
  cpu: fc.constantFrom('100m', '900m', '2'),
});
const cluster = fc.record({
  nodes: fc.array(node, { minLength: 1, maxLength: 8 }),
  pods: fc.array(pod, { minLength: 1, maxLength: 12 }),
  // A node changed between cycles (cordoned, tainted, turned NotReady; or deleted and added
  // again): the counts the skips use must follow.
  change: fc.option(fc.record({ at: fc.nat(11), node: fc.nat(7), to: node, readd: fc.boolean() })),
});

const summary = (r: ScheduleResult | undefined): unknown =>
  r === undefined ? undefined : r.status === 'Scheduled' ? ['ok', r.nodeName, r.feasibleNodes, r.evaluatedNodes] : ['no', r.message, [...r.reasons], [...r.plugins].sort()];

describe('scheduler skips', () => {
  it('never change a decision (random clusters, with a node changing between cycles)', () => {
    fc.assert(
      fc.property(cluster, (c) => {
        const runs = [new Scheduler({ seed: 7 }), new Scheduler({ seed: 7, ...noSkips })];
        const nodeOf = (i: number, n: typeof c.nodes[number]) =>
          makeNode(`n${i}`, { cpu: n.cpu, labels: { zone: n.zone }, taints: n.taints, unschedulable: n.unschedulable, ready: n.ready as 'True' | 'False' | 'Unknown' });
        for (const s of runs) c.nodes.forEach((n, i) => s.onNodeEvent({ type: 'ADDED', object: nodeOf(i, n) }));
        const out: unknown[][] = [[], []];
        c.pods.forEach((p, i) => {
          const made = makePod(`p${i}`, {
            cpu: p.cpu,
            tolerations: p.tolerations as Toleration[],
            ...(p.zone !== null ? { nodeSelector: { zone: p.zone } } : {}),
            ...(p.nodeName !== null ? { nodeName: `n${p.nodeName}` } : {}),
            ...(p.owner !== null ? { owner: p.owner } : {}),
          });
          runs.forEach((s, k) => {
            const ch = c.change;
            if (ch !== null && ch.at === i && ch.node < c.nodes.length) {
              // Deleted and added again, or modified in place.
              if (ch.readd) s.onNodeEvent({ type: 'DELETED', object: nodeOf(ch.node, c.nodes[ch.node] as typeof ch.to) });
              s.onNodeEvent({ type: ch.readd ? 'ADDED' : 'MODIFIED', object: nodeOf(ch.node, ch.to) });
            }
            if (made.spec.nodeName !== undefined) return; // bound already: not the scheduler's
            s.onPodEvent({ type: 'ADDED', object: made });
            const r = s.scheduleOne();
            out[k]?.push(summary(r));
            if (r?.status === 'Scheduled') s.onPodEvent({ type: 'MODIFIED', object: bound(made, r.nodeName) });
          });
        });
        expect(out[0]).toEqual(out[1]);
      }),
      { numRuns: 1000 },
    );
  });
});

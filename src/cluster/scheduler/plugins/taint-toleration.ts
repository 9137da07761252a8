/**
 * TaintToleration (kube-scheduler plugins/tainttoleration/taint_toleration.go).
 * Filter: a node with a NoSchedule or NoExecute taint the pod does not tolerate is out.
 * Score: fewer untolerated PreferNoSchedule taints is better (normalized in reverse).
 */
import type { Taint } from '../../objects/core.js';
import { defaultNormalizeScore, unschedulable, type FilterPlugin, type ScorePlugin, type Status } from '../framework.js';
import { tolerates, untoleratedReason } from './tolerations.js';

// One Status per distinct taint, made once: the filter allocates nothing on repeat.
const statuses = new Map<string, Status>();
function untolerated(taint: Taint): Status {
  const key = `${taint.key}\u0000${taint.value ?? ''}`;
  let s = statuses.get(key);
  if (!s) {
    s = unschedulable(untoleratedReason(taint), 'UnschedulableAndUnresolvable');
    if (statuses.size < 1024) statuses.set(key, s);
  }
  return s;
}

export const taintToleration = {
  name: 'TaintToleration',
  preFilterSkip(_pod, cache) {
    return cache.noScheduleNodes === 0;
  },
  filter(pod, node) {
    const taints = node.noScheduleTaints;
    for (let i = 0; i < taints.length; i++) {
      const t = taints[i] as Taint;
      if (!tolerates(pod.tolerations, t)) return untolerated(t);
    }
    return null;
  },
  // No node has a PreferNoSchedule taint: every node scores 0, normalized alike.
  skip(_pod, cache) {
    return cache.preferNoScheduleNodes === 0;
  },
  score(pod, node) {
    const taints = node.preferNoScheduleTaints;
    if (taints.length === 0) return 0;
    // Only tolerations that can match PreferNoSchedule count (getAllTolerationPreferNoSchedule).
    const tols = pod.tolerations.filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
    let n = 0;
    for (const t of taints) if (!tolerates(tols, t)) n++;
    return n;
  },
  normalizeScore(_pod, scores, count) {
    defaultNormalizeScore(scores, count, true);
  },
} satisfies FilterPlugin & ScorePlugin;

/**
 * SelectorSpread (kube-scheduler's plugins/selectorspread, removed in 1.27 in favour of
 * PodTopologySpread's system defaults): spreads the pods of one controller over nodes.
 * Kubernetes counted the pods matching the selectors of the Services, ReplicaSets and
 * StatefulSets that select the pod; skiff counts the pods with the same controller owner
 * (the same ReplicaSet or Job), which for a ReplicaSet is the same set, and needs no
 * lookup in the store. Score: that count on the node; NormalizeScore:
 * MaxNodeScore × (max − count) / max, so the node with the fewest wins.
 */
import { MaxNodeScore, type ScorePlugin } from '../framework.js';

export const selectorSpread = {
  name: 'SelectorSpread',
  skip(pod) {
    return pod.ownerKey === undefined;
  },
  score(pod, node) {
    return pod.ownerKey === undefined ? 0 : (node.ownerCounts.get(pod.ownerKey) ?? 0);
  },
  normalizeScore(_pod, scores, count) {
    let max = 0;
    for (let i = 0; i < count; i++) if ((scores[i] as number) > max) max = scores[i] as number;
    for (let i = 0; i < count; i++) scores[i] = max === 0 ? MaxNodeScore : Math.trunc((MaxNodeScore * (max - (scores[i] as number))) / max);
  },
} satisfies ScorePlugin;

/**
 * NodeAffinity (kube-scheduler plugins/nodeaffinity/node_affinity.go).
 * Filter: the node's labels must match spec.nodeSelector and one of the required node
 * affinity terms. Score: the sum of the weights of the preferred terms the node matches,
 * normalized to 0..100.
 */
import { defaultNormalizeScore, unschedulable, type FilterPlugin, type ScorePlugin } from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import type { CompiledRequirement, CompiledTerm } from '../pod-info.js';

/** nodeaffinity.ErrReasonPod. */
export const ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector";
const MISMATCH = unschedulable(ERR_REASON_POD, 'UnschedulableAndUnresolvable');

function requirementMatches(r: CompiledRequirement, value: string | undefined): boolean {
  switch (r.operator) {
    case 'In':
      return value !== undefined && r.values.includes(value);
    case 'NotIn':
      return value === undefined || !r.values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || !/^-?\d+$/.test(value)) return false;
      const v = Number.parseInt(value, 10);
      return r.operator === 'Gt' ? v > r.bound : v < r.bound;
    }
  }
}

/** Whether `node` matches the term: every expression on labels, every field (metadata.name). An empty term matches nothing. */
export function termMatches(term: CompiledTerm, node: NodeInfo): boolean {
  if (term.expressions.length === 0 && term.fields.length === 0) return false;
  for (const r of term.expressions) if (!requirementMatches(r, Object.hasOwn(node.labels, r.key) ? node.labels[r.key] : undefined)) return false;
  for (const r of term.fields) if (!requirementMatches(r, r.key === 'metadata.name' ? node.name : undefined)) return false;
  return true;
}

export const nodeAffinity = {
  name: 'NodeAffinity',
  // kube's NodeAffinity PreFilter returns Skip the same way: no nodeSelector, no required terms.
  preFilterSkip(pod) {
    return pod.nodeSelector.length === 0 && pod.requiredTerms === undefined;
  },
  filter(pod, node) {
    const sel = pod.nodeSelector;
    const labels = node.labels;
    for (let i = 0; i < sel.length; i++) {
      const [k, v] = sel[i] as readonly [string, string];
      if (labels[k] !== v || !Object.hasOwn(labels, k)) return MISMATCH;
    }
    const terms = pod.requiredTerms;
    if (terms === undefined) return null;
    for (const t of terms) if (termMatches(t, node)) return null;
    return MISMATCH;
  },
  skip(pod) {
    return pod.preferredTerms.length === 0;
  },
  score(pod, node) {
    let sum = 0;
    for (const p of pod.preferredTerms) if (termMatches(p.term, node)) sum += p.weight;
    return sum;
  },
  normalizeScore(_pod, scores, count) {
    defaultNormalizeScore(scores, count, false);
  },
} satisfies FilterPlugin & ScorePlugin;

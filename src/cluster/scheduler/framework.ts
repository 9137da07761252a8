/**
 * The scheduling framework's plugin interfaces, after kube-scheduler's
 * pkg/scheduler/framework/interface.go, reduced to the extension points skiff uses.
 *
 * Words:
 * - A *scheduling cycle* places one pending pod: every Filter plugin runs on a node until
 *   one rejects it; the nodes no filter rejects are *feasible*; every Score plugin rates
 *   each feasible node, NormalizeScore rescales a plugin's ratings to 0..MaxNodeScore,
 *   the weighted sum ranks the nodes and the best one is picked.
 * - A filter's answer is `null` for Success (so that the common case allocates nothing)
 *   or a `Status`. Unschedulable is a status, not an error (STYLE §5): the reasons are
 *   counted over all nodes into the message kube-scheduler gives
 *   (`0/5 nodes are available: 3 Insufficient cpu, 2 node(s) were unschedulable.`).
 *   A plugin throws only for the unexpected.
 * - Plugins are stateless values (`export const nodeName = {…} satisfies FilterPlugin`):
 *   everything they read is in the PodInfo (computed once per pod) and the NodeInfo
 *   (the scheduler cache's incremental view of one node). They must not change either.
 */
import type { SchedulerCache } from './cache.js';
import type { NodeInfo } from './node-info.js';
import type { PodInfo } from './pod-info.js';

/** The highest score a plugin gives a node after NormalizeScore (kube's framework.MaxNodeScore). */
export const MaxNodeScore = 100;

/**
 * Unschedulable: the pod might fit after a change the scheduler could make (preemption,
 * which skiff does not do). UnschedulableAndUnresolvable: only a change to the node or
 * the pod will help. Both make the pod wait for a cluster event.
 */
export type Code = 'Unschedulable' | 'UnschedulableAndUnresolvable';

export interface Status {
  readonly code: Code;
  /** Short, node-independent reasons (`Insufficient cpu`): they are counted across nodes. */
  readonly reasons: readonly string[];
}

export interface Plugin {
  /** kube-scheduler's name for the plugin (`NodeResourcesFit`), or skiff's for its own. */
  readonly name: string;
}

export interface FilterPlugin extends Plugin {
  /**
   * PreFilter's Skip: true when `filter` would pass every node for `pod` (the pod asks
   * nothing of nodes, or no node in `cache` has what the filter refuses), so the framework
   * does not call `filter` for it at all: the outcome of the cycle is the same either way.
   */
  preFilterSkip?(pod: PodInfo, cache: SchedulerCache): boolean;
  /** Whether `node` can run `pod`: null for yes, else why not. */
  filter(pod: PodInfo, node: NodeInfo): Status | null;
}

export interface ScorePlugin extends Plugin {
  /**
   * PreScore's Skip: true when this plugin has nothing to say about `pod` (every node
   * would get the same score, which adds the same to every total and changes no choice),
   * so the framework does not call `score` for it at all. `cache`: the cluster as the
   * cycle sees it.
   */
  skip?(pod: PodInfo, cache: SchedulerCache): boolean;
  /** A feasible node's raw score: a non-negative integer. */
  score(pod: PodInfo, node: NodeInfo): number;
  /**
   * ScoreExtensions.NormalizeScore: rescales the raw scores `scores[0..count)` of all
   * feasible nodes, in place, to 0..MaxNodeScore. Absent when `score` already is.
   */
  normalizeScore?(pod: PodInfo, scores: Float64Array, count: number): void;
}

export interface WeightedScorePlugin {
  readonly plugin: ScorePlugin;
  readonly weight: number;
}

/** A Status of code Unschedulable with one reason. */
export function unschedulable(reason: string, code: Code = 'Unschedulable'): Status {
  return Object.freeze({ code, reasons: Object.freeze([reason]) });
}

/**
 * helper.DefaultNormalizeScore: scales `[0, max]` to `[0, MaxNodeScore]` (integer
 * division, as kube does) and, with `reverse`, turns it around so that fewer is better.
 */
export function defaultNormalizeScore(scores: Float64Array, count: number, reverse: boolean): void {
  let max = 0;
  for (let i = 0; i < count; i++) if ((scores[i] as number) > max) max = scores[i] as number;
  if (max === 0) {
    if (reverse) for (let i = 0; i < count; i++) scores[i] = MaxNodeScore;
    return;
  }
  for (let i = 0; i < count; i++) {
    const s = Math.floor((MaxNodeScore * (scores[i] as number)) / max);
    scores[i] = reverse ? MaxNodeScore - s : s;
  }
}

/** skiff's scheduler: kube-scheduler's framework and default plugins over an incremental cache. */
export {
  Scheduler,
  DEFAULT_FILTERS,
  DEFAULT_SCORES,
  DEFAULT_SCHEDULER_NAME,
  NO_NODES_AVAILABLE,
  bindingFor,
  fitErrorMessage,
  podScheduledCondition,
  schedulingEvent,
  type SchedulerOptions,
  type ScheduleResult,
  type Scheduled,
  type Unschedulable,
} from './scheduler.js';
export { MaxNodeScore, defaultNormalizeScore, unschedulable, type Code, type FilterPlugin, type Plugin, type ScorePlugin, type Status, type WeightedScorePlugin } from './framework.js';
export { NodeInfo } from './node-info.js';
export { podInfo, type PodInfo } from './pod-info.js';
export { SchedulerCache } from './cache.js';
export { SchedulingQueue } from './queue.js';
export { nodeName } from './plugins/node-name.js';
export { nodeUnschedulable } from './plugins/node-unschedulable.js';
export { nodeReady } from './plugins/node-ready.js';
export { taintToleration } from './plugins/taint-toleration.js';
export { nodeAffinity } from './plugins/node-affinity.js';
export { nodeResourcesFit } from './plugins/node-resources-fit.js';
export { selectorSpread } from './plugins/selector-spread.js';

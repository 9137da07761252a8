/** The API store (see store.ts for the lifecycle and contracts). */
export type {
  DeleteOptions,
  DeleteResult,
  ListOptions,
  ObjectList,
  ObjectReader,
  ObjectWatcher,
  ObjectWriter,
  PatchOptions,
  Preconditions,
  Result,
  Store,
  Stored,
  Watch,
  WatchOptions,
} from './store.js';
export { unwrap } from './store.js';
export { CLUSTER_SCOPED_KINDS, DEFAULT_FIELD_LABELS, openStore, type Persistence, type StoreOptions } from './object-store.js';
export type { AppendFile, LogFiles } from './log-files.js';
export { MemoryLogFiles } from './log-files.js';
export type { SnapshotPolicy } from './journal.js';
export {
  formatLabelSelector,
  labelSelectorRequirements,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  selectEverything,
  type FieldRequirement,
  type LabelRequirement,
  type LabelSelectorRequirements,
} from './selectors.js';
export { GarbageCollector } from './gc.js';

// The purge layer: deletes old data from a database by its rules (after a
// backup), one PurgeEngine per kind of database (purge-engine.ts holds the
// contract), driven by runPurge (purge-job.ts).
export type { PurgeEngine, PurgeEngineKind, PurgeCount, PurgeRunOptions, PurgeRunResult, BatchReport } from './purge-engine.js';
export { ABORT_GRACE_MS } from './purge-engine.js';
export { openPurgeEngine, withPurgeEngine } from './open-engine.js';
export { globToRegExp } from './files.js';
export {
  runPurge,
  checkPurgeRule,
  purgeFigures,
  validateBatchSize,
  noPurgeRules,
  DEFAULT_BATCH_SIZE,
  MAX_BATCH_SIZE,
  type PurgeOptions,
  type PurgeResult,
  type PurgeRuleResult,
} from './purge-job.js';

// Garbage collection of a volume (format §10): reachability, tombstones,
// repacking and index compaction. The prune job (src/jobs/prune-job.ts) is
// the only caller; writers only read tombstones (through Repository.loadIndex).
export { collectGarbage, type CollectOptions, type CollectResult, type PendingTombstone } from './collector.js';
export { readTombstones, type Tombstone, type TombstoneList } from './tombstones.js';
export { markReachable, loadEntryTable, BlobSet } from './garbage.js';

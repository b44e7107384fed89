// Copies of backups between volumes (format §13): which backups to copy, and
// copying one — its tree rebuilt on the target through the target's own
// chunker and keys, the manifest written last with the same id and fields.

export { planCopy, type CopyFilter, type CopyPlan, type PlannedCopy, type SkippedCopy } from './copy-plan.js';
export { copyBackup, type CopyBackupOptions, type CopyBackupResult } from './backup-copier.js';
export { ContentMemo } from './content-memo.js';
export { TreeCopier, type TreeCopierOptions } from './tree-copier.js';

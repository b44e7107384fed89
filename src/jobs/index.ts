// The jobs layer: the operations users run — backup, restore, check (later
// prune, purge, drill, schedules) — each with progress and an AbortSignal.
// CLI and server call only this.

export * from './types.js';
export { initOrAttachVolume, openVolume, volumeExists, type OpenVolume } from './volume-service.js';
export { listBackups, resolveBackupId, chooseParent, toBackupInfo } from './backup-info.js';
export { runBackup, type BackupOptions } from './backup-job.js';
export { runRestore, type RestoreOptions } from './restore-job.js';
export { runExport, defaultExportName, type ExportOptions, type ExportResult } from './export-job.js';
export { runCheck, type CheckOptions } from './check-job.js';
export { runPrune, DEFAULT_REPACK_THRESHOLD, type PruneOptions, type PruneReport, type RemovedBackup } from './prune-job.js';
export { setBackupExpiry, deleteBackups } from './backup-admin.js';
export { runCopy, type CopyOptions, type CopyReport, type CopiedBackup } from './copy-job.js';
export {
  applyRetention,
  validatePolicy,
  isEmptyPolicy,
  ruleFlag,
  RETENTION_RULES,
  type RetentionPolicy,
  type RetentionRule,
  type RetentionDecision,
} from './retention.js';
export { normalizeDatabaseUrl } from '../sources/index.js';

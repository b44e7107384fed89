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
export { normalizeDatabaseUrl } from '../sources/index.js';

// Shapes shared by every job (backup, restore, check, later prune/purge) and
// by the delivery layers (CLI, server) that run them.

/** A volume as the catalog knows it. */
export interface VolumeRef {
  name: string;
  /** A path, `file://` URL, or (later) `s3://bucket/prefix`. */
  location: string;
}

/** A registered database (source) as the catalog knows it. */
export interface DatabaseRef {
  name: string;
  /** Normalized URL: `file:///abs/dir`, later `postgres://…` etc. */
  url: string;
}

/** One completed backup, as listed and printed (`--json`). */
export interface BackupInfo {
  id: string;
  database: string;
  volume: string;
  level: number;
  parent: string | null;
  /**
   * Set by listings for a backup with a parent: false when the parent was
   * deleted. Every backup restores on its own (levels only share data), so
   * this is information, not damage.
   */
  parentPresent?: boolean;
  status: 'completed';
  startedAt: string;
  finishedAt: string;
  expiresAt: string | null;
  /** Bytes read from the source. */
  bytesRead: number;
  /** Bytes this backup newly wrote to the volume (after dedup, compression, encryption). */
  bytesAdded: number;
}

export interface ProgressEvent {
  phase: 'scan' | 'backup' | 'restore' | 'check' | 'finish' | 'purge' | 'copy';
  bytesDone: number;
  /** Null while unknown. */
  bytesTotal: number | null;
  itemsDone: number;
  itemsTotal: number | null;
}

export type OnProgress = (event: ProgressEvent) => void;

export interface JobContext {
  signal?: AbortSignal;
  onProgress?: OnProgress;
}

export interface CheckProblem {
  /** The object key (e.g. `data/ab/ab12…`) or blob id concerned. */
  object: string;
  message: string;
  /** Ids of the backups that cannot be fully restored because of it. */
  backups: string[];
}

export interface CheckReport {
  ok: boolean;
  backups: number;
  packs: number;
  packsRead: number;
  blobsRead: number;
  problems: CheckProblem[];
}

export interface RestoreResult {
  backup: BackupInfo;
  target: string;
  files: number;
  bytesWritten: number;
}

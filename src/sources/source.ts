// The Source contract: what every kind of database (a directory today;
// PostgreSQL, MySQL, SQLite next) provides to the jobs layer. A source turns
// its database into a tree of named streams on a WriteSession, and a driver
// restores such a tree into a target.
//
// CONTRACT (test/unit/sources/contract.ts runs it for every driver):
//   - backup() reads a consistent view of the database and returns the root
//     tree id; it never reports success for data it could not read.
//   - With `parent`, a source may reuse the parent's content for items it can
//     prove unchanged (files: size, mtime and inode); the result must restore
//     to the full database on its own. When `session.hasTombstones`, reused
//     blob ids must pass `session.has(id)` (a prune may be deleting the
//     packs that hold them, format §10); otherwise read the item again.
//   - backup() honours `signal` promptly (throws ArcaError 'ABORTED').
//   - begin() (optional) only starts the next backup() early: that backup
//     reads the database as it was when begin() ran, and reports begin()'s
//     failures itself; release() leaves nothing open when no backup() follows
//     (test/integration/postgres/pg-begin.test.ts).
//   - restore() never leaves a half-written item under its final name, never
//     overwrites an existing target without `force`, and fails loudly (an
//     ArcaError) on any damaged or missing blob.
//   - export() (optional) yields, in order, the bytes of ONE file that the
//     database's own tools restore without Arca (a tar for directories, the
//     database file for SQLite, a script for psql/mariadb). It only reads the
//     volume: writing, temp names and renames are the caller's (export-job.ts).
//     It fails loudly (an ArcaError) on any damaged or missing blob, so the
//     caller never renames a partial export into place, and it honours
//     `signal` (ArcaError 'ABORTED'). Drivers without it cannot export.

import type { BlobReader } from '../repository/blob-reader.js';
import type { Manifest } from '../repository/manifest.js';
import type { WriteSession } from '../repository/write-session.js';

export interface SourceBackupContext {
  session: WriteSession;
  /** The parent backup (levels 1–9) and a reader for its trees. */
  parent?: { manifest: Manifest; reader: BlobReader };
  signal?: AbortSignal;
  /** Called with bytes read from the source as they are read. */
  onBytes: (n: number) => void;
  /** Parallel connections (`--jobs`, 1–16) for sources that can use them; the source's default when absent. */
  jobs?: number;
}

export interface SourceBackupResult {
  /** Hex id of the root tree. */
  root: string;
  files: number;
  bytesRead: number;
  extra: Record<string, unknown>;
}

export interface SourceRestoreContext {
  reader: BlobReader;
  manifest: Manifest;
  /** A path (files) or URL (databases). */
  target: string;
  force: boolean;
  signal?: AbortSignal;
  onBytes: (n: number) => void;
}

export interface SourceRestoreResult {
  target: string;
  files: number;
  bytesWritten: number;
}

export interface SourceExportContext {
  reader: BlobReader;
  manifest: Manifest;
  signal?: AbortSignal;
  /** Called with bytes read from the volume as they are read. */
  onBytes: (n: number) => void;
}

export interface Source {
  readonly kind: string;
  readonly url: string;
  /** Bytes a full backup would read (for progress), or null when unknown. */
  estimateBytes(signal?: AbortSignal): Promise<number | null>;
  /**
   * Optional: begins the next backup() before the volume is open (whose key
   * derivation takes ~0.4 s): connections, snapshot, and up to `readAhead`
   * bytes of data read into memory. Never throws: backup() reports what
   * failed. release() ends a begun backup that backup() will not continue
   * (a no-op otherwise).
   */
  begin?(opts: { jobs?: number; readAhead?: number }): void;
  release?(): Promise<void>;
  backup(ctx: SourceBackupContext): Promise<SourceBackupResult>;
}

export interface SourceDriver {
  readonly kind: string;
  /** True when this driver handles `url` (already normalized). */
  handles(url: string): boolean;
  /** Canonical URL for user input, or undefined when not this driver's. */
  normalize(input: string): string | undefined;
  open(url: string): Source;
  restore(ctx: SourceRestoreContext): Promise<SourceRestoreResult>;
  /** The native-format export (see CONTRACT); absent when not supported. */
  export?(ctx: SourceExportContext): AsyncIterable<Buffer>;
  /** The export file's extension without the dot (`tar`, `db`, `sql`). */
  readonly exportExtension?: string;
}

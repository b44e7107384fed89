// An in-memory stand-in for the engine modules the CLI imports (src/jobs/
// volume-service, backup-info, backup-job, restore-job, check-job, and
// normalizeDatabaseUrl of src/sources/index) with the same signatures, so the
// CLI can be driven end to end in unit tests (vi.mock) without the engine.
import { randomBytes } from 'node:crypto';
import { ArcaError } from '../../../src/errors.js';
import type {
  BackupInfo,
  CheckReport,
  DatabaseRef,
  JobContext,
  RestoreResult,
  VolumeRef,
} from '../../../src/jobs/types.js';

interface FakeVolume {
  id: string;
  password: string;
  backups: BackupInfo[];
}

export const fake = {
  volumes: new Map<string, FakeVolume>(),
  /** Problems runCheck reports (backup ids filled in by the test). */
  checkProblems: [] as CheckReport['problems'],
  /** When set, runBackup waits for the abort signal instead of finishing. */
  hangBackups: false,
  /** When set, runBackup throws this (a "bug"). */
  backupBug: null as Error | null,
  closed: 0,
  /** Ids the next backups get (random when empty). */
  nextIds: [] as string[],
  reset(): void {
    this.nextIds = [];
    this.volumes.clear();
    this.checkProblems = [];
    this.hangBackups = false;
    this.backupBug = null;
    this.closed = 0;
  },
};

export interface OpenVolume {
  ref: VolumeRef;
  volumeId: string;
  close(): Promise<void>;
}

function state(volume: OpenVolume): FakeVolume {
  const v = fake.volumes.get(volume.ref.location);
  if (!v) throw new ArcaError('NOT_FOUND', `nothing at ${volume.ref.location}`);
  return v;
}

export async function initOrAttachVolume(location: string, password: string) {
  const existing = fake.volumes.get(location);
  if (existing) {
    if (existing.password !== password) throw new ArcaError('WRONG_PASSWORD', 'wrong password');
    return { created: false, volumeId: existing.id };
  }
  const id = randomBytes(16).toString('hex');
  fake.volumes.set(location, { id, password, backups: [] });
  return { created: true, volumeId: id };
}

export async function volumeExists(location: string): Promise<boolean> {
  return fake.volumes.has(location);
}

export async function openVolume(ref: VolumeRef, password: string): Promise<OpenVolume> {
  const v = fake.volumes.get(ref.location);
  if (!v) throw new ArcaError('NOT_FOUND', `nothing at ${ref.location}`);
  if (v.password !== password) throw new ArcaError('WRONG_PASSWORD', 'wrong password');
  return { ref, volumeId: v.id, close: async () => void fake.closed++ };
}

export function normalizeDatabaseUrl(input: string): string {
  if (input.startsWith('file://')) return input;
  if (/^[a-z]+:/.test(input)) throw new ArcaError('USAGE', `unsupported database URL scheme in ${input}`);
  return `file://${input}`;
}

let clock = Date.parse('2024-05-01T10:00:00Z');

/** The fake has no source to begin: runBackup opens none. */
export function beginBackup(): undefined {
  return undefined;
}

export async function runBackup(
  opts: { volume: OpenVolume; database: DatabaseRef; level: number; expiresAt: Date | null } & JobContext,
): Promise<BackupInfo> {
  if (fake.backupBug) throw fake.backupBug;
  const v = state(opts.volume);
  opts.onProgress?.({ phase: 'backup', bytesDone: 0, bytesTotal: 100, itemsDone: 0, itemsTotal: 1 });
  if (fake.hangBackups) {
    await new Promise<void>((_, reject) => {
      opts.signal?.addEventListener('abort', () => reject(new ArcaError('ABORTED', 'backup aborted')));
    });
  }
  clock += 60_000;
  const at = new Date(clock).toISOString();
  const parent = [...v.backups].reverse().find((b) => b.database === opts.database.name && b.level < opts.level);
  const backup: BackupInfo = {
    id: fake.nextIds.shift() ?? randomBytes(16).toString('hex'),
    database: opts.database.name,
    volume: opts.volume.ref.name,
    level: opts.level,
    parent: parent?.id ?? null,
    status: 'completed',
    startedAt: at,
    finishedAt: at,
    expiresAt: opts.expiresAt?.toISOString() ?? null,
    bytesRead: 100,
    bytesAdded: 40,
  };
  v.backups.push(backup);
  return backup;
}

export async function listBackups(volume: OpenVolume, database?: string): Promise<BackupInfo[]> {
  return state(volume).backups.filter((b) => database === undefined || b.database === database);
}

export async function resolveBackupId(volume: OpenVolume, idOrPrefix: string): Promise<string> {
  const matches = state(volume).backups.filter((b) => b.id.startsWith(idOrPrefix));
  const [first, ...more] = matches;
  if (!first) throw new ArcaError('NOT_FOUND', `no backup ${idOrPrefix}`);
  if (more.length > 0) throw new ArcaError('AMBIGUOUS', `backup id ${idOrPrefix} is ambiguous`);
  return first.id;
}

export async function runRestore(
  opts: { volume: OpenVolume; backupId: string; to: string; force: boolean } & JobContext,
): Promise<RestoreResult> {
  const backup = state(opts.volume).backups.find((b) => b.id === opts.backupId);
  if (!backup) throw new ArcaError('NOT_FOUND', `no backup ${opts.backupId}`);
  return { backup, target: opts.to, files: 2, bytesWritten: 100 };
}

export async function runCheck(opts: { volume: OpenVolume; readDataPercent: number } & JobContext): Promise<CheckReport> {
  const v = state(opts.volume);
  return {
    ok: fake.checkProblems.length === 0,
    backups: v.backups.length,
    packs: 1,
    packsRead: opts.readDataPercent > 0 ? 1 : 0,
    blobsRead: opts.readDataPercent > 0 ? 3 : 0,
    problems: fake.checkProblems,
  };
}

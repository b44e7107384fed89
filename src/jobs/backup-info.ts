// Listing backups: manifests on a volume as BackupInfo, parent selection for
// levels, and id-prefix resolution.

import { ArcaError } from '../errors.js';
import type { Manifest } from '../repository/manifest.js';
import type { BackupInfo } from './types.js';
import type { OpenVolume } from './volume-service.js';

export function toBackupInfo(m: Manifest, volume: string, present?: ReadonlySet<string>): BackupInfo {
  return {
    id: m.id,
    database: m.database,
    volume,
    level: m.level,
    parent: m.parent,
    // Listing knows which backups exist: a missing parent was deleted (the backup still restores on its own).
    ...(present && m.parent !== null ? { parentPresent: present.has(m.parent) } : {}),
    status: 'completed',
    startedAt: m.startedAt,
    finishedAt: m.finishedAt,
    expiresAt: m.expiresAt,
    bytesRead: m.bytesRead,
    bytesAdded: m.bytesAdded,
  };
}

const byStart = (a: Manifest, b: Manifest) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id);

/** Completed backups (each manifest is written last, so every listed one is complete), oldest first. */
export async function listBackups(volume: OpenVolume, database?: string): Promise<BackupInfo[]> {
  const all = await volume.repo.listManifests();
  const present = new Set(all.map((m) => m.id));
  return all
    .filter((m) => database === undefined || m.database === database)
    .sort(byStart)
    .map((m) => toBackupInfo(m, volume.ref.name, present));
}

/** The parent of a level-N backup: the newest completed backup of a lower level of the same database. */
export function chooseParent(manifests: Manifest[], database: string, level: number): Manifest | undefined {
  if (level === 0) return undefined;
  return manifests
    .filter((m) => m.database === database && m.level < level)
    .sort(byStart)
    .at(-1);
}

export async function resolveBackupId(volume: OpenVolume, idOrPrefix: string): Promise<string> {
  const prefix = idOrPrefix.toLowerCase();
  if (!/^[0-9a-f]{1,32}$/.test(prefix)) throw new ArcaError('USAGE', `"${idOrPrefix}" is not a backup id (ids are hexadecimal)`);
  const ids = (await volume.repo.listManifestKeys()).map((k) => k.slice(k.lastIndexOf('/') + 1));
  const hits = ids.filter((id) => id.startsWith(prefix));
  if (hits.length === 0) throw new ArcaError('NOT_FOUND', `no backup ${idOrPrefix} on volume ${volume.ref.name}`);
  if (hits.length > 1) throw new ArcaError('AMBIGUOUS', `backup id prefix ${idOrPrefix} matches ${hits.length} backups; give more characters`);
  return hits[0]!;
}

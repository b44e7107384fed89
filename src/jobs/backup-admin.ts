// Changing backups after the fact: a new expiry (a note, format §10.1; the
// manifest never changes) and deletion (the manifest goes at once; the space
// its data used comes back at the next prune).

import { ArcaError } from '../errors.js';
import { writeExpiryNote } from '../repository/notes.js';
import { snapshotKey } from '../repository/object-keys.js';
import { toBackupInfo } from './backup-info.js';
import type { BackupInfo } from './types.js';
import type { OpenVolume } from './volume-service.js';

/** Sets when a backup expires (null: never); returns the backup as it now is. */
export async function setBackupExpiry(volume: OpenVolume, backupId: string, expiresAt: Date | null, now = new Date()): Promise<BackupInfo> {
  const m = await volume.repo.readManifest(backupId);
  const note = await writeExpiryNote(volume.repo, m.id, expiresAt, now);
  return toBackupInfo({ ...m, expiresAt: note.expiresAt }, volume.ref.name);
}

/**
 * Deletes backups (their manifests). Every backup restores on its own, so a
 * deleted parent never breaks a child; the data they alone used is garbage
 * for the next prune. All ids are checked before anything is deleted.
 */
export async function deleteBackups(volume: OpenVolume, backupIds: readonly string[]): Promise<BackupInfo[]> {
  const unique = [...new Set(backupIds)];
  if (unique.length === 0) throw new ArcaError('USAGE', 'name at least one backup to delete');
  const manifests = [];
  for (const id of unique) manifests.push(await volume.repo.readManifest(id));
  for (const m of manifests) await volume.repo.backend.delete(snapshotKey(m.id));
  return manifests.map((m) => toBackupInfo(m, volume.ref.name));
}

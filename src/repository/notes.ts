// Notes (format §10.1): later changes of a backup's mutable attributes. A
// manifest never changes; `arca expire` writes a sealed note
// `notes/<backup id>/<hex(8-byte ms time)>-<hex(4 random)>` and the note whose
// key sorts last (the newest) gives the backup's effective expiry. Prune
// deletes the notes of backups that no longer exist.

import { randomBytes } from 'node:crypto';
import { isNotFound } from '../backend/backend.js';
import { mapLimit } from '../common/map-limit.js';
import { AAD, openSealed } from '../content/seal.js';
import { ArcaError } from '../errors.js';
import type { Manifest } from './manifest.js';
import { NOTES_PREFIX, notesPrefixOf } from './object-keys.js';
import type { Repository } from './repository.js';

export interface ExpiryNote {
  version: 1;
  backup: string;
  /** ISO time, or null: never expires. */
  expiresAt: string | null;
  /** When the note was written (ISO). */
  at: string;
}

/** The key of a new note: the time (16 hex digits of ms) sorts notes oldest to newest. */
export function noteKey(backupId: string, now: Date): string {
  const ms = Buffer.alloc(8);
  ms.writeBigUInt64BE(BigInt(Math.max(0, now.getTime())));
  return `${notesPrefixOf(backupId)}${ms.toString('hex')}-${randomBytes(4).toString('hex')}`;
}

/** Writes a note that sets the backup's expiry; the caller checked that the backup exists. */
export async function writeExpiryNote(repo: Repository, backupId: string, expiresAt: Date | null, now = new Date()): Promise<ExpiryNote> {
  const note: ExpiryNote = { version: 1, backup: backupId, expiresAt: expiresAt ? expiresAt.toISOString() : null, at: now.toISOString() };
  await repo.putSealedJson(noteKey(backupId, now), AAD.note, note);
  return note;
}

export async function readNote(repo: Repository, key: string): Promise<ExpiryNote> {
  const plain = openSealed(repo.keys.encKey, AAD.note, await repo.backend.get(key), `note ${key}`);
  let note: Partial<ExpiryNote>;
  try {
    note = JSON.parse(plain.toString('utf8')) as Partial<ExpiryNote>;
  } catch {
    throw new ArcaError('CORRUPT', `note ${key} is damaged: not JSON`);
  }
  const ok = note.version === 1 && typeof note.backup === 'string' && (note.expiresAt === null || typeof note.expiresAt === 'string') && typeof note.at === 'string';
  if (!ok || !key.startsWith(notesPrefixOf(note.backup ?? ''))) throw new ArcaError('CORRUPT', `note ${key} is damaged: fields missing or for another backup`);
  return note as ExpiryNote;
}

/** Every note key, grouped by backup id, each list sorted oldest first. */
export async function listNoteKeys(repo: Repository): Promise<Map<string, string[]>> {
  const byBackup = new Map<string, string[]>();
  for await (const o of repo.backend.list(NOTES_PREFIX)) {
    const rest = o.key.slice(NOTES_PREFIX.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) continue;
    const id = rest.slice(0, slash);
    let keys = byBackup.get(id);
    if (!keys) byBackup.set(id, (keys = []));
    keys.push(o.key);
  }
  for (const keys of byBackup.values()) keys.sort();
  return byBackup;
}

/**
 * The effective expiry of every backup that has notes: the newest readable
 * note wins. A note deleted while we read (prune removing notes of a deleted
 * backup) falls back to the one before it.
 */
export async function effectiveExpiries(repo: Repository, noteKeys?: Map<string, string[]>): Promise<Map<string, string | null>> {
  const keys = noteKeys ?? (await listNoteKeys(repo));
  const out = new Map<string, string | null>();
  await mapLimit([...keys], 8, async ([backupId, list]) => {
    for (let i = list.length - 1; i >= 0; i--) {
      try {
        out.set(backupId, (await readNote(repo, list[i]!)).expiresAt);
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  });
  return out;
}

/** The newest expiry of one backup from its notes, or undefined when it has none. */
export async function expiryFromNotes(repo: Repository, backupId: string): Promise<string | null | undefined> {
  const list: string[] = [];
  for await (const o of repo.backend.list(notesPrefixOf(backupId))) list.push(o.key);
  const found = await effectiveExpiries(repo, new Map([[backupId, list.sort()]]));
  return found.has(backupId) ? found.get(backupId)! : undefined;
}

/** The manifest with its effective expiry (the manifest's own unless a note changed it). */
export function withExpiry(m: Manifest, expiries: Map<string, string | null>): Manifest {
  return expiries.has(m.id) ? { ...m, expiresAt: expiries.get(m.id)! } : m;
}

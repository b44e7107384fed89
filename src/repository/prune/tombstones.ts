// Tombstones (format §10.3): prune's sealed list of packs it is about to
// delete, and of the sessions it must outlive first. Writers read them when
// they start and never reuse a blob that only a tombstoned pack holds.

import { randomBytes } from 'node:crypto';
import { isNotFound } from '../../backend/backend.js';
import { mapLimit } from '../../common/map-limit.js';
import { AAD, openSealed } from '../../content/seal.js';
import { ArcaError, isArcaError } from '../../errors.js';
import { TOMBSTONES_PREFIX, baseName, tombstoneKey } from '../object-keys.js';
import type { Repository } from '../repository.js';

export interface Tombstone {
  version: 1;
  /** Hex of 16 random bytes; the object is `tombstones/<id>`. */
  id: string;
  createdAt: string;
  /** The prune session that wrote it. */
  prune: string;
  /** Hex ids of the packs to delete. */
  packs: string[];
  /**
   * Sessions alive just after the tombstone was first stored (listed after
   * it, so every writer that may have missed it is named here or had ended).
   * null: not yet confirmed (prune stopped between the two puts).
   */
  waitFor: string[] | null;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX64 = /^[0-9a-f]{64}$/;

export function newTombstone(pruneSession: string, packs: string[], now = new Date()): Tombstone {
  return { version: 1, id: randomBytes(16).toString('hex'), createdAt: now.toISOString(), prune: pruneSession, packs: [...packs].sort(), waitFor: null };
}

export async function putTombstone(repo: Repository, t: Tombstone): Promise<void> {
  await repo.putSealedJson(tombstoneKey(t.id), AAD.tombstone, t);
}

export async function deleteTombstone(repo: Repository, id: string): Promise<void> {
  await repo.backend.delete(tombstoneKey(id));
}

function validate(raw: unknown, key: string): Tombstone {
  const t = raw as Partial<Tombstone>;
  const ok =
    typeof t === 'object' &&
    t !== null &&
    t.version === 1 &&
    typeof t.id === 'string' &&
    t.id === baseName(key) &&
    HEX32.test(t.id) &&
    typeof t.createdAt === 'string' &&
    Array.isArray(t.packs) &&
    t.packs.every((p) => typeof p === 'string' && HEX64.test(p)) &&
    (t.waitFor === null || (Array.isArray(t.waitFor) && t.waitFor.every((s) => typeof s === 'string')));
  if (!ok) throw new ArcaError('CORRUPT', `tombstone ${key} is damaged: fields missing`);
  return t as Tombstone;
}

export interface TombstoneList {
  tombstones: Tombstone[];
  /** Keys of tombstones that cannot be read: void (nobody can act on them); prune deletes them. */
  damaged: string[];
}

export async function readTombstones(repo: Repository): Promise<TombstoneList> {
  const keys: string[] = [];
  for await (const o of repo.backend.list(TOMBSTONES_PREFIX)) keys.push(o.key);
  const damaged: string[] = [];
  const found = await mapLimit(keys, 8, async (key) => {
    try {
      const plain = openSealed(repo.keys.encKey, AAD.tombstone, await repo.backend.get(key), `tombstone ${key}`);
      return validate(JSON.parse(plain.toString('utf8')), key);
    } catch (err) {
      if (isNotFound(err)) return undefined; // deleted by a prune while we listed
      if (isArcaError(err, 'CORRUPT') || err instanceof SyntaxError) {
        damaged.push(key);
        return undefined;
      }
      throw err;
    }
  });
  return { tombstones: found.filter((t): t is Tombstone => t !== undefined), damaged };
}

// Finding things for a request: the volume a job writes to (the named one,
// or the only registered one), the volume that holds a backup (an id or a
// unique prefix, searched on every volume unless one is named), and the
// target of a restore (a URL, an absolute path, or a registered database's
// name).
import { isAbsolute, resolve } from 'node:path';
import { ArcaError, isArcaError } from '../errors.js';
import { getDatabase, listVolumes, requireVolume } from '../catalog/index.js';
import { isValidName } from '../common/names.js';
import { resolveBackupId, type OpenVolume } from '../jobs/index.js';
import type { ServerContext } from './server-context.js';

/** The named volume, or the only one, open. */
export async function chooseVolume(ctx: ServerContext, name: string | undefined): Promise<OpenVolume> {
  if (name !== undefined) return ctx.volumes.open(requireVolume(ctx.catalog, name));
  const all = listVolumes(ctx.catalog);
  if (all.length === 1) return ctx.volumes.open(all[0]!);
  if (all.length === 0) throw new ArcaError('NOT_FOUND', 'no volume registered; add one first (POST /api/v1/volumes)');
  throw new ArcaError('USAGE', `${all.length} volumes are registered (${all.map((v) => v.name).join(', ')}): name one with "volume"`);
}

/** The one volume holding a backup whose id starts with `prefix`. */
export async function locateBackup(ctx: ServerContext, prefix: string, volumeName?: string): Promise<{ volume: OpenVolume; backupId: string }> {
  const volumes = volumeName !== undefined ? [await ctx.volumes.open(requireVolume(ctx.catalog, volumeName))] : await ctx.volumes.openAll();
  const matches: Array<{ volume: OpenVolume; backupId: string }> = [];
  for (const volume of volumes) {
    try {
      matches.push({ volume, backupId: await resolveBackupId(volume, prefix) });
    } catch (err) {
      if (!isArcaError(err, 'NOT_FOUND')) throw err;
    }
  }
  if (matches.length === 0) throw new ArcaError('NOT_FOUND', `no backup ${prefix}${volumeName !== undefined ? ` on volume ${volumeName}` : ''}`);
  if (matches.length > 1) throw new ArcaError('AMBIGUOUS', `backup ${prefix} matches backups on several volumes (${matches.map((m) => m.volume.ref.name).join(', ')}); name the volume or give more of the id`);
  return matches[0]!;
}

const URL_WITH_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * A restore target as the API takes it: a database URL, an absolute path, or
 * the name of a registered database (its URL, credentials included, never
 * leaves the server). Relative paths mean nothing to a client: refused.
 */
export function restoreTarget(ctx: ServerContext, input: string): string {
  const text = input.trim();
  if (URL_WITH_SCHEME.test(text)) return text;
  if (isAbsolute(text)) return resolve(text);
  if (isValidName(text)) {
    const db = getDatabase(ctx.catalog, text);
    if (db) return db.url;
    throw new ArcaError('NOT_FOUND', `no database named ${text} (a restore target is a registered database's name, a database URL or an absolute path)`);
  }
  throw new ArcaError('USAGE', 'a restore target must be a registered database name, a database URL or an absolute path');
}

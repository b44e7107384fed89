// Opening registered volumes for a command: the password, a clear "wrong
// password for volume NAME", a check that the location still holds the
// volume that was registered, and closing at the end of the run.
import { ArcaError, isArcaError } from '../errors.js';
import { listVolumes, type VolumeRecord } from '../catalog/index.js';
// The light modules, not the jobs index: opening a volume must not wait for
// the whole engine to load (see program.ts).
import { openVolume, type OpenVolume } from '../jobs/volume-service.js';
import { resolveBackupId } from '../jobs/backup-info.js';
import type { CliContext } from './context.js';
import { pickVolume } from './options.js';
import { shortId } from './output.js';

export function wrongPassword(volume: string, cause: unknown): ArcaError {
  return new ArcaError('WRONG_PASSWORD', `wrong password for volume ${volume}`, { cause });
}

/** Opens a registered volume with `password`, or the run's password for it (see PasswordSource). */
export async function openRegisteredVolume(ctx: CliContext, record: VolumeRecord, password?: string): Promise<OpenVolume> {
  password ??= await ctx.password(record.name);
  let volume: OpenVolume;
  try {
    volume = await openVolume({ name: record.name, location: record.location }, password);
  } catch (err) {
    if (isArcaError(err, 'WRONG_PASSWORD')) throw wrongPassword(record.name, err);
    if (isArcaError(err, 'NOT_FOUND')) {
      throw new ArcaError('NOT_FOUND', `volume ${record.name}: ${err.message}`, { cause: err });
    }
    throw err;
  }
  ctx.onClose(() => volume.close());
  if (volume.volumeId !== record.volumeId) {
    throw new ArcaError(
      'CONFLICT',
      `the location ${record.location} of volume ${record.name} now holds a different volume ` +
        `(id ${volume.volumeId}, registered ${record.volumeId})`,
    );
  }
  return volume;
}

/** The volume named by --volume, or the only registered one, opened. */
export async function openChosenVolume(ctx: CliContext, requested: string | undefined): Promise<OpenVolume> {
  return openRegisteredVolume(ctx, pickVolume(listVolumes(ctx.catalog()), requested));
}

/** The named volume, or every registered volume, opened in name order. */
export async function openVolumes(ctx: CliContext, requested: string | undefined): Promise<OpenVolume[]> {
  const all = listVolumes(ctx.catalog());
  const chosen = requested === undefined ? all : [pickVolume(all, requested)];
  const opened: OpenVolume[] = [];
  for (const record of chosen) opened.push(await openRegisteredVolume(ctx, record));
  return opened;
}

/** Finds the one volume holding a backup matching `prefix`. */
export async function locateBackup(
  ctx: CliContext,
  prefix: string,
  requested: string | undefined,
): Promise<{ volume: OpenVolume; backupId: string }> {
  const volumes = await openVolumes(ctx, requested);
  const matches: Array<{ volume: OpenVolume; backupId: string }> = [];
  for (const volume of volumes) {
    try {
      matches.push({ volume, backupId: await resolveBackupId(volume, prefix) });
    } catch (err) {
      if (!isArcaError(err, 'NOT_FOUND') || volumes.length === 1) throw err;
    }
  }
  const [first, ...others] = matches;
  if (!first) {
    throw new ArcaError(
      'NOT_FOUND',
      volumes.length === 0 ? 'no volume registered; add one with: arca volume add NAME LOCATION' : `no backup ${prefix}`,
    );
  }
  if (others.length > 0) {
    const where = matches.map((m) => `${shortId(m.backupId)} on ${m.volume.ref.name}`).join(', ');
    throw new ArcaError('AMBIGUOUS', `backup ${prefix} matches several backups (${where}); use --volume or a longer id`);
  }
  return first;
}

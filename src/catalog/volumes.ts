// Registered volumes: the catalog's `volumes` table. A volume's backups live
// on the volume itself; the catalog only remembers where it is and its id (so
// a location that now holds a different volume is noticed).
import { ArcaError } from '../errors.js';
import { validateName } from '../common/names.js';
import { guard, isUniqueViolation, type Catalog } from './catalog.js';

export interface VolumeRecord {
  name: string;
  location: string;
  volumeId: string;
  /** ISO 8601. */
  createdAt: string;
}

export interface NewVolume {
  name: string;
  location: string;
  volumeId: string;
}

interface VolumeRow {
  name: string;
  location: string;
  volume_id: string;
  created_at: string;
}

const COLUMNS = 'name, location, volume_id, created_at';

function fromRow(row: VolumeRow): VolumeRecord {
  return { name: row.name, location: row.location, volumeId: row.volume_id, createdAt: row.created_at };
}

/** Registers a volume. ALREADY_EXISTS when the name, or the volume itself, is registered already. */
export function addVolume(catalog: Catalog, volume: NewVolume): VolumeRecord {
  validateName('volume', volume.name);
  if (volume.location.trim() === '') throw new ArcaError('USAGE', 'a volume location must not be empty');
  const record: VolumeRecord = { ...volume, createdAt: catalog.now().toISOString() };
  return guard(() => {
    try {
      catalog.db
        .prepare<[string, string, string, string]>(`INSERT INTO volumes (${COLUMNS}) VALUES (?, ?, ?, ?)`)
        .run(record.name, record.location, record.volumeId, record.createdAt);
      return record;
    } catch (err) {
      if (isUniqueViolation(err, 'volumes.name')) {
        throw new ArcaError('ALREADY_EXISTS', `a volume named ${volume.name} already exists`, { cause: err });
      }
      if (isUniqueViolation(err, 'volumes.volume_id')) {
        const other = findVolumeById(catalog, volume.volumeId);
        throw new ArcaError(
          'ALREADY_EXISTS',
          `the volume at ${volume.location} is already registered${other ? ` as ${other.name}` : ''}`,
          { cause: err },
        );
      }
      throw err;
    }
  });
}

/** The volume named `name`, or null. */
export function getVolume(catalog: Catalog, name: string): VolumeRecord | null {
  const row = guard(() =>
    catalog.db.prepare<[string], VolumeRow>(`SELECT ${COLUMNS} FROM volumes WHERE name = ?`).get(name),
  );
  return row ? fromRow(row) : null;
}

/** The volume named `name`; ArcaError('NOT_FOUND') listing the known ones otherwise. */
export function requireVolume(catalog: Catalog, name: string): VolumeRecord {
  const found = getVolume(catalog, name);
  if (found) return found;
  const known = listVolumes(catalog).map((v) => v.name);
  throw new ArcaError(
    'NOT_FOUND',
    known.length > 0
      ? `no volume named ${name} (registered: ${known.join(', ')})`
      : `no volume named ${name}; add one with: arca volume add NAME LOCATION`,
  );
}

export function findVolumeById(catalog: Catalog, volumeId: string): VolumeRecord | null {
  const row = guard(() =>
    catalog.db.prepare<[string], VolumeRow>(`SELECT ${COLUMNS} FROM volumes WHERE volume_id = ?`).get(volumeId),
  );
  return row ? fromRow(row) : null;
}

/** All registered volumes, by name. */
export function listVolumes(catalog: Catalog): VolumeRecord[] {
  return guard(() =>
    catalog.db.prepare<[], VolumeRow>(`SELECT ${COLUMNS} FROM volumes ORDER BY name`).all().map(fromRow),
  );
}

/** Forgets a volume (its data stays where it is). NOT_FOUND when it is not registered. */
export function removeVolume(catalog: Catalog, name: string): void {
  const result = guard(() => catalog.db.prepare<[string]>('DELETE FROM volumes WHERE name = ?').run(name));
  if (result.changes === 0) throw new ArcaError('NOT_FOUND', `no volume named ${name}`);
}

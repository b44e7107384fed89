// Public surface of the catalog: Arca's own SQLite database (settings,
// registered volumes and databases; later schedules, rules and job history),
// opened with migrations applied. Volumes stay the source of truth for backups.
export { openCatalog, catalogPath, CATALOG_FILE, type Catalog, type OpenCatalogOptions } from './catalog.js';
export { MIGRATIONS, migrate, schemaVersion, type Migration, type MigrateResult } from './migrations.js';
export {
  addVolume,
  getVolume,
  requireVolume,
  findVolumeById,
  listVolumes,
  removeVolume,
  type VolumeRecord,
  type NewVolume,
} from './volumes.js';
export {
  addDatabase,
  getDatabase,
  requireDatabase,
  listDatabases,
  updateDatabaseSettings,
  removeDatabase,
  type DatabaseRecord,
  type NewDatabase,
  type DatabaseSettings,
  type JsonValue,
} from './databases.js';
export { validateName, isValidName } from '../common/names.js';

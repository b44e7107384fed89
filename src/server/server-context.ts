// What every endpoint may use: the catalog, the open volumes, the jobs this
// server runs, and the version it reports.
import type { Catalog } from '../catalog/catalog.js';
import type { RunningJobs } from './running-jobs.js';
import type { VolumePool } from './volume-pool.js';

export interface ServerContext {
  catalog: Catalog;
  volumes: VolumePool;
  jobs: RunningJobs;
  version: string;
}

// What every endpoint may use: the catalog, the open volumes, the jobs this
// server runs, the cached backup listings, where uploads go, and the
// version it reports.
import type { Catalog } from '../catalog/catalog.js';
import type { JobRecord } from '../catalog/jobs.js';
import type { ManifestCache } from './manifest-cache.js';
import type { RunningJobs } from './running-jobs.js';
import type { VolumePool } from './volume-pool.js';

export interface ServerContext {
  catalog: Catalog;
  volumes: VolumePool;
  jobs: RunningJobs;
  version: string;
  manifests: ManifestCache;
  /** ARCA_HOME: uploads are streamed to a private folder under it. */
  home: string;
  /** The largest upload accepted (bytes). */
  uploadLimit: number;
  /** Trips when the server starts shutting down (long-lived responses such as event streams end). */
  stopping: AbortSignal;
  /** Responses that stream (event streams), each settled when its response has finished; shutdown waits for them. */
  streams: Set<Promise<void>>;
  /** Called when a job this server started has ended (cache invalidation). */
  onJobFinished?: (job: JobRecord) => void;
}

// Figures over the job history for monitoring (/metrics): per database and
// kind, how many jobs ended how, and the newest successful one with its
// figures. One grouped query each, cheap on the indexed jobs table.
import { guard, type Catalog } from './catalog.js';
import type { JobFigures, JobKind } from './jobs.js';

export interface OutcomeCount {
  kind: JobKind;
  database: string | null;
  volume: string | null;
  status: string;
  count: number;
}

export interface LastSuccess {
  kind: JobKind;
  database: string;
  startedAt: string;
  finishedAt: string;
  figures: JobFigures;
}

/** Finished jobs by kind, database, volume and outcome. */
export function jobOutcomeCounts(catalog: Catalog): OutcomeCount[] {
  return guard(() =>
    catalog.db
      .prepare<[], OutcomeCount>(
        `SELECT kind, database, volume, status, count(*) AS count FROM jobs WHERE status != 'running' GROUP BY kind, database, volume, status`,
      )
      .all(),
  );
}

/** The newest successful job of each kind and database. */
export function lastSuccesses(catalog: Catalog): LastSuccess[] {
  const rows = guard(() =>
    catalog.db
      .prepare<[], { kind: JobKind; database: string; startedAt: string; finishedAt: string; figures: string }>(
        `SELECT kind, database, started_at AS startedAt, finished_at AS finishedAt, figures FROM jobs
          WHERE id IN (SELECT max(id) FROM jobs WHERE status = 'succeeded' AND database IS NOT NULL AND finished_at IS NOT NULL GROUP BY kind, database)`,
      )
      .all(),
  );
  return rows.map((r) => ({ ...r, figures: JSON.parse(r.figures) as JobFigures }));
}

/** Running jobs by kind. */
export function runningCounts(catalog: Catalog): Array<{ kind: JobKind; count: number }> {
  return guard(() =>
    catalog.db.prepare<[], { kind: JobKind; count: number }>(`SELECT kind, count(*) AS count FROM jobs WHERE status = 'running' GROUP BY kind`).all(),
  );
}

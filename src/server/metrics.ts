// Prometheus metrics (`/metrics`, text format, `arca_` prefix), computed at
// scrape time from the job history (per database: the newest successful
// backup's time, duration and bytes, failed backups; jobs by kind and
// outcome; running jobs), from the volumes (backups stored, via the manifest
// cache) and from a cached sum of each volume's object sizes (listing a
// whole volume is slow on object storage: at most once per `sizeTtlMs`,
// refreshed in the background once a figure exists). A volume the server
// cannot open reports arca_volume_up 0 instead of failing the scrape.
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { listVolumes } from '../catalog/volumes.js';
import { jobOutcomeCounts, lastSuccesses, runningCounts } from '../catalog/job-stats.js';
import type { Backend } from '../backend/backend.js';
import type { ServerContext } from './server-context.js';

interface SizeEntry {
  bytes: number;
  objects: number;
  at: number;
  refreshing: Promise<void> | null;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly sizes = new Map<string, SizeEntry>();
  private readonly g;

  constructor(
    private readonly ctx: ServerContext,
    private readonly sizeTtlMs = 5 * 60_000,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'arca_' });
    const registers = [this.registry];
    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Gauge<L>({ name, help, labelNames, registers });
    this.g = {
      lastTime: gauge('arca_backup_last_success_timestamp_seconds', 'When the newest successful backup of the database finished (Unix time)', ['database']),
      lastDuration: gauge('arca_backup_last_duration_seconds', 'How long the newest successful backup of the database took', ['database']),
      lastRead: gauge('arca_backup_last_bytes_read', 'Bytes the newest successful backup read from the database', ['database']),
      lastAdded: gauge('arca_backup_last_bytes_added', 'Bytes the newest successful backup added to its volume (after dedup and compression)', ['database']),
      failures: gauge('arca_backup_failures', 'Failed backups of the database in the job history', ['database']),
      finished: gauge('arca_jobs_finished', 'Finished jobs in the job history, by kind and outcome', ['kind', 'status']),
      running: gauge('arca_jobs_running', 'Running jobs (in any process using this catalog), by kind', ['kind']),
      backups: gauge('arca_backups', 'Completed backups stored, by database and volume', ['database', 'volume']),
      up: gauge('arca_volume_up', '1 when the server can open the volume, else 0', ['volume']),
      stored: gauge('arca_volume_stored_bytes', 'Bytes stored on the volume (sum of object sizes; refreshed at most every 5 minutes)', ['volume']),
      objects: gauge('arca_volume_objects', 'Objects stored on the volume (refreshed with arca_volume_stored_bytes)', ['volume']),
    };
  }

  /** The Prometheus text exposition, with every figure read now. */
  async text(): Promise<{ contentType: string; body: string }> {
    this.fillJobs();
    await this.fillVolumes();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private fillJobs(): void {
    const g = this.g;
    for (const x of [g.lastTime, g.lastDuration, g.lastRead, g.lastAdded, g.failures, g.finished, g.running]) x.reset();
    for (const s of lastSuccesses(this.ctx.catalog)) {
      if (s.kind !== 'backup') continue;
      const labels = { database: s.database };
      const end = Date.parse(s.finishedAt);
      g.lastTime.set(labels, end / 1000);
      g.lastDuration.set(labels, Math.max(0, end - Date.parse(s.startedAt)) / 1000);
      const read = num(s.figures['bytesRead']);
      const added = num(s.figures['bytesAdded']);
      if (read !== null) g.lastRead.set(labels, read);
      if (added !== null) g.lastAdded.set(labels, added);
    }
    const failed = new Map<string, number>();
    const finished = new Map<string, { kind: string; status: string; n: number }>();
    for (const c of jobOutcomeCounts(this.ctx.catalog)) {
      if (c.kind === 'backup' && c.database !== null) failed.set(c.database, (failed.get(c.database) ?? 0) + (c.status === 'failed' ? c.count : 0));
      const key = `${c.kind}\0${c.status}`;
      const f = finished.get(key) ?? { kind: c.kind, status: c.status, n: 0 };
      f.n += c.count;
      finished.set(key, f);
    }
    for (const [database, n] of failed) g.failures.set({ database }, n);
    for (const f of finished.values()) g.finished.set({ kind: f.kind, status: f.status }, f.n);
    for (const r of runningCounts(this.ctx.catalog)) g.running.set({ kind: r.kind }, r.count);
  }

  private async fillVolumes(): Promise<void> {
    const g = this.g;
    for (const x of [g.backups, g.up, g.stored, g.objects]) x.reset();
    for (const record of listVolumes(this.ctx.catalog)) {
      const volume = record.name;
      try {
        const open = await this.ctx.volumes.open(record);
        const perDb = new Map<string, number>();
        for (const b of await this.ctx.manifests.list(open)) perDb.set(b.database, (perDb.get(b.database) ?? 0) + 1);
        for (const [database, n] of perDb) g.backups.set({ database, volume }, n);
        const size = await this.size(volume, open.repo.backend);
        g.stored.set({ volume }, size.bytes);
        g.objects.set({ volume }, size.objects);
        g.up.set({ volume }, 1);
      } catch {
        g.up.set({ volume }, 0);
      }
    }
  }

  private async size(volume: string, backend: Backend): Promise<SizeEntry> {
    let entry = this.sizes.get(volume);
    if (!entry) this.sizes.set(volume, (entry = { bytes: 0, objects: 0, at: -Infinity, refreshing: null }));
    const e = entry;
    if (performance.now() - e.at > this.sizeTtlMs && !e.refreshing) {
      e.refreshing = (async () => {
        let bytes = 0;
        let objects = 0;
        for await (const o of backend.list('')) {
          bytes += o.size;
          objects++;
        }
        Object.assign(e, { bytes, objects, at: performance.now() });
      })()
        .catch(() => undefined) // the figure stays as it was (or missing: arca_volume_up 0)
        .finally(() => {
          e.refreshing = null;
        });
    }
    // The first figure is waited for; later ones refresh in the background.
    if (e.at === -Infinity && e.refreshing) await e.refreshing;
    if (e.at === -Infinity) throw new Error(`cannot list volume ${volume}`);
    return e;
  }
}

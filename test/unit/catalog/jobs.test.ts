// The job registry: running rows, exclusion rules decided atomically, dead
// processes' rows closed, abort requests, history filters, maintenance.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addDatabase, catalogPath, openCatalog, type Catalog } from '../../../src/catalog/index.js';
import {
  finishJob,
  getJob,
  heartbeatJob,
  listJobs,
  maintenanceOf,
  recordSkippedJob,
  requestAbort,
  runningJobs,
  startJob,
} from '../../../src/catalog/jobs.js';
import { isArcaError } from '../../../src/errors.js';

let dir: string;
let catalog: Catalog;
let clock: Date;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'arca-jobs-'));
  clock = new Date('2026-11-22T10:00:00Z');
  catalog = openCatalog(catalogPath(dir), { now: () => clock });
});

afterEach(() => {
  catalog.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The pid of a process that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('job registry', () => {
  it('records a job from start to finish with its figures', () => {
    const job = startJob(catalog, { kind: 'backup', database: 'app', volume: 'v1' });
    expect(job).toMatchObject({ kind: 'backup', database: 'app', volume: 'v1', status: 'running', pid: process.pid });
    clock = new Date('2026-11-22T10:05:00Z');
    heartbeatJob(catalog, job.id, { phase: 'backup', bytesDone: 5, bytesTotal: 10, itemsDone: 1, itemsTotal: null, rate: 2 });
    expect(getJob(catalog, job.id)?.progress?.bytesDone).toBe(5);
    const done = finishJob(catalog, job.id, { status: 'succeeded', figures: { bytesAdded: 42 } });
    expect(done).toMatchObject({ status: 'succeeded', finishedAt: '2026-11-22T10:05:00.000Z', figures: { bytesAdded: 42 } });
    expect(runningJobs(catalog)).toEqual([]);
  });

  it('refuses a second purge of the same database, naming when the first started', () => {
    startJob(catalog, { kind: 'purge', database: 'app', exclusive: [{ kinds: ['purge'], scope: 'database' }] });
    let caught: unknown;
    try {
      startJob(catalog, { kind: 'purge', database: 'app', exclusive: [{ kinds: ['purge'], scope: 'database' }] });
    } catch (err) {
      caught = err;
    }
    expect(isArcaError(caught, 'CONFLICT')).toBe(true);
    expect((caught as Error).message).toMatch(/^a purge of app is already running since 2026-11-22T10:00:00.000Z/);
    // Another database, or a kind the rule does not name, is not held up.
    startJob(catalog, { kind: 'purge', database: 'other', exclusive: [{ kinds: ['purge'], scope: 'database' }] });
    startJob(catalog, { kind: 'backup', database: 'app' });
    expect(runningJobs(catalog)).toHaveLength(3);
  });

  it('decides exclusion atomically between two catalog connections', () => {
    const second = openCatalog(catalogPath(dir));
    try {
      const rule = [{ kinds: ['prune'] as const, scope: 'volume' as const }];
      startJob(catalog, { kind: 'prune', volume: 'v', exclusive: rule });
      expect(() => startJob(second, { kind: 'prune', volume: 'v', exclusive: rule })).toThrow(/a prune of v is already running/);
    } finally {
      second.close();
    }
  });

  it('closes the row of a process that died as failed, and lets the next job start', () => {
    const job = startJob(catalog, { kind: 'purge', database: 'app' });
    catalog.db.prepare('UPDATE jobs SET pid = ? WHERE id = ?').run(deadPid(), job.id);
    const next = startJob(catalog, { kind: 'purge', database: 'app', exclusive: [{ kinds: ['purge'], scope: 'database' }] });
    expect(next.status).toBe('running');
    const closed = getJob(catalog, job.id);
    expect(closed?.status).toBe('failed');
    expect(closed?.error).toMatch(/ended without recording an outcome/);
  });

  it('passes an abort request to the heartbeat of the job', () => {
    const a = startJob(catalog, { kind: 'backup', database: 'app' });
    const b = startJob(catalog, { kind: 'backup', database: 'other' });
    expect(heartbeatJob(catalog, a.id).abortRequested).toBe(false);
    expect(requestAbort(catalog, { database: 'app' }).map((j) => j.id)).toEqual([a.id]);
    expect(heartbeatJob(catalog, a.id).abortRequested).toBe(true);
    expect(heartbeatJob(catalog, b.id).abortRequested).toBe(false);
    expect(requestAbort(catalog, { id: b.id }).map((j) => j.id)).toEqual([b.id]);
    finishJob(catalog, a.id, { status: 'aborted', error: 'aborted' });
    expect(requestAbort(catalog, { database: 'app' })).toEqual([]);
  });

  it('filters the history and lists the newest first, skipped runs included', () => {
    for (const [i, kind] of (['backup', 'check', 'backup'] as const).entries()) {
      clock = new Date(Date.UTC(2026, 10, 22, 10, i));
      const j = startJob(catalog, { kind, database: kind === 'check' ? null : 'app', volume: 'v' });
      finishJob(catalog, j.id, { status: 'succeeded' });
    }
    recordSkippedJob(catalog, { kind: 'backup', database: 'app', schedule: 'app-daily' }, 'the previous run is still running');
    expect(listJobs(catalog, { database: 'app' }).map((j) => j.status)).toEqual(['skipped', 'succeeded', 'succeeded']);
    expect(listJobs(catalog, { kind: 'check' })).toHaveLength(1);
    expect(listJobs(catalog, { limit: 2 })).toHaveLength(2);
    expect(listJobs(catalog, { status: 'skipped' })[0]?.schedule).toBe('app-daily');
  });

  it('puts a database in maintenance while a purge or a restore into it runs', () => {
    addDatabase(catalog, { name: 'app', url: 'file:///tmp/app' });
    expect(maintenanceOf(catalog, 'app')).toBeNull();
    const b = startJob(catalog, { kind: 'backup', database: 'app' });
    expect(maintenanceOf(catalog, 'app')).toBeNull();
    const p = startJob(catalog, { kind: 'purge', database: 'app' });
    expect(maintenanceOf(catalog, 'app')?.id).toBe(p.id);
    finishJob(catalog, p.id, { status: 'succeeded' });
    finishJob(catalog, b.id, { status: 'succeeded' });
    expect(maintenanceOf(catalog, 'app')).toBeNull();
  });
});

// trackJob: the outcome is recorded whatever happens, progress reaches other
// processes through the catalog, and an abort requested elsewhere stops the work.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { catalogPath, openCatalog, type Catalog } from '../../../src/catalog/index.js';
import { getJob, requestAbort, runningJobs } from '../../../src/catalog/jobs.js';
import { ArcaError } from '../../../src/errors.js';
import { ABORTED_BY_REQUEST, trackJob } from '../../../src/jobs/job-tracker.js';

let dir: string;
let catalog: Catalog;
let other: Catalog;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'arca-tracker-'));
  catalog = openCatalog(catalogPath(dir));
  other = openCatalog(catalogPath(dir)); // stands for another arca process
});

afterEach(() => {
  catalog.close();
  other.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Resolves when `signal` aborts, rejecting with its reason. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
}

describe('trackJob', () => {
  it('records success with the figures of the result', async () => {
    let id = 0;
    const result = await trackJob(
      catalog,
      { kind: 'check', volume: 'v' },
      async ({ record }) => {
        id = record.id;
        expect(runningJobs(other).map((j) => j.id)).toEqual([record.id]);
        return { ok: true, packs: 3 };
      },
      (r) => ({ packs: r.packs }),
    );
    expect(result.ok).toBe(true);
    expect(getJob(other, id)).toMatchObject({ status: 'succeeded', figures: { packs: 3 }, error: null });
  });

  it('records a failure with a message that carries no password, and rethrows the error', async () => {
    const failure = new ArcaError('SOURCE', 'cannot connect to postgres://app:s3cret@db.example/app');
    let id = 0;
    await expect(
      trackJob(
        catalog,
        { kind: 'backup', database: 'app' },
        async ({ record }) => {
          id = record.id;
          throw failure;
        },
        () => ({}),
      ),
    ).rejects.toBe(failure);
    const job = getJob(other, id);
    expect(job?.status).toBe('failed');
    expect(job?.error).toContain('cannot connect to postgres://');
    expect(job?.error).not.toContain('s3cret');
  });

  it('publishes progress and stops when another process asks it to', async () => {
    let id = 0;
    const run = trackJob(
      catalog,
      { kind: 'backup', database: 'app' },
      async ({ signal, onProgress, record }) => {
        id = record.id;
        onProgress({ phase: 'backup', bytesDone: 25, bytesTotal: 100, itemsDone: 0, itemsTotal: null });
        return untilAborted(signal);
      },
      () => ({}),
      { heartbeatMs: 20 },
    );
    // Another process sees the progress, then asks for the abort.
    for (let i = 0; i < 200 && getJob(other, id)?.progress?.bytesDone !== 25; i++) await new Promise((r) => setTimeout(r, 10));
    expect(getJob(other, id)?.progress).toMatchObject({ phase: 'backup', bytesDone: 25, bytesTotal: 100 });
    requestAbort(other, { database: 'app' });
    await expect(run).rejects.toThrow(ABORTED_BY_REQUEST);
    expect(getJob(other, id)).toMatchObject({ status: 'aborted', error: ABORTED_BY_REQUEST });
  });

  it('refuses to start beside a job its exclusion rule names, running nothing', async () => {
    const rule = { kind: 'purge' as const, database: 'app', exclusive: [{ kinds: ['purge' as const], scope: 'database' as const }] };
    let release = (): void => undefined;
    const first = trackJob(catalog, rule, () => new Promise<void>((r) => (release = r)), () => ({}));
    let ran = false;
    await expect(
      trackJob(other, rule, async () => {
        ran = true;
      }, () => ({})),
    ).rejects.toThrow(/a purge of app is already running since/);
    expect(ran).toBe(false);
    release();
    await first;
  });
});

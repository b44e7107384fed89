// Schedules end to end with the real CLI. No test waits for a cron time:
// `arca schedule run` runs a schedule's backup now (listed, and recorded in
// the job history under the schedule's name, also when it fails, or when the
// schedule's --max-duration stops it), and
// `arca scheduler` started with runs missed long ago (last_run_at far in the
// past) fires each exactly once, then stops cleanly on SIGTERM; `arca serve`
// runs the same scheduler inside it (not with --no-scheduler).
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogPath, openCatalog } from '../../../src/catalog/index.js';
import { claimScheduledRun, getSchedule } from '../../../src/catalog/schedules.js';
import {
  arcaOk,
  backupIdFrom,
  bulkTree,
  describeRun,
  file,
  freshHome,
  listBackups,
  makeScratch,
  makeTree,
  requireBuiltCli,
  runArca,
  spawnArca,
  type Home,
  type Scratch,
} from '../../helpers/index.js';

interface JobJson {
  id: number;
  kind: string;
  database: string | null;
  volume: string | null;
  schedule: string | null;
  status: string;
  error: string | null;
}

async function jobs(home: Home): Promise<JobJson[]> {
  return JSON.parse((await arcaOk(['jobs', '--json'], home.opts)).stdout) as JobJson[];
}

function setLastRun(home: Home, schedule: string, at: string): void {
  const catalog = openCatalog(catalogPath(home.opts.home));
  try {
    const current = getSchedule(catalog, schedule);
    if (!current || !claimScheduledRun(catalog, schedule, current.lastRunAt, at)) throw new Error(`cannot set last_run_at of ${schedule}`);
  } finally {
    catalog.close();
  }
}

describe('schedules end to end', () => {
  let scratch: Scratch;
  let home: Home;

  beforeAll(async () => {
    requireBuiltCli();
    scratch = makeScratch('schedules');
    makeTree(scratch.path('docs'), { 'a.txt': file('alpha\n'), 'b.bin': file({ random: 200_000 }) });
    home = await freshHome(scratch.root);
    const added = await arcaOk(['db', 'add', 'docs', scratch.path('docs')], home.opts);
    expect(added.stdout).toMatch(/scheduled a daily full \(level 0\) backup at 00:00 UTC as schedule docs-daily/);
  });

  afterAll(() => scratch?.cleanup());

  it('schedule run takes the backup now, recorded under the schedule name', async () => {
    const r = await arcaOk(['schedule', 'run', 'docs-daily'], home.opts);
    const id = backupIdFrom(r);
    const listed = await listBackups(home.opts, 'docs');
    expect(listed.map((b) => [b.id, b.level])).toEqual([[id, 0]]);
    const [job] = await jobs(home);
    expect(job).toMatchObject({ kind: 'backup', database: 'docs', volume: 'main', schedule: 'docs-daily', status: 'succeeded' });
    const [view] = JSON.parse((await arcaOk(['schedule', 'list', '--json'], home.opts)).stdout) as Array<{ lastRunAt: string | null; lastJob: { id: number } | null }>;
    expect(view).toMatchObject({ lastRunAt: null, lastJob: { id: job?.id } }); // a run by hand is not a scheduled time
    const table = await arcaOk(['jobs'], home.opts);
    expect(table.stdout).toMatch(/succeeded \(schedule docs-daily\)/);
  });

  it('schedule run of a failing backup exits 1 and the failure is in the history under the schedule name', async () => {
    makeTree(scratch.path('gone'), { 'x.txt': file('x\n') });
    await arcaOk(['db', 'add', 'gone', scratch.path('gone'), '--no-schedule'], home.opts);
    await arcaOk(['schedule', 'add', 'gone-hourly', '--db', 'gone', '--cron', '0 * * * *', '--level', '1', '--expire', '2d'], home.opts);
    rmSync(scratch.path('gone'), { recursive: true });
    const r = await runArca(['schedule', 'run', 'gone-hourly'], home.opts);
    expect(r.code, describeRun(r)).toBe(1);
    // The child's own error (the terminal is shared), then what it means for the schedule.
    expect(r.stderr).toMatch(/^arca: cannot read .*gone.*\narca: schedule gone-hourly: the backup failed \(exit status 1\)\n$/);
    const failed = (await jobs(home)).filter((j) => j.schedule === 'gone-hourly');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ kind: 'backup', database: 'gone', status: 'failed' });
    await arcaOk(['schedule', 'remove', 'gone-hourly'], home.opts);
  });

  it("a schedule's --max-duration reaches its backup: schedule run stops it (exit 1), nothing listed, recorded aborted", async () => {
    // As in the guard-rails test of `arca backup --max-duration`: a rate limit
    // makes the ~10 MB backup take ~5 s, so the smallest limit (1s) is always exceeded.
    makeTree(scratch.path('slow'), bulkTree(9, 10 * 1000 * 1000));
    await arcaOk(['db', 'add', 'slow', scratch.path('slow'), '--no-schedule'], home.opts);
    const added = await arcaOk(
      ['schedule', 'add', 'slow-capped', '--db', 'slow', '--cron', '0 0 1 1 *', '--max-duration', '1s', '--rate-limit', '2MB/s', '--jobs', '3', '--no-nice'],
      home.opts,
    );
    expect(added.stdout).toMatch(/backup \(level 0, max-duration 1s, rate-limit 2MB\/s, jobs 3, no-nice\) of slow/);
    const r = await runArca(['schedule', 'run', 'slow-capped'], home.opts);
    expect(r.code, describeRun(r)).toBe(1);
    expect(r.stderr).toMatch(
      /^arca: backup of slow exceeded --max-duration 1s and was stopped; nothing was listed\narca: schedule slow-capped: the backup failed \(exit status 1\)\n$/,
    );
    expect(await listBackups(home.opts, 'slow')).toEqual([]);
    const recorded = (await jobs(home)).filter((j) => j.schedule === 'slow-capped');
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ kind: 'backup', database: 'slow', status: 'aborted' });
    expect(recorded[0]?.error).toContain('exceeded --max-duration 1s');
    expect(JSON.parse((await arcaOk(['check', '--json'], home.opts)).stdout)).toMatchObject({ ok: true });
    await arcaOk(['schedule', 'remove', 'slow-capped'], home.opts);
  });

  it('the scheduler fires runs missed while it was down once each at start-up, and stops on SIGTERM', async () => {
    // Yearly: runs were missed since 2020, and no regular run falls inside the test (every 5 minutes, one
    // did now and then, and a second "verify: started" failed the test).
    await arcaOk(['schedule', 'add', 'verify', '--kind', 'check', '--volume', 'main', '--cron', '30 12 1 1 *'], home.opts);
    setLastRun(home, 'docs-daily', '2020-01-01T00:00:00.000Z'); // 2000+ daily runs missed
    setLastRun(home, 'verify', '2020-01-01T00:00:00.000Z');
    const before = (await jobs(home)).length;

    const scheduler = spawnArca(['scheduler'], { ...home.opts, timeoutMs: 120_000 });
    const newJobs = async (): Promise<JobJson[]> => (await jobs(home)).slice(0, -before || undefined);
    for (let i = 0; i < 600; i++) {
      const seen = await newJobs();
      if (seen.length >= 2 && seen.every((j) => j.status !== 'running')) break;
      await sleep(100);
    }
    await sleep(1500); // time for a wrong second launch to show up
    const ours = await newJobs();
    scheduler.child.kill('SIGTERM');
    const done = await scheduler.done;
    expect(done.code, describeRun(done)).toBe(0);

    expect(ours.map((j) => [j.schedule, j.kind, j.status]).sort()).toEqual([
      ['docs-daily', 'backup', 'succeeded'],
      ['verify', 'check', 'succeeded'],
    ]);
    expect(done.stdout.match(/docs-daily: started/g)).toHaveLength(1);
    expect(done.stdout.match(/verify: started/g)).toHaveLength(1);
    expect(done.stdout).toMatch(/missed while no scheduler ran; run once now/);
    expect(done.stdout).toMatch(/SIGTERM: stopping/);
    expect(done.stdout).toMatch(/scheduler stopped\n$/);
    expect(await listBackups(home.opts, 'docs')).toHaveLength(2);

    const catalog = openCatalog(catalogPath(home.opts.home));
    try {
      const last = getSchedule(catalog, 'docs-daily')?.lastRunAt ?? '';
      expect(last).toMatch(/T00:00:00\.000Z$/); // the latest missed 00:00 UTC, not 2020's next one
      expect(Date.now() - Date.parse(last)).toBeLessThan(24 * 3600_000 + 60_000);
    } finally {
      catalog.close();
    }
    expect(path.isAbsolute(home.opts.home)).toBe(true);
  });
  it('arca serve runs the schedules too (a missed run once), and not with --no-scheduler', async () => {
    const serveOnce = async (extra: string[]): Promise<JobJson[]> => {
      setLastRun(home, 'docs-daily', '2021-01-01T00:00:00.000Z');
      const before = (await jobs(home)).length;
      const server = spawnArca(['serve', '--insecure-http', '--listen', '127.0.0.1:0', ...extra], { ...home.opts, timeoutMs: 120_000 });
      const fresh = async (): Promise<JobJson[]> => (await jobs(home)).slice(0, -before || undefined);
      // With the scheduler, wait for the run to end; without, give a wrong launch time to show.
      if (extra.length > 0) await sleep(3000);
      for (let i = 0; i < 600 && extra.length === 0; i++) {
        const seen = await fresh();
        if (seen.length >= 1 && seen.every((j) => j.status !== 'running')) break;
        await sleep(100);
      }
      server.child.kill('SIGTERM');
      const done = await server.done;
      expect(done.code, describeRun(done)).toBe(0);
      return fresh();
    };
    const ran = await serveOnce([]);
    expect(ran.map((j) => [j.schedule, j.kind, j.status])).toEqual([['docs-daily', 'backup', 'succeeded']]);
    expect(await serveOnce(['--no-scheduler'])).toEqual([]);
  });
});

// The scheduler's rules, with a fake clock and a fake launcher (no waiting):
// cron in UTC and in time zones across DST, one run for many missed ones,
// overlap skipped and recorded, schedules picked up without a restart, jobs
// recorded when the child did not, claims shared by two schedulers, and a
// graceful stop.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addDatabase, addVolume, catalogPath, openCatalog, type Catalog } from '../../../src/catalog/index.js';
import { listJobs, startJob } from '../../../src/catalog/jobs.js';
import { addSchedule, claimScheduledRun, getSchedule, removeSchedule } from '../../../src/catalog/schedules.js';
import { Scheduler, type SchedulerEvent } from '../../../src/scheduler/index.js';
import { FakeClock, FakeLauncher, settle } from './fakes.js';

let dir: string;
let clock: FakeClock;
let catalog: Catalog;
let events: SchedulerEvent[];
const schedulers: Scheduler[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'arca-scheduler-'));
  clock = new FakeClock('2026-01-01T10:00:00Z');
  catalog = openCatalog(catalogPath(dir), { now: () => clock.now() });
  addDatabase(catalog, { name: 'app', url: 'file:///srv/app' });
  addVolume(catalog, { name: 'v1', location: '/backups/v1', volumeId: 'a'.repeat(32) });
  events = [];
});

afterEach(async () => {
  for (const s of schedulers.splice(0)) await s.stop();
  catalog.close();
  rmSync(dir, { recursive: true, force: true });
});

function add(name: string, cron: string, timeZone = 'UTC', kind: 'backup' | 'check' = 'backup'): void {
  addSchedule(catalog, { name, kind, database: kind === 'backup' ? 'app' : null, volume: 'v1', cron, timeZone, options: {} });
}

function scheduler(launcher: FakeLauncher, options: { reloadMs?: number; on?: Catalog } = {}): Scheduler {
  const s = new Scheduler({
    catalog: options.on ?? catalog,
    clock,
    launcher,
    ...(options.reloadMs !== undefined ? { reloadMs: options.reloadMs } : {}),
    onEvent: (e) => events.push(e),
  });
  schedulers.push(s);
  return s;
}

/** Ticks every `stepMinutes` from `from` to `to` (inclusive), finishing jobs as they start. */
async function sweep(s: Scheduler, launcher: FakeLauncher, from: string, to: string, stepMinutes = 5): Promise<void> {
  for (let t = Date.parse(from); t <= Date.parse(to); t += stepMinutes * 60_000) {
    clock.set(new Date(t));
    s.tick();
    for (const r of launcher.runs) r.finish();
    await settle();
  }
}

describe('when schedules fire', () => {
  it('fires a daily schedule at 00:00 UTC, once', () => {
    add('nightly', '0 0 * * *');
    const launcher = new FakeLauncher();
    const s = scheduler(launcher);
    clock.set('2026-01-01T23:59:59Z');
    expect(s.tick()).toEqual(new Date('2026-01-02T00:00:00Z'));
    expect(launcher.fired()).toEqual([]);
    clock.set('2026-01-02T00:00:00Z');
    s.tick();
    s.tick();
    clock.set('2026-01-02T00:00:40Z');
    s.tick();
    expect(launcher.fired()).toEqual(['nightly@2026-01-02T00:00:00.000Z']);
    expect(getSchedule(catalog, 'nightly')?.lastRunAt).toBe('2026-01-02T00:00:00.000Z');
    expect(events.find((e) => e.type === 'launched')).toMatchObject({ schedule: 'nightly', missed: false });
  });

  it('does not fire a new schedule for times before it was added', () => {
    clock.set('2026-01-01T00:00:30Z');
    add('nightly', '0 0 * * *');
    const launcher = new FakeLauncher();
    scheduler(launcher).tick();
    expect(launcher.fired()).toEqual([]);
  });

  it('reads the cron times in the schedule\'s time zone (winter and summer offsets)', async () => {
    add('ny', '0 9 * * *', 'America/New_York');
    const launcher = new FakeLauncher();
    const s = scheduler(launcher);
    await sweep(s, launcher, '2026-01-01T13:00:00Z', '2026-01-01T15:00:00Z');
    await sweep(s, launcher, '2026-07-01T12:00:00Z', '2026-07-02T14:00:00Z');
    expect(launcher.fired()).toEqual([
      'ny@2026-01-01T14:00:00.000Z', // 09:00 EST (UTC-5)
      'ny@2026-06-30T13:00:00.000Z', // the runs missed from January to June fire once, for the latest
      'ny@2026-07-01T13:00:00.000Z', // 09:00 EDT (UTC-4)
      'ny@2026-07-02T13:00:00.000Z',
    ]);
  });

  it('runs a 02:30 Europe/Berlin schedule once on the spring-forward day (at 03:00 CEST)', async () => {
    clock.set('2026-03-27T12:00:00Z');
    add('berlin', '30 2 * * *', 'Europe/Berlin');
    const launcher = new FakeLauncher();
    launcher.autoFinish = true;
    const s = scheduler(launcher, { reloadMs: 3_600_000 });
    const running = s.run();
    await clock.advanceTo('2026-03-31T00:00:00Z');
    await s.stop();
    await running;
    expect(launcher.fired()).toEqual([
      'berlin@2026-03-28T01:30:00.000Z', // 02:30 CET
      'berlin@2026-03-29T01:00:00.000Z', // 02:30 does not exist: 03:00 CEST, once
      'berlin@2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
  });

  it('runs a 02:30 Europe/Berlin schedule once, not twice, on the fall-back day', async () => {
    clock.set('2026-10-23T12:00:00Z');
    add('berlin', '30 2 * * *', 'Europe/Berlin');
    const launcher = new FakeLauncher();
    const s = scheduler(launcher);
    await sweep(s, launcher, '2026-10-23T12:00:00Z', '2026-10-27T00:00:00Z');
    expect(launcher.fired()).toEqual([
      'berlin@2026-10-24T00:30:00.000Z', // 02:30 CEST
      'berlin@2026-10-25T00:30:00.000Z', // 02:30 happens twice; only the first fires
      'berlin@2026-10-26T01:30:00.000Z', // 02:30 CET
    ]);
  });

  it('keeps an interval schedule in real-time rhythm across fall-back (every 30 minutes, both 02:xx hours)', async () => {
    clock.set('2026-10-24T22:00:00Z');
    add('half-hourly', '*/30 * * * *', 'Europe/Berlin');
    const launcher = new FakeLauncher();
    const s = scheduler(launcher);
    await sweep(s, launcher, '2026-10-24T22:00:00Z', '2026-10-25T02:00:00Z', 1);
    expect(launcher.fired().map((f) => f.slice(-13, -8))).toEqual(['22:30', '23:00', '23:30', '00:00', '00:30', '01:00', '01:30', '02:00']);
  });
});

describe('missed runs', () => {
  it('runs once at start-up for many runs missed while no scheduler ran, then on time', () => {
    add('hourly', '0 * * * *');
    claimScheduledRun(catalog, 'hourly', null, '2026-01-01T05:00:00.000Z');
    const launcher = new FakeLauncher();
    const s = scheduler(launcher);
    clock.set('2026-01-11T07:20:00Z'); // 242 hourly runs missed
    s.tick();
    clock.set('2026-01-11T07:25:00Z');
    s.tick();
    expect(launcher.fired()).toEqual(['hourly@2026-01-11T07:00:00.000Z']);
    expect(events.find((e) => e.type === 'launched')).toMatchObject({ missed: true });
    launcher.runs[0]?.finish();
    return settle().then(() => {
      clock.set('2026-01-11T08:00:00Z');
      s.tick();
      expect(launcher.fired()).toEqual(['hourly@2026-01-11T07:00:00.000Z', 'hourly@2026-01-11T08:00:00.000Z']);
      expect(events.filter((e) => e.type === 'launched').map((e) => e.type === 'launched' && e.missed)).toEqual([true, false]);
    });
  });

  it('runs a schedule that never ran, created days before the scheduler started, once', () => {
    clock.set('2026-01-01T10:00:00Z');
    add('nightly', '0 0 * * *');
    const launcher = new FakeLauncher();
    clock.set('2026-01-05T09:00:00Z');
    const s = scheduler(launcher);
    s.tick();
    s.tick();
    expect(launcher.fired()).toEqual(['nightly@2026-01-05T00:00:00.000Z']);
  });
});

describe('overlap', () => {
  it('skips and records a run while the same schedule\'s previous job still runs', async () => {
    add('minutely', '* * * * *');
    const launcher = new FakeLauncher(catalog);
    const s = scheduler(launcher);
    clock.set('2026-01-01T10:01:00Z');
    s.tick();
    clock.set('2026-01-01T10:02:00Z');
    s.tick();
    clock.set('2026-01-01T10:02:30Z');
    s.tick(); // the skipped 10:02 run is not retried
    clock.set('2026-01-01T10:03:00Z');
    s.tick();
    expect(launcher.fired()).toEqual(['minutely@2026-01-01T10:01:00.000Z']);
    const skipped = listJobs(catalog, { status: 'skipped' });
    expect(skipped).toHaveLength(2);
    expect(skipped[0]).toMatchObject({ kind: 'backup', database: 'app', volume: 'v1', schedule: 'minutely' });
    expect(skipped[0]?.error).toMatch(/previous run of schedule minutely .* is still running/);
    expect(events.filter((e) => e.type === 'skipped')).toHaveLength(2);

    launcher.runs[0]?.finish();
    await settle();
    clock.set('2026-01-01T10:04:00Z');
    s.tick();
    expect(launcher.fired()).toHaveLength(2);
    expect(listJobs(catalog, { status: 'succeeded' })).toHaveLength(1); // the child's own record, no duplicate
  });

  it('skips a run while a job of the schedule runs in another process (e.g. `arca schedule run`)', () => {
    add('nightly', '0 0 * * *');
    const other = startJob(catalog, { kind: 'backup', database: 'app', volume: 'v1', schedule: 'nightly' });
    const launcher = new FakeLauncher();
    clock.set('2026-01-02T00:00:00Z');
    scheduler(launcher).tick();
    expect(launcher.fired()).toEqual([]);
    const skipped = listJobs(catalog, { status: 'skipped' });
    expect(skipped[0]?.error).toContain(`job ${other.id}`);
  });
});

describe('changes to the schedules', () => {
  it('picks up added, changed and removed schedules without a restart', async () => {
    add('early', '3 10 * * *');
    add('doomed', '4 10 * * *');
    const launcher = new FakeLauncher();
    launcher.autoFinish = true;
    const s = scheduler(launcher);
    const running = s.run();
    await clock.advanceTo('2026-01-01T10:00:10Z');
    add('late', '5 10 * * *');
    removeSchedule(catalog, 'doomed');
    removeSchedule(catalog, 'early');
    add('early', '6 10 * * *'); // changed: now at 10:06
    await clock.advanceTo('2026-01-01T10:10:00Z');
    await s.stop();
    await running;
    expect(launcher.fired()).toEqual(['late@2026-01-01T10:05:00.000Z', 'early@2026-01-01T10:06:00.000Z']);
  });

  it('wakes at least every reloadMs to read the catalog again', async () => {
    const launcher = new FakeLauncher();
    const s = scheduler(launcher, { reloadMs: 30_000 });
    expect(s.tick()).toEqual(new Date('2026-01-01T10:00:30Z'));
  });

  it('reports a schedule it cannot read once, and keeps running the others', () => {
    add('good', '0 0 * * *');
    catalog.db
      .prepare("INSERT INTO schedules (name, kind, database, cron, time_zone, created_at) VALUES ('bad', 'backup', 'app', 'not cron', 'UTC', ?)")
      .run('2026-01-01T00:00:00.000Z');
    const launcher = new FakeLauncher();
    const s = scheduler(launcher);
    clock.set('2026-01-02T00:00:00Z');
    s.tick();
    s.tick();
    expect(launcher.fired()).toEqual(['good@2026-01-02T00:00:00.000Z']);
    const errors = events.filter((e) => e.type === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ schedule: 'bad' });
    expect(errors[0]?.type === 'error' && errors[0].message).toMatch(/invalid cron expression "not cron"/);
  });
});

describe('the job history of scheduled runs', () => {
  it('records a failed job, with the end of stderr, when the child ended without recording one', async () => {
    add('nightly', '0 0 * * *');
    const launcher = new FakeLauncher();
    const s = scheduler(launcher);
    clock.set('2026-01-02T00:00:00Z');
    s.tick();
    launcher.runs[0]?.finish({ exitCode: 1, stderrTail: 'some progress\narca: the catalog is busy\n' });
    await settle();
    const [job] = listJobs(catalog);
    expect(job).toMatchObject({ kind: 'backup', database: 'app', schedule: 'nightly', status: 'failed' });
    expect(job?.error).toBe('the job ended without recording itself: exit status 1: arca: the catalog is busy');
    expect(events.at(-1)).toMatchObject({ type: 'finished', ok: false, job: job?.id });
  });

  it('records a failed job when the job could not be started at all', () => {
    add('nightly', '0 0 * * *');
    const launcher = new FakeLauncher();
    launcher.failLaunch = new Error('spawn ENOENT');
    clock.set('2026-01-02T00:00:00Z');
    scheduler(launcher).tick();
    const [job] = listJobs(catalog);
    expect(job).toMatchObject({ status: 'failed', schedule: 'nightly' });
    expect(job?.error).toContain('could not start: spawn ENOENT');
  });

  it('fires a run only once when two schedulers share the catalog', () => {
    add('nightly', '0 0 * * *');
    const second = openCatalog(catalogPath(dir), { now: () => clock.now() });
    try {
      const a = new FakeLauncher();
      const b = new FakeLauncher();
      const sa = scheduler(a);
      const sb = scheduler(b, { on: second });
      clock.set('2026-01-02T00:00:00Z');
      sa.tick();
      sb.tick();
      expect([...a.fired(), ...b.fired()]).toEqual(['nightly@2026-01-02T00:00:00.000Z']);
    } finally {
      second.close();
    }
  });
});

describe('stopping', () => {
  it('stops launching, asks running jobs to stop, and waits until they are recorded', async () => {
    add('minutely', '* * * * *');
    const launcher = new FakeLauncher(catalog);
    const s = scheduler(launcher);
    const running = s.run();
    await clock.advanceTo('2026-01-01T10:01:05Z');
    expect(launcher.fired()).toHaveLength(1);
    expect(s.runningSchedules()).toEqual(['minutely']);
    await s.stop();
    await running;
    expect(launcher.runs[0]?.stopped).toBe(true);
    expect(s.runningSchedules()).toEqual([]);
    expect(listJobs(catalog)[0]).toMatchObject({ status: 'aborted', schedule: 'minutely' });
    expect(events.at(-1)).toMatchObject({ type: 'finished', ok: false, status: 'aborted' });
    await clock.advanceTo('2026-01-01T10:05:00Z');
    expect(launcher.fired()).toHaveLength(1);
    expect(clock.sleeping).toBe(0);
  });

  it('records a job it stopped before the job recorded itself as aborted', async () => {
    add('nightly', '0 0 * * *');
    const launcher = new FakeLauncher();
    const s = scheduler(launcher);
    clock.set('2026-01-02T00:00:00Z');
    s.tick();
    await s.stop();
    const [job] = listJobs(catalog);
    expect(job).toMatchObject({ status: 'aborted', schedule: 'nightly' });
    expect(job?.error).toBe('stopped before it recorded its job: exit status 143');
  });

  it('stops through an AbortSignal given to run()', async () => {
    const launcher = new FakeLauncher();
    const s = scheduler(launcher);
    const controller = new AbortController();
    const running = s.run(controller.signal);
    await settle();
    controller.abort();
    await running;
    expect(s.stopping).toBe(true);
  });
});

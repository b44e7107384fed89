// `arca schedule add|list|remove` (with a backup's guard rails: validation,
// refusal for other kinds, rows stored before them), `arca db add` (the
// default daily schedule, --no-schedule), `arca db remove` and `arca
// scheduler`'s password rule, through runCli with a fake Io (no child
// processes), plus the catalog's schedule storage underneath.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Io } from '../../../src/cli/io.js';
import { runCli } from '../../../src/cli/program.js';
import { GUARD_RAIL_HELP } from '../../../src/cli/options.js';
import { addVolume, catalogPath, getDatabase, openCatalog } from '../../../src/catalog/index.js';
import { finishJob, startJob } from '../../../src/catalog/jobs.js';
import {
  claimScheduledRun,
  getSchedule,
  lastJobsOfSchedules,
  listSchedules,
  type NewSchedule,
  type ScheduleKind,
  type ScheduleOptions,
} from '../../../src/catalog/schedules.js';
import { isArcaError } from '../../../src/errors.js';
import { commandArgs, prepareSchedule } from '../../../src/scheduler/index.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let dir: string;
let home: string;
let env: Record<string, string | undefined>;

async function arca(...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean };
  stdin.isTTY = false;
  const io: Io = {
    stdout: { write: (s: string) => out.push(s) > 0, isTTY: false },
    stderr: { write: (s: string) => err.push(s) > 0, isTTY: false },
    stdin,
    env,
    cwd: () => dir,
    onSignal: () => undefined,
    offSignal: () => undefined,
    exitNow: (code: number) => {
      throw new Error(`exitNow(${code})`);
    },
  };
  const code = await runCli(['--home', home, ...argv], io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

function expectError(run: Run, code: number, message: RegExp): void {
  expect(run.code, run.stderr).toBe(code);
  const lines = run.stderr.split('\n').filter((l) => l !== '');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^arca: /);
  expect(lines[0]).toMatch(message);
}

function withCatalog<T>(work: (c: ReturnType<typeof openCatalog>) => T): T {
  const c = openCatalog(catalogPath(home));
  try {
    return work(c);
  } finally {
    c.close();
  }
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'arca-schedule-cli-'));
  home = join(dir, 'home');
  for (const d of ['home', 'app', 'docs', 'more', 'x']) mkdirSync(join(dir, d));
  env = {};
  withCatalog((c) => addVolume(c, { name: 'v1', location: join(dir, 'v1'), volumeId: 'b'.repeat(32) }));
  expect((await arca('db', 'add', 'app', join(dir, 'app'), '--no-schedule')).code).toBe(0);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('arca db add and db remove', () => {
  it('adds a daily 00:00 UTC level-0 backup schedule and says so', async () => {
    const r = await arca('db', 'add', 'docs', join(dir, 'docs'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^added database docs \(file:\/\/.*docs\)\nscheduled a daily full \(level 0\) backup at 00:00 UTC as schedule docs-daily/);
    expect(withCatalog((c) => getSchedule(c, 'docs-daily'))).toMatchObject({
      kind: 'backup',
      database: 'docs',
      volume: null,
      cron: '0 0 * * *',
      timeZone: 'UTC',
      options: { level: 0 },
      lastRunAt: null,
    });
    const json = JSON.parse((await arca('db', 'add', 'more', join(dir, 'more'), '--json')).stdout) as { schedule: { name: string } };
    expect(json.schedule.name).toBe('more-daily');
  });

  it('adds no schedule with --no-schedule', async () => {
    const r = await arca('db', 'add', 'docs', join(dir, 'docs'), '--no-schedule', '--json');
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'docs', schedule: null });
    expect(withCatalog((c) => listSchedules(c))).toEqual([]);
  });

  it('keeps a schedule of the default name that already exists', async () => {
    expect((await arca('schedule', 'add', 'docs-daily', '--kind', 'check', '--cron', '0 5 * * *')).code).toBe(0);
    const r = await arca('db', 'add', 'docs', join(dir, 'docs'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no daily backup scheduled: a schedule named docs-daily already exists/);
    expect(withCatalog((c) => getSchedule(c, 'docs-daily')?.kind)).toBe('check');
  });

  it('adds neither the database nor the schedule when the database exists', async () => {
    expectError(await arca('db', 'add', 'app', join(dir, 'x')), 1, /a database named app already exists/);
    expect(withCatalog((c) => listSchedules(c))).toEqual([]);
  });

  it('db remove forgets the database and its schedules', async () => {
    expect((await arca('db', 'add', 'docs', join(dir, 'docs'))).code).toBe(0);
    expect((await arca('schedule', 'add', 'docs-hourly', '--db', 'docs', '--cron', '0 * * * *')).code).toBe(0);
    expect((await arca('schedule', 'add', 'app-daily', '--db', 'app', '--cron', '0 1 * * *')).code).toBe(0);
    const r = await arca('db', 'remove', 'docs');
    expect(r.stdout).toBe('removed database docs and its schedules docs-daily, docs-hourly; its backups stay on the volumes\n');
    expect(withCatalog((c) => [getDatabase(c, 'docs'), listSchedules(c).map((s) => s.name)])).toEqual([null, ['app-daily']]);
    expectError(await arca('db', 'remove', 'docs'), 1, /no database named docs/);
  });
});

describe('arca schedule add', () => {
  it('adds a backup schedule with level, expiry, volume and zone, and shows its next run', async () => {
    const r = await arca('schedule', 'add', 'nightly', '--db', 'app', '--cron', '30 2 * * *', '--level', '1', '--expire', '3d 1w', '--volume', 'v1', '--tz', 'europe/berlin');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^added schedule nightly: backup \(level 1, expire 1w 3d\) of app on v1 at "30 2 \* \* \*" Europe\/Berlin; next run \d{4}-\d\d-\d\d \d\d:\d\d UTC = \d{4}-\d\d-\d\d 02:30[+-]\d\d:\d\d Europe\/Berlin\n$/);
    expect(withCatalog((c) => getSchedule(c, 'nightly'))).toMatchObject({
      kind: 'backup',
      database: 'app',
      volume: 'v1',
      cron: '30 2 * * *',
      timeZone: 'Europe/Berlin',
      options: { level: 1, expire: '1w 3d' },
    });
  });

  it('adds prune, purge and check schedules with the targets they take', async () => {
    expect((await arca('schedule', 'add', 'p1', '--kind', 'prune', '--volume', 'v1', '--cron', '0 3 * * 0')).code).toBe(0);
    expect((await arca('schedule', 'add', 'p2', '--kind', 'prune', '--db', 'app', '--cron', '0 3 * * 0')).code).toBe(0);
    expect((await arca('schedule', 'add', 'pg', '--kind', 'purge', '--db', 'app', '--cron', '0 4 * * *')).code).toBe(0);
    expect((await arca('schedule', 'add', 'ck', '--kind', 'check', '--cron', '@weekly')).code).toBe(0);
    expect(withCatalog((c) => listSchedules(c).map((s) => [s.name, s.kind, s.database, s.volume, s.options]))).toEqual([
      ['ck', 'check', null, null, {}],
      ['p1', 'prune', null, 'v1', {}],
      ['p2', 'prune', 'app', null, {}],
      ['pg', 'purge', 'app', null, {}],
    ]);
  });

  it('refuses what is wrong, in one line, with what to do', async () => {
    const add = (...extra: string[]): Promise<Run> => arca('schedule', 'add', 'x', ...extra);
    expectError(await add('--db', 'app', '--cron', '0 0 * *'), 2, /invalid cron expression "0 0 \* \*": it has 4 fields, not 5; use five fields/);
    expectError(await add('--db', 'app', '--cron', '0 25 * * *'), 2, /invalid cron expression "0 25 \* \* \*"/);
    expectError(await add('--db', 'app', '--cron', '0 0 * * *', '--tz', 'Europe/Berlinn'), 2, /unknown time zone "Europe\/Berlinn": use an IANA name/);
    expectError(await add('--db', 'app'), 2, /required option '--cron <expression>' not specified/);
    expectError(await add('--cron', '0 0 * * *'), 2, /a backup schedule needs a database: add --db NAME/);
    expectError(await add('--kind', 'purge', '--cron', '0 0 * * *'), 2, /a purge schedule needs a database/);
    expectError(await add('--kind', 'check', '--db', 'app', '--cron', '0 0 * * *'), 2, /a check verifies a volume, not a database/);
    expectError(await add('--kind', 'check', '--level', '1', '--cron', '0 0 * * *'), 2, /--level and --expire apply to backup schedules only/);
    expectError(await add('--kind', 'restore', '--db', 'app', '--cron', '0 0 * * *'), 2, /unknown schedule kind "restore": use one of backup, prune, purge, check/);
    expectError(await add('--db', 'app', '--cron', '0 0 * * *', '--level', '10'), 2, /level must be an integer from 0 to 9/);
    expectError(await add('--db', 'app', '--cron', '0 0 * * *', '--expire', '3 days'), 2, /invalid duration "3 days"/);
    expectError(await add('--db', 'nope', '--cron', '0 0 * * *'), 1, /no database named nope; add it with: arca db add nope URL/);
    expectError(await add('--db', 'app', '--volume', 'v9', '--cron', '0 0 * * *'), 1, /no volume named v9/);
    expectError(await arca('schedule', 'add', 'a/b', '--db', 'app', '--cron', '0 0 * * *'), 2, /invalid schedule name "a\/b"/);
    expect((await add('--db', 'app', '--cron', '0 0 * * *')).code).toBe(0);
    expectError(await add('--db', 'app', '--cron', '0 0 * * *'), 1, /a schedule named x already exists; remove it first with: arca schedule remove x/);
  });
});

describe('the guard rails of a backup schedule', () => {
  it('adds a schedule with --max-duration, --rate-limit, --jobs and --no-nice, stored as typed and listed', async () => {
    const r = await arca('schedule', 'add', 'guarded', '--db', 'app', '--cron', '0 3 * * *', '--max-duration', ' 1h  30m ', '--rate-limit', '20MB/s', '--jobs', '4', '--no-nice');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^added schedule guarded: backup \(level 0, max-duration 1h 30m, rate-limit 20MB\/s, jobs 4, no-nice\) of app at "0 3 \* \* \*" UTC;/);
    expect(withCatalog((c) => getSchedule(c, 'guarded')?.options)).toEqual({ level: 0, maxDuration: '1h 30m', rateLimit: '20MB/s', jobs: 4, nice: false });

    // Only what was given: without --no-nice nothing about nice is stored, and the backup keeps its defaults.
    expect((await arca('schedule', 'add', 'short', '--db', 'app', '--cron', '0 4 * * *', '--max-duration', '90s')).code).toBe(0);
    expect(withCatalog((c) => getSchedule(c, 'short')?.options)).toEqual({ level: 0, maxDuration: '90s' });

    const table = (await arca('schedule', 'list')).stdout;
    expect(table).toMatch(/guarded\s+backup \(level 0, max-duration 1h 30m, rate-limit 20MB\/s, jobs 4, no-nice\)\s+app\s+0 3 \* \* \*/);
    expect(table).toMatch(/short\s+backup \(level 0, max-duration 90s\)\s+app/);
    const list = JSON.parse((await arca('schedule', 'list', '--json')).stdout) as Array<{ name: string; options: object }>;
    expect(list.map((s) => [s.name, s.options])).toEqual([
      ['guarded', { level: 0, maxDuration: '1h 30m', rateLimit: '20MB/s', jobs: 4, nice: false }],
      ['short', { level: 0, maxDuration: '90s' }],
    ]);
  });

  it('takes the same help texts as arca backup', async () => {
    const out: string[] = [];
    for (const command of [['backup'], ['schedule', 'add']]) {
      const r = await arca(...command, '--help');
      out.push(r.stdout.replace(/\s+/g, ' '));
    }
    for (const text of Object.values(GUARD_RAIL_HELP)) {
      expect(out[0]).toContain(text);
      expect(out[1]).toContain(text);
    }
  });

  it('refuses bad values as arca backup does (exit 2, one line), storing nothing', async () => {
    const add = (...extra: string[]): Promise<Run> => arca('schedule', 'add', 'x', '--db', 'app', '--cron', '0 0 * * *', ...extra);
    expectError(await add('--max-duration', '0s'), 2, /--max-duration .*the duration must be longer than zero/);
    expectError(await add('--max-duration', 'soon'), 2, /--max-duration .*invalid duration "soon"/);
    expectError(await add('--rate-limit', 'fast'), 2, /--rate-limit .*the rate must be at least 1KiB\/s, written like "20MB\/s"/);
    expectError(await add('--rate-limit', '100B/s'), 2, /the rate must be at least 1KiB\/s/);
    expectError(await add('--jobs', '17'), 2, /--jobs .*the number of jobs must be an integer from 1 to 16/);
    expectError(await add('--jobs', '0'), 2, /the number of jobs must be an integer from 1 to 16/);
    expect(withCatalog((c) => listSchedules(c))).toEqual([]);
  });

  it('refuses them for prune, purge and check schedules, naming the options', async () => {
    const add = (kind: string, ...extra: string[]): Promise<Run> => arca('schedule', 'add', 'x', '--kind', kind, '--cron', '0 0 * * *', ...extra);
    expectError(await add('check', '--max-duration', '2h'), 2, /^arca: --max-duration applies to backup schedules only, not to a check schedule$/);
    expectError(await add('prune', '--rate-limit', '20MB/s', '--jobs', '2'), 2, /^arca: --rate-limit and --jobs apply to backup schedules only, not to a prune schedule$/);
    expectError(await add('purge', '--db', 'app', '--no-nice'), 2, /^arca: --no-nice applies to backup schedules only, not to a purge schedule$/);
    expect(withCatalog((c) => listSchedules(c))).toEqual([]);
  });

  it('validates values given as numbers and booleans (the API) the same way', () => {
    withCatalog((c) => {
      const spec = (options: ScheduleOptions, kind: ScheduleKind = 'backup'): NewSchedule => ({ name: 'x', kind, database: 'app', cron: '0 0 * * *', options });
      expect(prepareSchedule(c, spec({ maxDuration: '2h', rateLimit: ' 500KiB/s ', jobs: 16, nice: true })).options).toEqual({
        level: 0, maxDuration: '2h', rateLimit: '500KiB/s', jobs: 16, nice: true,
      });
      const refused = (s: NewSchedule): string => {
        try {
          prepareSchedule(c, s);
        } catch (err) {
          expect(isArcaError(err, 'USAGE'), String(err)).toBe(true);
          return (err as Error).message;
        }
        throw new Error(`prepareSchedule accepted ${JSON.stringify(s.options)}`);
      };
      expect(refused(spec({ jobs: 2.5 }))).toBe('--jobs: the number of jobs must be an integer from 1 to 16');
      expect(refused(spec({ jobs: 0 }))).toBe('--jobs: the number of jobs must be an integer from 1 to 16');
      expect(refused(spec({ maxDuration: 'soon' }))).toMatch(/^--max-duration: invalid duration "soon": .*e\.g\. "1w 3d"/);
      expect(refused(spec({ maxDuration: '0s' }))).toBe('--max-duration: the duration must be longer than zero');
      expect(refused(spec({ rateLimit: '0MB/s' }))).toMatch(/^--rate-limit: the rate must be at least 1KiB\/s, written like "20MB\/s"/);
      expect(refused(spec({ nice: 'no' as unknown as boolean }))).toBe('nice must be true or false (false: like --no-nice)');
      expect(refused(spec({ nice: true }, 'purge'))).toBe('--no-nice applies to backup schedules only, not to a purge schedule');
    });
  });

  it('loads schedules stored before the guard rails existed unchanged, and runs them as before', async () => {
    withCatalog((c) =>
      c.db
        .prepare(`INSERT INTO schedules (name, kind, database, volume, cron, time_zone, options, created_at) VALUES (?, 'backup', 'app', NULL, '0 0 * * *', 'UTC', ?, ?)`)
        .run('old', '{"level":1,"expire":"1w"}', '2025-01-01T00:00:00.000Z'),
    );
    const old = withCatalog((c) => getSchedule(c, 'old'));
    expect(old?.options).toEqual({ level: 1, expire: '1w' });
    expect(commandArgs(old!)).toEqual(['backup', 'app', '--level', '1', '--expire', '1w']);
    expect((await arca('schedule', 'list')).stdout).toMatch(/old\s+backup \(level 1, expire 1w\)\s+app\s/);
    const [listed] = JSON.parse((await arca('schedule', 'list', '--json')).stdout) as Array<{ options: object }>;
    expect(listed?.options).toEqual({ level: 1, expire: '1w' });
  });
});

describe('arca schedule list and remove', () => {
  it('lists next runs in UTC and in the zone, and the last run', async () => {
    expect((await arca('schedule', 'add', 'berlin', '--db', 'app', '--cron', '30 2 * * *', '--tz', 'Europe/Berlin')).code).toBe(0);
    expect((await arca('schedule', 'add', 'utc', '--kind', 'check', '--volume', 'v1', '--cron', '0 0 * * *')).code).toBe(0);
    withCatalog((c) => {
      const job = startJob(c, { kind: 'check', volume: 'v1', schedule: 'utc' });
      finishJob(c, job.id, { status: 'succeeded' });
      claimScheduledRun(c, 'utc', null, '2026-01-01T00:00:00.000Z');
    });
    const list = JSON.parse((await arca('schedule', 'list', '--json')).stdout) as Array<Record<string, unknown>>;
    expect(list.map((s) => s['name'])).toEqual(['berlin', 'utc']);
    const [berlin, utc] = list;
    expect(berlin).toMatchObject({ kind: 'backup', cron: '30 2 * * *', timeZone: 'Europe/Berlin', lastRunAt: null, lastJob: null });
    expect(String(berlin?.['nextRunLocal'])).toMatch(/T02:30:00\+0[12]:00$/);
    expect(Date.parse(String(berlin?.['nextRunLocal']))).toBe(Date.parse(String(berlin?.['nextRunAt'])));
    expect(String(utc?.['nextRunAt'])).toMatch(/T00:00:00\.000Z$/);
    expect(utc).toMatchObject({ lastRunAt: '2026-01-01T00:00:00.000Z', lastJob: { status: 'succeeded' } });

    const table = (await arca('schedule', 'list')).stdout;
    expect(table.split('\n')[0]).toMatch(/^NAME\s+RUNS\s+TARGET\s+CRON\s+ZONE\s+NEXT \(UTC\)\s+NEXT \(ZONE\)\s+LAST RUN$/);
    expect(table).toMatch(/berlin\s+backup \(level 0\)\s+app\s+30 2 \* \* \*\s+Europe\/Berlin\s+\S+ \d\d:\d\d UTC\s+\S+ 02:30\+0[12]:00\s+-/);
    expect(table).toMatch(/utc\s+check\s+volume v1\s+0 0 \* \* \*\s+UTC\s+\S+ 00:00 UTC\s+\S+ \S+ succeeded/);
  });

  it('says how to add one when there are none, and removes by name', async () => {
    expect((await arca('schedule', 'list')).stdout).toMatch(/^no schedules; add one with: arca schedule add/);
    expect((await arca('schedule', 'add', 'x', '--db', 'app', '--cron', '0 0 * * *')).code).toBe(0);
    expect((await arca('schedule', 'remove', 'x')).stdout).toBe('removed schedule x\n');
    expectError(await arca('schedule', 'remove', 'x'), 1, /no schedule named x; see them with: arca schedule list/);
    expectError(await arca('schedule', 'run', 'x'), 1, /no schedule named x/);
  });

  it('keeps the newest job per schedule', () => {
    withCatalog((c) => {
      for (const status of ['failed', 'succeeded'] as const) finishJob(c, startJob(c, { kind: 'backup', database: 'app', schedule: 's' }).id, { status });
      expect(lastJobsOfSchedules(c).get('s')?.status).toBe('succeeded');
    });
  });
});

describe('arca scheduler', () => {
  it('needs the password from ARCA_PASSWORD or --password-file (its jobs have no terminal)', async () => {
    expectError(await arca('scheduler'), 1, /no volume password: set ARCA_PASSWORD, use --password-file: the scheduler's jobs run without a terminal/);
    expectError(await arca('--password-file', join(dir, 'missing'), 'scheduler'), 1, /cannot read the password file .*missing: no such file/);
  });
});

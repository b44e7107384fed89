// A schedule's `arca` command line and the child's environment: the right
// arguments per kind, the home and schedule name in the environment, and
// never a password on the command line.
import { describe, expect, it } from 'vitest';
import type { ScheduleRecord } from '../../../src/catalog/schedules.js';
import { childArgs, childEnv, commandArgs, describeOutcome, packageBin } from '../../../src/scheduler/index.js';

function schedule(overrides: Partial<ScheduleRecord>): ScheduleRecord {
  return {
    name: 's',
    kind: 'backup',
    database: 'app',
    volume: null,
    cron: '0 0 * * *',
    timeZone: 'UTC',
    options: {},
    createdAt: '2026-01-01T00:00:00.000Z',
    lastRunAt: null,
    ...overrides,
  };
}

describe('commandArgs', () => {
  it('builds the command of each kind', () => {
    expect(commandArgs(schedule({ options: { level: 0 } }))).toEqual(['backup', 'app', '--level', '0']);
    expect(commandArgs(schedule({ volume: 'v1', options: { level: 2, expire: '1w 3d' } }))).toEqual([
      'backup', 'app', '--volume', 'v1', '--level', '2', '--expire', '1w 3d',
    ]);
    expect(commandArgs(schedule({ kind: 'prune', database: null, volume: 'v1' }))).toEqual(['prune', '--volume', 'v1']);
    expect(commandArgs(schedule({ kind: 'prune', database: 'app' }))).toEqual(['prune', '--db', 'app']);
    expect(commandArgs(schedule({ kind: 'prune', database: 'app', volume: 'v1' }))).toEqual(['prune', '--db', 'app', '--volume', 'v1']);
    expect(commandArgs(schedule({ kind: 'purge' }))).toEqual(['purge', 'app']);
    expect(commandArgs(schedule({ kind: 'purge', volume: 'v1' }))).toEqual(['purge', 'app', '--volume', 'v1']);
    expect(commandArgs(schedule({ kind: 'check', database: null, volume: 'v1' }))).toEqual(['check', '--volume', 'v1']);
    expect(commandArgs(schedule({ kind: 'check', database: null }))).toEqual(['check']);
  });

  it("passes a backup schedule's guard rails to arca backup, --no-nice only when nice is off", () => {
    const options = { level: 1, expire: '1w', maxDuration: '1h 30m', rateLimit: '20MB/s', jobs: 4, nice: false };
    expect(commandArgs(schedule({ volume: 'v1', options }))).toEqual([
      'backup', 'app', '--volume', 'v1', '--level', '1', '--expire', '1w',
      '--max-duration', '1h 30m', '--rate-limit', '20MB/s', '--jobs', '4', '--no-nice',
    ]);
    expect(commandArgs(schedule({ options: { jobs: 16, nice: true } }))).toEqual(['backup', 'app', '--level', '0', '--jobs', '16']);
    expect(commandArgs(schedule({ options: { maxDuration: '90s' } }))).toEqual(['backup', 'app', '--level', '0', '--max-duration', '90s']);
  });

  it('runs a schedule stored before the guard rails existed exactly as before', () => {
    expect(commandArgs(schedule({ options: { level: 2, expire: '3d' } }))).toEqual(['backup', 'app', '--level', '2', '--expire', '3d']);
  });
});

describe('the child process', () => {
  const base = { home: '/home/a/.arca', env: { PATH: '/bin', ARCA_PASSWORD: 'sekrit pass', ARCA_SCHEDULE: 'stale', EMPTY: undefined } };

  it('gets the password file path, never the password, in argv', () => {
    const args = childArgs({ ...base, arcaBin: '/pkg/bin/arca', passwordFile: '/etc/arca/pw' }, { schedule: schedule({}), scheduledAt: null });
    expect(args).toEqual(['/pkg/bin/arca', '--password-file', '/etc/arca/pw', 'backup', 'app', '--level', '0']);
    expect(args.join(' ')).not.toContain('sekrit');
  });

  it('gets the guard rails on its command line, and still no password', () => {
    const guarded = schedule({ options: { level: 0, maxDuration: '2h', rateLimit: '500KiB/s', jobs: 3, nice: false } });
    const args = childArgs({ ...base, arcaBin: '/pkg/bin/arca', passwordFile: '/etc/arca/pw' }, { schedule: guarded, scheduledAt: null });
    expect(args).toEqual([
      '/pkg/bin/arca', '--password-file', '/etc/arca/pw', 'backup', 'app', '--level', '0',
      '--max-duration', '2h', '--rate-limit', '500KiB/s', '--jobs', '3', '--no-nice',
    ]);
    expect(args.join(' ')).not.toContain('sekrit');
  });

  it('gets the home and the schedule in its environment, with the rest passed through', () => {
    const env = childEnv(base, 'nightly');
    expect(env).toEqual({ PATH: '/bin', ARCA_PASSWORD: 'sekrit pass', ARCA_HOME: '/home/a/.arca', ARCA_SCHEDULE: 'nightly' });
  });

  it('runs the package\'s bin/arca', () => {
    expect(packageBin()).toMatch(/[/\\]bin[/\\]arca$/);
  });
});

describe('describeOutcome', () => {
  it('says how the job ended, with the last line of stderr when it failed', () => {
    const base = { signal: null, startError: null };
    expect(describeOutcome({ ...base, exitCode: 0, stderrTail: 'progress\n' })).toBe('exit status 0');
    expect(describeOutcome({ ...base, exitCode: 1, stderrTail: 'x\narca: no volume registered\n\n' })).toBe('exit status 1: arca: no volume registered');
    expect(describeOutcome({ exitCode: null, signal: 'SIGKILL', stderrTail: '', startError: null })).toBe('ended by SIGKILL');
    expect(describeOutcome({ exitCode: null, signal: null, stderrTail: '', startError: 'spawn ENOENT' })).toBe('could not start: spawn ENOENT');
  });
});

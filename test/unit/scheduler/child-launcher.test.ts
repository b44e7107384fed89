// The real launcher with a stand-in for bin/arca (a small Node script): what
// the child gets (argv without the password, ARCA_HOME, ARCA_SCHEDULE), its
// exit status and stderr tail, SIGTERM on stop(), and a spawn that fails.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ScheduleRecord } from '../../../src/catalog/schedules.js';
import { ChildLauncher } from '../../../src/scheduler/index.js';

let dir: string;
let script: string;

const schedule: ScheduleRecord = {
  name: 'nightly',
  kind: 'backup',
  database: 'app',
  volume: 'v1',
  cron: '0 0 * * *',
  timeZone: 'UTC',
  options: { level: 1, expire: '1w' },
  createdAt: '2026-01-01T00:00:00.000Z',
  lastRunAt: null,
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'arca-child-'));
  script = join(dir, 'fake-arca.mjs');
  writeFileSync(
    script,
    `const info = { argv: process.argv.slice(2), home: process.env.ARCA_HOME, schedule: process.env.ARCA_SCHEDULE, hasPassword: process.env.ARCA_PASSWORD === 'pw in env' };
process.stderr.write('progress line\\n' + JSON.stringify(info) + '\\n');
if (process.argv.includes('--level') && process.argv.at(-1) === 'hang') {
  process.on('SIGTERM', () => { process.stderr.write('arca: terminated\\n'); process.exit(143); });
  (await import('node:fs')).writeFileSync(process.env.FAKE_READY, '');
  setInterval(() => undefined, 1000);
} else {
  process.exit(Number(process.env.FAKE_EXIT ?? 0));
}
`,
  );
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function lastJson(tail: string): Record<string, unknown> {
  const line = tail.split('\n').find((l) => l.startsWith('{'));
  return JSON.parse(line ?? '{}') as Record<string, unknown>;
}

describe('ChildLauncher', () => {
  it('runs the job with the home and schedule in the environment and the password never in argv', async () => {
    const launcher = new ChildLauncher({ home: '/h', env: { ARCA_PASSWORD: 'pw in env', PATH: process.env['PATH'] }, arcaBin: script, passwordFile: '/etc/pw' });
    const job = launcher.launch({ schedule, scheduledAt: new Date() });
    expect(job.pid).toBeGreaterThan(0);
    const outcome = await job.done;
    expect(outcome).toMatchObject({ exitCode: 0, signal: null, startError: null, stopped: false });
    expect(lastJson(outcome.stderrTail)).toEqual({
      argv: ['--password-file', '/etc/pw', 'backup', 'app', '--volume', 'v1', '--level', '1', '--expire', '1w'],
      home: '/h',
      schedule: 'nightly',
      hasPassword: true,
    });
  });

  it('reports a failing exit status with the end of stderr', async () => {
    const launcher = new ChildLauncher({ home: '/h', env: { FAKE_EXIT: '1' }, arcaBin: script });
    const outcome = await launcher.launch({ schedule, scheduledAt: null }).done;
    expect(outcome.exitCode).toBe(1);
    expect(outcome.stderrTail).toMatch(/^progress line\n/);
  });

  it('asks a running job to stop with SIGTERM and reports how it ended', async () => {
    const ready = join(dir, 'ready');
    const launcher = new ChildLauncher({ home: '/h', env: { FAKE_READY: ready }, arcaBin: script });
    const job = launcher.launch({ schedule: { ...schedule, options: { level: 0, expire: 'hang' } }, scheduledAt: null });
    for (let i = 0; i < 300 && !existsSync(ready); i++) await new Promise((r) => setTimeout(r, 50)); // its handler is installed
    job.stop();
    const outcome = await job.done;
    expect(outcome).toMatchObject({ exitCode: 143, stopped: true });
    expect(outcome.stderrTail).toMatch(/arca: terminated\n$/);
    job.stop(); // harmless once it ended
  });

  it('reports a child that cannot be started', async () => {
    const launcher = new ChildLauncher({ home: '/h', env: {}, arcaBin: script, nodePath: join(dir, 'no-such-node') });
    const outcome = await launcher.launch({ schedule, scheduledAt: null }).done;
    expect(outcome).toMatchObject({ exitCode: null, startError: expect.stringMatching(/ENOENT/) as unknown });
  });
});

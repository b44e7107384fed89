// The whole CLI, driven through runCli with a fake Io and an in-memory jobs
// layer (fake-jobs.ts): exit codes, one-line errors, JSON purity, volume
// choice, passwords, id prefixes and aborts.
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Io, StopSignal } from '../../../src/cli/io.js';
import { runCli } from '../../../src/cli/program.js';
import type { BackupInfo } from '../../../src/jobs/types.js';
import { fake } from './fake-jobs.js';

// The engine modules the CLI imports (statically or when a command runs),
// each replaced by the in-memory fake.
vi.mock('../../../src/jobs/volume-service.js', async () => await import('./fake-jobs.js'));
vi.mock('../../../src/jobs/backup-info.js', async () => await import('./fake-jobs.js'));
vi.mock('../../../src/jobs/backup-job.js', async () => await import('./fake-jobs.js'));
vi.mock('../../../src/jobs/restore-job.js', async () => await import('./fake-jobs.js'));
vi.mock('../../../src/jobs/check-job.js', async () => await import('./fake-jobs.js'));
vi.mock('../../../src/sources/index.js', async () => await import('./fake-jobs.js'));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let dir: string;
let home: string;
let env: Record<string, string | undefined>;
const signals = new EventEmitter();

function makeIo(options: { stderrTTY?: boolean } = {}): Io & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean };
  stdin.isTTY = false;
  return {
    out,
    err,
    stdout: { write: (s: string) => out.push(s) > 0, isTTY: false },
    stderr: { write: (s: string) => err.push(s) > 0, isTTY: options.stderrTTY ?? false, columns: 100 },
    stdin,
    env,
    cwd: () => dir,
    onSignal: (s: StopSignal, h: () => void) => void signals.on(s, h),
    offSignal: (s: StopSignal, h: () => void) => void signals.off(s, h),
    exitNow: (code: number) => {
      throw new Error(`exitNow(${code})`);
    },
  };
}

async function arca(...argv: string[]): Promise<Run> {
  return arcaWith({}, ...argv);
}

async function arcaWith(options: { stderrTTY?: boolean }, ...argv: string[]): Promise<Run> {
  const io = makeIo(options);
  const code = await runCli(['--home', home, ...argv], io);
  return { code, stdout: io.out.join(''), stderr: io.err.join('') };
}

/** Exactly one stderr line `arca: …` and the given exit code. */
function expectError(run: Run, code: number, message: RegExp): void {
  expect(run.code, run.stderr).toBe(code);
  const lines = run.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^arca: /);
  expect(lines[0]).toMatch(message);
}

async function setup(volumes = ['v1']): Promise<void> {
  for (const v of volumes) expect((await arca('volume', 'add', v, join(dir, v))).code).toBe(0);
  expect((await arca('db', 'add', 'files', '/srv/files')).code).toBe(0);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'arca-cli-'));
  home = join(dir, 'home');
  env = { ARCA_PASSWORD: 'correct horse' };
  fake.reset();
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  signals.removeAllListeners();
});

describe('volumes and databases', () => {
  it('creates the home with mode 0700 and registers a volume', async () => {
    const run = await arca('volume', 'add', 'v1', 'vol');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe(`created volume v1 at ${join(dir, 'vol')}\n`);
    expect(statSync(home).mode & 0o777).toBe(0o700);
    const list = await arca('--json', 'volume', 'list');
    const volumes = JSON.parse(list.stdout) as Array<{ name: string; location: string }>;
    expect(volumes.map((v) => [v.name, v.location])).toEqual([['v1', join(dir, 'vol')]]);
  });

  it('attaches an existing volume after checking the password', async () => {
    await arca('volume', 'add', 'v1', 'vol');
    await arca('volume', 'add', 'v1', 'vol'); // duplicate name
    env['ARCA_PASSWORD'] = 'nope';
    const home2 = home;
    home = join(dir, 'home2');
    expectError(await arca('volume', 'add', 'again', 'vol'), 1, /^arca: wrong password for volume again$/);
    env['ARCA_PASSWORD'] = 'correct horse';
    const run = await arca('--json', 'volume', 'add', 'again', 'vol');
    expect(JSON.parse(run.stdout)).toMatchObject({ name: 'again', created: false });
    home = home2;
    expectError(await arca('volume', 'add', 'other', 'vol'), 1, /already registered as v1/);
  });

  it('refuses duplicate and invalid names', async () => {
    await setup();
    expectError(await arca('volume', 'add', 'v1', join(dir, 'x')), 1, /a volume named v1 already exists/);
    expectError(await arca('db', 'add', 'files', '/y'), 1, /a database named files already exists/);
    expectError(await arca('db', 'add', 'a/b', '/y'), 2, /invalid database name "a\/b"/);
    expectError(await arca('volume', 'add', '..', '/y'), 2, /invalid volume name/);
    expectError(await arca('db', 'add', 'pg', 'gopher://x'), 2, /unsupported/);
  });

  it('lists databases as a table or JSON', async () => {
    await setup();
    const table = await arca('db', 'list');
    expect(table.stdout).toMatch(/^NAME\s+URL\s+STATE\s+ADDED\nfiles\s+file:\/\/\/srv\/files\s+ready\s+\d{4}-/);
    expect(JSON.parse((await arca('db', 'list', '--json')).stdout)).toMatchObject([
      { name: 'files', settings: {}, state: 'ready', maintenance: null },
    ]);
  });
});

describe('backup, backups, restore', () => {
  it('prints the id, or the backup object with --json', async () => {
    await setup();
    const run = await arca('backup', 'files');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^[0-9a-f]{32}\n$/);
    expect(run.stderr).toBe(''); // no progress when stderr is not a terminal
    const json = await arca('backup', 'files', '--level', '1', '--expire', '1w 3d', '--json');
    const backup = JSON.parse(json.stdout) as BackupInfo;
    expect(backup).toMatchObject({ database: 'files', volume: 'v1', level: 1, parent: run.stdout.trim() });
    const ms = Date.parse(backup.expiresAt ?? '') - Date.now();
    expect(Math.abs(ms - 10 * 86_400_000)).toBeLessThan(60_000);
  });

  it('shows progress on a terminal, erased at the end, and a summary', async () => {
    await setup();
    const run = await arcaWith({ stderrTTY: true }, 'backup', 'files');
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('\r\x1b[2Kbackup  0 B / 100 B  0%');
    const summary = run.stderr.split('\r\x1b[2K').at(-1) ?? '';
    expect(summary).toMatch(/^backup [0-9a-f]{12} of files \(level 0\) on v1: read 100 B, added 40 B in \S+\n$/);
    const json = await arcaWith({ stderrTTY: true }, '--json', 'backup', 'files');
    expect(json.stderr).toBe('');
  });

  it('validates --level and --expire as usage errors', async () => {
    await setup();
    for (const level of ['10', '-1', 'x', '1.5', '']) {
      expectError(await arca('backup', 'files', '--level', level), 2, /level must be an integer from 0 to 9/);
    }
    expectError(await arca('backup', 'files', '--expire', '3x'), 2, /unknown unit "x"/);
    const never = await arca('backup', 'files', '--expire', 'never');
    expect(never.code, never.stderr).toBe(0);
  });

  it('needs --volume when several volumes are registered, and lists them', async () => {
    await setup(['v1', 'v2']);
    expectError(await arca('backup', 'files'), 2, /several volumes are registered \(v1, v2\); choose one with --volume/);
    expectError(await arca('backup', 'files', '--volume', 'v3'), 1, /no volume named v3 \(registered: v1, v2\)/);
    expect((await arca('backup', 'files', '--volume', 'v2')).code).toBe(0);
    expectError(await arca('backup', 'nodb', '--volume', 'v2'), 1, /no database named nodb/);
  });

  it('lists backups of all volumes, oldest first', async () => {
    await setup(['v1', 'v2']);
    const a = (await arca('backup', 'files', '--volume', 'v2')).stdout.trim();
    const b = (await arca('backup', 'files', '--volume', 'v1', '--level', '1')).stdout.trim();
    const json = JSON.parse((await arca('backups', '--json')).stdout) as BackupInfo[];
    expect(json.map((x) => x.id)).toEqual([a, b]);
    const table = (await arca('backups', 'files')).stdout.split('\n');
    expect(table[0]).toMatch(/^ID\s+DATABASE\s+VOLUME\s+LEVEL\s+PARENT\s+FINISHED\s+EXPIRES\s+READ\s+ADDED$/);
    expect(table[1]).toMatch(new RegExp(`^${a.slice(0, 12)}\\s+files\\s+v2\\s+0\\s+-\\s+.*never\\s+100 B\\s+40 B$`));
    expect(JSON.parse((await arca('backups', 'other', '--json')).stdout)).toEqual([]);
  });

  it('restores by unique prefix, searching every volume', async () => {
    await setup(['v1', 'v2']);
    const id = (await arca('backup', 'files', '--volume', 'v2')).stdout.trim();
    const run = await arca('restore', id.slice(0, 6), '--to', 'out', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ target: join(dir, 'out'), backup: { id } });
    expectError(await arca('restore', 'ffffffffffffffffff', '--to', 'out'), 1, /no backup ffffffffffffffffff/);
    expectError(await arca('restore', id, '--to', 'out', '--volume', 'v1'), 1, /no backup/);
    expectError(await arca('restore', id), 2, /required option '--to <target>' not specified/);
  });

  it('says when a prefix matches backups on several volumes', async () => {
    await setup(['v1', 'v2']);
    fake.nextIds = ['abc1'.padEnd(32, '0'), 'abc2'.padEnd(32, '0')];
    await arca('backup', 'files', '--volume', 'v1');
    await arca('backup', 'files', '--volume', 'v2');
    expectError(
      await arca('restore', 'abc', '--to', 'out'),
      1,
      /^arca: backup abc matches several backups \(abc100000000 on v1, abc200000000 on v2\); use --volume or a longer id$/,
    );
    expect((await arca('restore', 'abc2', '--to', 'out')).code).toBe(0);
    expect((await arca('restore', 'abc', '--to', 'out', '--volume', 'v1')).code).toBe(0);
    expectError(await arca('restore', 'a b', '--to', 'out'), 2, /invalid backup id "a b"/);
  });

  it('closes every opened volume', async () => {
    await setup(['v1', 'v2']);
    fake.closed = 0;
    await arca('backups');
    expect(fake.closed).toBe(2);
  });
});

describe('passwords', () => {
  it('fails clearly without a password source', async () => {
    await setup();
    delete env['ARCA_PASSWORD'];
    expectError(
      await arca('backups'),
      1,
      /^arca: no volume password: set ARCA_PASSWORD, use --password-file, or run on a terminal$/,
    );
    expect((await arca('volume', 'list')).code).toBe(0); // needs no password
  });

  it('reads --password-file (final newline stripped) before ARCA_PASSWORD', async () => {
    await setup();
    env['ARCA_PASSWORD'] = 'wrong';
    writeFileSync(join(dir, 'pw'), 'correct horse\n');
    expect((await arca('--password-file', join(dir, 'pw'), 'backups')).code).toBe(0);
    expectError(await arca('backups'), 1, /^arca: wrong password for volume v1$/);
    expectError(await arca('--password-file', join(dir, 'none'), 'backups'), 1, /cannot read the password file/);
  });

  it('never prints the password', async () => {
    await setup();
    env['ARCA_PASSWORD'] = 'hunter2-secret';
    const run = await arca('--debug', 'backups');
    expect(run.stderr + run.stdout).not.toContain('hunter2-secret');
  });
});

describe('check', () => {
  it('exits 0 when the volume is fine', async () => {
    await setup();
    const run = await arca('check', '--read-data=10%');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/volume v1: 0 backups, 1 packs, 1 packs and 3 blobs read: no problems found/);
  });

  it('exits 1 naming the affected backups; JSON stays alone on stdout', async () => {
    await setup();
    const id = (await arca('backup', 'files')).stdout.trim();
    fake.checkProblems = [{ object: 'data/ab/cd', message: 'authentication failed', backups: [id] }];
    const run = await arca('--json', 'check', '--read-data');
    expectError(run, 1, new RegExp(`check found 1 problem\\(s\\) on volume v1; affected backups: ${id}`));
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, problems: [{ backups: [id] }] });
    expectError(await arca('check', '--read-data=0'), 2, /percentage/);
  });
});

describe('errors and exits', () => {
  it('reports commander usage errors in one line, exit 2', async () => {
    expectError(await arca('backp'), 2, /^arca: unknown command 'backp'/);
    expectError(await arca('backup'), 2, /missing required argument 'name'/);
    expectError(await arca('backup', 'a', 'b'), 2, /too many arguments/);
    expectError(await arca('volume', 'list', '--bogus'), 2, /unknown option '--bogus'/);
  });

  it('prints help on stdout with exit 0', async () => {
    const run = await arca('--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Usage: arca/);
    expect(run.stderr).toBe('');
  });

  it('reports bugs as internal errors, with the stack only under --debug', async () => {
    await setup();
    fake.backupBug = new TypeError('cannot read properties of undefined');
    expectError(
      await arca('backup', 'files'),
      1,
      /^arca: internal error: cannot read properties of undefined \(run with --debug for details\)$/,
    );
    const debug = await arca('--debug', 'backup', 'files');
    expect(debug.code).toBe(1);
    expect(debug.stderr.split('\n')[1]).toMatch(/TypeError/);
  });

  it('aborts a running job on SIGINT (130) and SIGTERM (143)', async () => {
    await setup();
    fake.hangBackups = true;
    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      const pending = arca('backup', 'files');
      await vi.waitFor(() => expect(signals.listenerCount(signal)).toBe(1));
      signals.emit(signal);
      expectError(await pending, code, /^arca: backup aborted$/);
      expect(signals.listenerCount(signal)).toBe(0);
    }
    expect(JSON.parse((await arca('backups', '--json')).stdout)).toEqual([]);
  });
});

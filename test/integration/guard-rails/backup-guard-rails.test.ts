// End to end: the guard rails of `arca backup` for a live system.
// --max-duration stops a backup that runs too long through the abort path
// (exit 1, one line, nothing listed, the volume still checks); --jobs and
// --rate-limit are validated (exit 2); --rate-limit slows a files backup to
// the given rate; the backup runs at nice 10 unless --no-nice.

import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arcaOk,
  backup,
  bulkTree,
  describeRun,
  expectCleanFailure,
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

/** The nice value (field 19 of /proc/PID/stat) of a process or thread, or null once it is gone. */
function niceOf(statPath: string): number | null {
  let text: string;
  try {
    text = readFileSync(statPath, 'utf8');
  } catch {
    return null;
  }
  // Fields after the command (in parentheses, which may hold spaces): state is field 3, nice is 19.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(rest[19 - 3]);
}

/** Nice values of all threads of `pid` (empty once it has exited). */
function threadNices(pid: number): number[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tids.map((t) => niceOf(`/proc/${pid}/task/${t}/stat`)).filter((n): n is number => n !== null);
}

describe('backup guard rails', () => {
  let scratch: Scratch;
  let home: Home;

  beforeAll(async () => {
    requireBuiltCli();
    scratch = makeScratch('guard-rails');
    makeTree(scratch.path('big'), bulkTree(7, 120 * 1024 * 1024));
    makeTree(scratch.path('mid'), bulkTree(8, 20 * 1000 * 1000));
    home = await freshHome(scratch.root);
    await arcaOk(['db', 'add', 'big', scratch.path('big')], home.opts);
    await arcaOk(['db', 'add', 'mid', scratch.path('mid')], home.opts);
  });

  afterAll(() => scratch?.cleanup());

  it('--max-duration stops a long backup cleanly: exit 1, one line, nothing listed, volume checks', async () => {
    // The rate limit makes the backup take ~6 s, so a 1 s limit is always exceeded.
    const r = await runArca(['backup', 'big', '--max-duration', '1s', '--rate-limit', '20MB/s'], home.opts);
    expectCleanFailure(r, [1]);
    expect(r.stderr, describeRun(r)).toContain('backup of big exceeded --max-duration 1s and was stopped; nothing was listed');
    expect(await listBackups(home.opts, 'big')).toEqual([]);
    const c = await arcaOk(['check', '--json'], home.opts);
    expect(JSON.parse(c.stdout)).toMatchObject({ ok: true });
  });

  it('a backup within --max-duration completes, with the same --json shape', async () => {
    const r = await arcaOk(['backup', 'mid', '--max-duration', '30m', '--jobs', '4', '--json'], home.opts);
    const printed = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(printed).sort()).toEqual(
      ['bytesAdded', 'bytesRead', 'database', 'expiresAt', 'finishedAt', 'id', 'level', 'parent', 'startedAt', 'status', 'volume'].sort(),
    );
    expect((await listBackups(home.opts, 'mid')).map((b) => b.id)).toEqual([printed['id']]);
  });

  it('bad --jobs, --max-duration and --rate-limit values are usage errors (exit 2)', async () => {
    const bad: string[][] = [
      ['--jobs', '0'],
      ['--jobs', '17'],
      ['--jobs', 'x'],
      ['--max-duration', '0m'],
      ['--max-duration', 'soon'],
      ['--rate-limit', 'fast'],
      ['--rate-limit', '0MB/s'],
    ];
    for (const extra of bad) {
      const r = await runArca(['backup', 'mid', ...extra], home.opts);
      expectCleanFailure(r, [2]);
    }
  });

  it('backup --help lists the guard-rail options', async () => {
    const r = await arcaOk(['backup', '--help'], home.opts);
    for (const opt of ['--max-duration', '--jobs', '--rate-limit', '--no-nice']) expect(r.stdout).toContain(opt);
  });

  it('--rate-limit 10MB/s makes a 20 MB backup take at least 1.5 s', async () => {
    const started = performance.now();
    await backup('mid', home.opts, ['--rate-limit', '10MB/s', '--level', '0']);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1500);
  });

  it.runIf(process.platform === 'linux')('the backup runs at nice 10 in every thread, and at its own priority with --no-nice', async () => {
    const run = spawnArca(['backup', 'big', '--rate-limit', '20MB/s'], home.opts);
    let seen: number[];
    try {
      // Wait until the main thread is reniced, then sample every thread.
      for (let i = 0; i < 500 && niceOf(`/proc/${run.pid}/stat`) !== 10; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 200));
      seen = threadNices(run.pid);
    } finally {
      run.child.kill('SIGTERM');
      await run.done;
    }
    expect(seen.length).toBeGreaterThan(1);
    expect(new Set(seen)).toEqual(new Set([10]));

    const own = niceOf('/proc/self/stat');
    const plain = spawnArca(['backup', 'big', '--rate-limit', '20MB/s', '--no-nice'], home.opts);
    let plainSeen: number[];
    try {
      await new Promise((r) => setTimeout(r, 1000));
      plainSeen = threadNices(plain.pid);
    } finally {
      plain.child.kill('SIGTERM');
      await plain.done;
    }
    expect(plainSeen.length).toBeGreaterThan(1);
    expect(new Set(plainSeen)).toEqual(new Set([own]));
    expect(await listBackups(home.opts, 'big')).toEqual([]);
  });
});

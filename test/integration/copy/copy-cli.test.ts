// `arca copy` end to end with the built CLI: two local volumes with different
// passwords (the target's from ARCA_TO_PASSWORD or --to-password-file, never
// the command line), --dry-run, --json, a second run that copies nothing, the
// job history, and clean one-line errors.

import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arcaOk,
  backup,
  expectCleanFailure,
  makeScratch,
  makeTree,
  requireBuiltCli,
  richTree,
  runArca,
  treeSnapshot,
  type ArcaOptions,
  type BackupRecord,
  type Scratch,
} from '../../helpers/index.js';

const TARGET_PASSWORD = 'the off-site password';

describe('arca copy (CLI)', () => {
  let scratch: Scratch;
  let home: ArcaOptions;
  let withTarget: ArcaOptions;

  beforeAll(async () => {
    requireBuiltCli();
    scratch = makeScratch('copy-cli');
    home = { home: scratch.path('home') };
    withTarget = { ...home, env: { ARCA_TO_PASSWORD: TARGET_PASSWORD } };
    await arcaOk(['volume', 'add', 'main', scratch.path('vol-main')], home);
    await arcaOk(['volume', 'add', 'offsite', scratch.path('vol-offsite')], { ...home, env: { ARCA_PASSWORD: TARGET_PASSWORD } });
  });

  afterAll(() => scratch?.cleanup());

  it('copies backups to a volume with another password; they restore from it', async () => {
    const src = scratch.path('src');
    mkdirSync(src);
    makeTree(src, richTree(src));
    await arcaOk(['db', 'add', 'docs', src, '--no-schedule'], home);
    const id = await backup('docs', home, ['--volume', 'main', '--expire', '2w']);

    const dry = await arcaOk(['copy', '--from', 'main', '--to', 'offsite', '--dry-run'], withTarget);
    expect(dry.stdout).toContain('dry run');
    expect(dry.stdout).toContain(id.slice(0, 12));

    const r = await arcaOk(['--json', 'copy', '--from', 'main', '--to', 'offsite', '--db', 'docs', '--since', '1h'], withTarget);
    const report = JSON.parse(r.stdout) as { copied: Array<{ id: string; bytesAdded: number }>; skipped: unknown[] };
    expect(report.copied.map((c) => c.id)).toEqual([id]);
    expect(report.copied[0]!.bytesAdded).toBeGreaterThan(0);
    expect(r.stderr).toBe('');

    const listed = async (volume: string, password?: string) =>
      JSON.parse((await arcaOk(['--json', 'backups', '--volume', volume], password ? { ...home, env: { ARCA_PASSWORD: password } } : home)).stdout) as BackupRecord[];
    const [onMain, onTarget] = [await listed('main'), await listed('offsite', TARGET_PASSWORD)];
    expect(onTarget.map((b) => [b.id, b.level, b.expiresAt, b.volume])).toEqual(onMain.map((b) => [b.id, b.level, b.expiresAt, 'offsite']));

    const to = scratch.path('restored');
    await arcaOk(['restore', id, '--volume', 'offsite', '--to', to], { ...home, env: { ARCA_PASSWORD: TARGET_PASSWORD } });
    expect(treeSnapshot(to)).toEqual(treeSnapshot(src));

    // Again, with the target's password from a file: nothing to copy.
    const file = scratch.path('offsite-password');
    writeFileSync(file, `${TARGET_PASSWORD}\n`, { mode: 0o600 });
    const again = await arcaOk(['copy', '--from', 'main', '--to', 'offsite', '--to-password-file', file], home);
    expect(again.stdout).toContain('no backups copied');
    expect(again.stdout).toContain('1 already on offsite');
    const jobs = JSON.parse((await arcaOk(['--json', 'jobs', '--kind', 'copy'], home)).stdout) as Array<{ kind: string; status: string }>;
    expect(jobs.map((j) => [j.kind, j.status])).toEqual([
      ['copy', 'succeeded'],
      ['copy', 'succeeded'],
    ]);
  });

  it('fails with one clear line: wrong target password, unknown volume, same volume, bad --since', async () => {
    const wrong = await runArca(['copy', '--from', 'main', '--to', 'offsite'], home);
    expectCleanFailure(wrong);
    expect(wrong.stderr).toContain('wrong password for volume offsite');
    const unknown = await runArca(['copy', '--from', 'main', '--to', 'nowhere'], home);
    expectCleanFailure(unknown);
    expect(unknown.stderr).toContain('nowhere');
    const same = await runArca(['copy', '--from', 'main', '--to', 'main'], home);
    expectCleanFailure(same);
    expect(same.stderr).toContain('another volume');
    const since = await runArca(['copy', '--from', 'main', '--to', 'offsite', '--since', 'yesterday'], withTarget);
    expectCleanFailure(since);
    expect(since.stderr).toContain('--since');
    for (const r of [wrong, unknown, same, since]) expect(r.stderr).not.toContain(TARGET_PASSWORD);
  });
});

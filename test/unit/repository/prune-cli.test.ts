// The prune, delete, expire and `db retention` commands through runCli with the
// real engine on a local volume: text and JSON, a deleted parent shown as
// such, a dry run that changes nothing, and usage errors.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Io } from '../../../src/cli/io.js';
import { runCli } from '../../../src/cli/program.js';
import { LocalBackend } from '../../../src/backend/local/local-backend.js';
import { Repository } from '../../../src/repository/repository.js';
import { CHEAP_KDF } from './fixtures.js';

let dir: string;
let home: string;

async function arca(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean };
  const io: Io = {
    stdout: { write: (s: string) => out.push(s) > 0, isTTY: false },
    stderr: { write: (s: string) => err.push(s) > 0, isTTY: false, columns: 100 },
    stdin,
    env: { ARCA_PASSWORD: 'correct horse' },
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

async function ok(...argv: string[]): Promise<string> {
  const r = await arca(...argv);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'arca-prune-cli-'));
  home = join(dir, 'home');
  mkdirSync(join(dir, 'src'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prune, delete, expire and db retention on the command line', () => {
  it('works end to end', async () => {
    // A volume made with a cheap KDF, then attached: each command opens it quickly.
    await Repository.init(await LocalBackend.create(join(dir, 'vol')), 'correct horse', { scrypt: CHEAP_KDF });
    await ok('volume', 'add', 'main', join(dir, 'vol'));
    await ok('db', 'add', 'docs', join(dir, 'src'), '--no-schedule');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      writeFileSync(join(dir, 'src', `f${i}.txt`), `file ${i}\n`.repeat(1000 * (i + 1)));
      ids.push((await ok('backup', 'docs', '--level', i === 0 ? '0' : '1', '--no-nice')).trim());
    }

    // Retention: set, merge, show, clear; invalid counts are usage errors.
    expect(await ok('db', 'retention', 'docs')).toMatch(/no retention policy for docs/);
    expect(await ok('db', 'retention', 'docs', '--keep-last', '2', '--keep-daily', '7')).toBe('retention of docs: keep-last 2, keep-daily 7 (expired backups go regardless)\n');
    expect(JSON.parse(await ok('--json', 'db', 'retention', 'docs', '--keep-daily', '0'))).toEqual({ database: 'docs', retention: { keepLast: 2 } });
    expect((await arca('db', 'retention', 'docs', '--keep-last', '-1')).code).toBe(2);
    expect((await arca('db', 'retention', 'nope')).stderr).toMatch(/no database named nope/);

    // Expire: a duration or never; a bad duration is a usage error that says why.
    expect(await ok('expire', ids[0]!.slice(0, 8), '2w')).toMatch(/now expires at/);
    const never = JSON.parse(await ok('--json', 'expire', ids[0]!, 'never')) as { expiresAt: string | null };
    expect(never.expiresAt).toBeNull();
    const bad = await arca('expire', ids[0]!, '2 fortnights');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid duration/);

    // Delete the first backup (the parent of the second): listed as deleted, the child restores.
    expect(await ok('delete', ids[0]!.slice(0, 10))).toMatch(/deleted backup .* of docs/);
    const listed = JSON.parse(await ok('--json', 'backups')) as Array<{ id: string; parentPresent?: boolean }>;
    expect(listed.find((b) => b.id === ids[1])?.parentPresent).toBe(false);
    expect(await ok('backups')).toMatch(/\(deleted; restores on its own\)/);

    // Dry run with keep-last 2: names the backup that would go, changes nothing.
    const dry = JSON.parse(await ok('--json', 'prune', '--dry-run')) as { dryRun: boolean; backupsRemoved: Array<{ id: string; reasons: string[] }> };
    expect(dry.dryRun).toBe(true);
    expect(dry.backupsRemoved.map((b) => [b.id, b.reasons])).toEqual([[ids[1], ['dropped by policy']]]);
    expect(JSON.parse(await ok('--json', 'backups'))).toHaveLength(3);

    const text = await ok('prune');
    expect(text).toMatch(/^prune of volume main\n1 backup removed, 2 kept:\n/);
    expect(text).toMatch(/reclaimed .* in /);
    expect((JSON.parse(await ok('--json', 'backups')) as Array<{ id: string }>).map((b) => b.id)).toEqual(ids.slice(2));
    const restored = join(dir, 'restored');
    await ok('restore', ids[3]!, '--to', restored);
    expect(JSON.parse(await ok('--json', 'check', '--read-data'))).toMatchObject({ ok: true });
    expect((await arca('prune', '--repack-threshold', '150')).code).toBe(2);
  });
});

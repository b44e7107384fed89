// End to end: the CLI's contract around the main job. `--json` prints JSON of
// the documented shapes; expiry strings mean what DESIGN.md says; any unique
// id prefix works and an ambiguous or unknown one is refused; a wrong or
// missing password says so; bad input gets exit 1 or 2 with one clear line on
// stderr and no stack trace; a second home that only knows the volume (and
// the password) can list and restore its backups.

import { chmodSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arcaOk,
  backup,
  describeRun,
  dir,
  expectCleanFailure,
  file,
  findBackup,
  freshHome,
  listBackups,
  makeScratch,
  makeTree,
  requireBuiltCli,
  runArca,
  symlink,
  TEST_PASSWORD,
  toBackupRecord,
  treeSnapshot,
  type ArcaOptions,
  type Home,
  type Scratch,
  type SnapshotEntry,
} from '../helpers/index.js';

const MINUTE = 60_000;

function parseJson(stdout: string, account: string): unknown {
  try {
    return JSON.parse(stdout);
  } catch {
    throw new Error(`stdout is not JSON\n${account}`);
  }
}

describe('files: CLI contract and bad input', () => {
  let scratch: Scratch;
  let home: Home;
  let source: SnapshotEntry[];
  let first: string;

  beforeAll(async () => {
    requireBuiltCli();
    scratch = makeScratch('cli');
    const src = scratch.path('docs');
    makeTree(src, { 'readme.txt': file('hello\n'), sub: dir({ 'data.bin': file({ random: 100_000 }) }), link: symlink('readme.txt') });
    source = treeSnapshot(src);
    home = await freshHome(scratch.root);
    await arcaOk(['db', 'add', 'docs', src], home.opts);
    first = await backup('docs', home.opts);
  });

  afterAll(() => scratch?.cleanup());

  describe('--json', () => {
    it('volume list and db list print arrays naming what was added', async () => {
      const v = await arcaOk(['volume', 'list', '--json'], home.opts);
      const volumes = parseJson(v.stdout, describeRun(v));
      expect(Array.isArray(volumes)).toBe(true);
      expect(volumes).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'main' })]));
      const d = await arcaOk(['db', 'list', '--json'], home.opts);
      const dbs = parseJson(d.stdout, describeRun(d));
      expect(dbs).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'docs' })]));
    });

    it('backup --json prints the backup; backups --json lists it with every field', async () => {
      const r = await arcaOk(['backup', 'docs', '--json'], home.opts);
      const b = toBackupRecord(parseJson(r.stdout, describeRun(r)));
      expect(b).toMatchObject({ database: 'docs', volume: 'main', level: 0, status: 'completed', expiresAt: null });
      const listed = findBackup(await listBackups(home.opts), b.id);
      expect(Object.keys(listed).sort()).toEqual(
        expect.arrayContaining(
          ['id', 'database', 'volume', 'level', 'parent', 'status', 'startedAt', 'finishedAt', 'expiresAt', 'bytesRead', 'bytesAdded'].sort(),
        ),
      );
      expect(listed).toMatchObject({ id: b.id, bytesRead: b.bytesRead, bytesAdded: b.bytesAdded });
      for (const t of [listed.startedAt, listed.finishedAt]) expect(Number.isNaN(Date.parse(t)), t).toBe(false);
    });

    it('backups NAME --json lists only that database', async () => {
      const other = scratch.path('other');
      makeTree(other, { 'x.txt': file('other\n') });
      await arcaOk(['db', 'add', 'other', `file://${other}`], home.opts);
      const otherId = await backup('other', home.opts);
      const docs = await listBackups(home.opts, 'docs');
      expect(docs.length).toBeGreaterThan(0);
      expect(docs.every((b) => b.database === 'docs')).toBe(true);
      expect((await listBackups(home.opts, 'other')).map((b) => b.id)).toEqual([otherId]);
    });

    it('check --json and restore --json print JSON', async () => {
      const c = await arcaOk(['check', '--json'], home.opts);
      expect(parseJson(c.stdout, describeRun(c))).toMatchObject({ ok: true });
      const r = await arcaOk(['restore', first, '--to', scratch.path('json-restore'), '--json'], home.opts);
      expect(typeof parseJson(r.stdout, describeRun(r))).toBe('object');
      expect(treeSnapshot(scratch.path('json-restore'))).toEqual(source);
    });
  });

  describe('expiry', () => {
    const cases: [string, number][] = [
      ['1w 3d', 10 * 24 * 60 * MINUTE],
      ['12h', 12 * 60 * MINUTE],
      ['30m', 30 * MINUTE],
      ['2m', 2 * MINUTE], // minutes, not months
    ];
    for (const [expire, ms] of cases) {
      it(`--expire "${expire}" expires ${ms / MINUTE} minutes after the backup`, async () => {
        const id = await backup('docs', home.opts, ['--expire', expire]);
        const b = findBackup(await listBackups(home.opts), id);
        expect(b.expiresAt).not.toBeNull();
        const delta = Date.parse(b.expiresAt ?? '') - Date.parse(b.startedAt);
        // Counted from the start or the end of the backup: allow a minute.
        expect(Math.abs(delta - ms), `expiresAt ${b.expiresAt}, startedAt ${b.startedAt}`).toBeLessThan(MINUTE);
      });
    }
  });

  describe('backup ids', () => {
    it('accepts the shortest unique prefix of an id', async () => {
      const ids = (await listBackups(home.opts)).map((b) => b.id);
      let len = 1;
      while (ids.filter((x) => x.startsWith(first.slice(0, len))).length > 1) len++;
      const to = scratch.path('by-prefix');
      await arcaOk(['restore', first.slice(0, len), '--to', to], home.opts);
      expect(treeSnapshot(to)).toEqual(source);
    });

    it('refuses an ambiguous prefix with one clear line', async () => {
      // Make backups until two ids share their first hex digit (at most 17 by pigeonhole).
      let ids = (await listBackups(home.opts)).map((b) => b.id);
      const shared = (): string | undefined => ids.map((x) => x[0] ?? '').find((c, i, all) => all.indexOf(c) !== i);
      while (shared() === undefined) {
        await backup('docs', home.opts);
        ids = (await listBackups(home.opts)).map((b) => b.id);
      }
      const prefix = shared() as string;
      const r = await runArca(['restore', prefix, '--to', scratch.path('ambiguous')], home.opts);
      expectCleanFailure(r);
      expect(r.stderr, describeRun(r)).toMatch(/ambiguous|more than one|several|matches/i);
    });

    it('refuses an unknown id with one clear line', async () => {
      const ids = (await listBackups(home.opts)).map((b) => b.id);
      const unknown = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f']
        .map((c) => c.repeat(2) + 'deadbeef')
        .find((p) => !ids.some((x) => x.startsWith(p))) as string;
      for (const id of [unknown, unknown.padEnd(32, '0')]) {
        const r = await runArca(['restore', id, '--to', scratch.path('unknown')], home.opts);
        expectCleanFailure(r);
      }
    });
  });

  describe('passwords', () => {
    it('says a wrong password is wrong, exit 1, and writes nothing', async () => {
      const wrong: ArcaOptions = { ...home.opts, env: { ARCA_PASSWORD: 'not the password' } };
      const before = (await listBackups(home.opts)).length;
      for (const args of [['check'], ['backups', '--json'], ['backup', 'docs'], ['restore', first, '--to', scratch.path('wrong-pw')]]) {
        const r = await runArca(args, wrong);
        expectCleanFailure(r, [1]);
        expect(r.stderr, describeRun(r)).toMatch(/password/i);
        expect(r.stderr, describeRun(r)).toMatch(/wrong|incorrect|invalid|does not (match|open)/i);
      }
      expect((await listBackups(home.opts)).length).toBe(before);
    });

    it('reads the password from --password-file (one trailing newline ignored)', async () => {
      const good = scratch.path('password');
      writeFileSync(good, `${TEST_PASSWORD}\n`);
      chmodSync(good, 0o600);
      const noEnv: ArcaOptions = { ...home.opts, env: { ARCA_PASSWORD: undefined } };
      const r = await arcaOk(['--password-file', good, 'backups', '--json'], noEnv);
      expect(Array.isArray(parseJson(r.stdout, describeRun(r)))).toBe(true);
      const bad = scratch.path('bad-password');
      writeFileSync(bad, 'nope\n');
      const w = await runArca(['--password-file', bad, 'check'], noEnv);
      expectCleanFailure(w, [1]);
      expect(w.stderr).toMatch(/password/i);
    });

    it('fails clearly without a password and without a terminal', async () => {
      const r = await runArca(['check'], { ...home.opts, env: { ARCA_PASSWORD: undefined } });
      expectCleanFailure(r);
      expect(r.stderr, describeRun(r)).toMatch(/password/i);
    });

    it('attaches an existing volume in a new home only with the right password, then lists and restores', async () => {
      const other: ArcaOptions = { home: scratch.path('home-2') };
      const w = await runArca(['volume', 'add', 'found', home.volumeDir], { ...other, env: { ARCA_PASSWORD: 'guess' } });
      expectCleanFailure(w, [1]);
      expect(w.stderr, describeRun(w)).toMatch(/password/i);
      await arcaOk(['volume', 'add', 'found', `file://${home.volumeDir}`], other);
      const list = await listBackups(other);
      expect(findBackup(list, first)).toMatchObject({ database: 'docs', volume: 'found' });
      const to = scratch.path('from-home-2');
      await arcaOk(['restore', first, '--to', to], other);
      expect(treeSnapshot(to)).toEqual(source);
    });
  });

  describe('bad input', () => {
    const bad: [string, string[]][] = [
      ['an unknown database', ['backup', 'no-such-db']],
      ['an unknown database, with --json', ['backup', 'no-such-db', '--json']],
      ['level 12', ['backup', 'docs', '--level', '12']],
      ['level -1', ['backup', 'docs', '--level=-1']],
      ['a level that is not a number', ['backup', 'docs', '--level', 'two']],
      ['an expiry that means nothing', ['backup', 'docs', '--expire', 'soon']],
      ['an expiry with an unknown unit', ['backup', 'docs', '--expire', '3x']],
      ['an unknown volume', ['backup', 'docs', '--volume', 'no-such-volume']],
      ['a check of an unknown volume', ['check', '--volume', 'no-such-volume']],
      ['a database URL of an unknown scheme', ['db', 'add', 'weird', 'gopher://example/x']],
      ['a second database of the same name', ['db', 'add', 'docs', '/tmp']],
    ];
    for (const [what, args] of bad) {
      it(`${what}: exit 1 or 2, one clear line on stderr`, async () => {
        const r = await runArca(args, home.opts);
        expectCleanFailure(r);
      });
    }

    it('an unknown database is named in the message', async () => {
      const r = await runArca(['backup', 'no-such-db'], home.opts);
      expect(r.stderr).toContain('no-such-db');
    });

    const usage: [string, string[]][] = [
      ['an unknown command', ['frobnicate']],
      ['an unknown option', ['backups', '--frobnicate']],
      ['restore without an id', ['restore']],
      ['restore without --to', ['restore', 'abcdef']],
    ];
    for (const [what, args] of usage) {
      it(`${what}: usage error, exit 2`, async () => {
        const r = await runArca(args, home.opts);
        expectCleanFailure(r, [2]);
      });
    }

    it('--home wins over ARCA_HOME', async () => {
      const r = await arcaOk(['--home', scratch.path('home-3'), 'db', 'list', '--json'], home.opts);
      expect(parseJson(r.stdout, describeRun(r))).toEqual([]);
    });

    it('made no backup while refusing all that', async () => {
      const list = await listBackups(home.opts);
      expect(list.every((b) => ['docs', 'other'].includes(b.database))).toBe(true);
      expect(list.some((b) => b.level === 12)).toBe(false);
    });
  });
});

// `arca export` of a directory backup, end to end through the real CLI: the
// tar it writes, extracted by GNU tar, equals the source tree (bytes, modes,
// symlinks, mtimes at 1 s); the default name; `-o -`; and the error cases
// (unknown id, an existing file without --force) each give one line, exit 1.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arcaOk,
  backup,
  describeRun,
  expectCleanFailure,
  freshHome,
  makeScratch,
  makeTree,
  requireBuiltCli,
  richTree,
  runArca,
  treeSnapshot,
  type Home,
  type Scratch,
  type SnapshotEntry,
} from '../../helpers/index.js';
import { runArcaIn } from './export-helpers.js';

/** A snapshot with mtimes compared at 1 s (the precision the export promises). */
const atSeconds = (entries: SnapshotEntry[]) => entries.map((e) => ({ ...e, mtimeUs: Math.floor(e.mtimeUs / 1e6) }));

function untar(file: string, into: string): void {
  mkdirSync(into, { recursive: true });
  const r = spawnSync('tar', ['-xf', file, '-C', into], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

describe('export: files → tar', () => {
  let scratch: Scratch;
  let home: Home;
  let src: string;
  let source: SnapshotEntry[];
  let id: string;

  beforeAll(async () => {
    requireBuiltCli();
    scratch = makeScratch('export-files');
    src = scratch.path('uploads');
    makeTree(src, richTree(src));
    source = treeSnapshot(src);
    home = await freshHome(scratch.root);
    await arcaOk(['db', 'add', 'uploads', src], home.opts);
    id = await backup('uploads', home.opts);
  });

  afterAll(() => scratch?.cleanup());

  it('writes a tar that tar -xf turns back into the source tree', async () => {
    const out = scratch.path('uploads.tar');
    const r = await arcaOk(['export', id, '-o', out], home.opts);
    expect(r.stdout, describeRun(r)).toContain(out);
    const to = scratch.path('untarred');
    untar(out, to);
    expect(atSeconds(treeSnapshot(to))).toEqual(atSeconds(source));
    // No temp file is left beside the export.
    expect(readdirSync(scratch.root).filter((n) => n.includes('arca-export'))).toEqual([]);
  });

  it('names the file <database>-<yyyymmdd-hhmmss>.tar in the current directory by default', async () => {
    const cwd = scratch.path('cwd');
    mkdirSync(cwd);
    const r = await runArcaIn(cwd, ['export', id.slice(0, 12)], home.opts);
    expect(r.code, describeRun(r)).toBe(0);
    const names = readdirSync(cwd);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^uploads-\d{8}-\d{6}\.tar$/);
  });

  it('writes to stdout with -o -', async () => {
    const r = await runArcaIn(scratch.root, ['export', id, '-o', '-'], home.opts);
    expect(r.code, r.stderr).toBe(0);
    const file = scratch.path('from-stdout.tar');
    writeFileSync(file, r.stdoutBytes);
    const to = scratch.path('untarred-stdout');
    untar(file, to);
    expect(atSeconds(treeSnapshot(to))).toEqual(atSeconds(source));
  });

  it('refuses an existing file without --force and overwrites it with --force', async () => {
    const out = scratch.path('occupied.tar');
    writeFileSync(out, 'keep me');
    const refused = await runArca(['export', id, '-o', out], home.opts);
    expectCleanFailure(refused, [1]);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    await arcaOk(['export', id, '-o', out, '--force'], home.opts);
    expect(readFileSync(out).length).toBeGreaterThan(1_000_000);
  });

  it('fails with one line and exit 1 for an unknown backup id', async () => {
    const out = scratch.path('never.tar');
    const r = await runArca(['export', 'ffffffffffff', '-o', out], home.opts);
    expectCleanFailure(r, [1]);
    expect(existsSync(out)).toBe(false);
  });

  // Last: it damages the volume.
  it('leaves no file (and no temp file) when the volume is damaged', async () => {
    const packs = readdirSync(path.join(home.volumeDir, 'data'), { recursive: true, encoding: 'utf8' })
      .map((p) => path.join(home.volumeDir, 'data', p))
      .filter((p) => statSync(p).isFile())
      .sort((a, b) => statSync(b).size - statSync(a).size);
    truncateSync(packs[0]!, 1000);
    const out = scratch.path('damaged.tar');
    const r = await runArca(['export', id, '-o', out], home.opts);
    expectCleanFailure(r, [1]);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(scratch.root).filter((n) => n.includes('arca-export'))).toEqual([]);
  });
});

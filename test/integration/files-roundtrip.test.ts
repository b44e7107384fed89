// End to end through the real CLI: a directory backed up and restored comes
// back identical, bytes and metadata (modes, mtimes of files, folders and
// symlinks, symlink targets, empty files and folders, odd names); restoring
// over a non-empty target needs --force.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arcaOk,
  backup,
  describeRun,
  freshHome,
  listBackups,
  makeScratch,
  makeTree,
  requireBuiltCli,
  richTree,
  runArca,
  setMtime,
  treeSnapshot,
  type Home,
  type Scratch,
  type SnapshotEntry,
} from '../helpers/index.js';

describe('files: round trip', () => {
  let scratch: Scratch;
  let home: Home;
  let src: string;
  let source: SnapshotEntry[];
  let id: string;

  beforeAll(async () => {
    requireBuiltCli();
    scratch = makeScratch('roundtrip');
    src = scratch.path('uploads');
    makeTree(src, richTree(src));
    source = treeSnapshot(src);
    home = await freshHome(scratch.root);
    // A plain path here; file:// URLs are covered by the other tests.
    await arcaOk(['db', 'add', 'uploads', src], home.opts);
    id = await backup('uploads', home.opts);
  });

  afterAll(() => scratch?.cleanup());

  it('restores a tree equal to the source, bytes and metadata', async () => {
    const to = scratch.path('restored');
    const r = await arcaOk(['restore', id, '--to', to], home.opts);
    expect(treeSnapshot(to), describeRun(r)).toEqual(source);
    // The source was not touched by the backup.
    expect(treeSnapshot(src)).toEqual(source);
  });

  it('lists the backup with the documented fields', async () => {
    const list = await listBackups(home.opts);
    expect(list).toHaveLength(1);
    const b = list[0];
    expect(b).toMatchObject({ id, database: 'uploads', volume: home.volumeName, level: 0, parent: null, expiresAt: null });
    const fileBytes = source.reduce((n, e) => n + (e.size ?? 0), 0);
    expect(b?.bytesRead).toBeGreaterThanOrEqual(fileBytes);
    expect(b?.bytesAdded).toBeGreaterThan(0);
    expect(Date.parse(b?.finishedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(b?.startedAt ?? ''));
  });

  it('refuses to restore over a non-empty folder without --force, and overwrites with it', async () => {
    const to = scratch.path('occupied');
    mkdirSync(to);
    // A file the backup also has, with other content, and one it does not have.
    writeFileSync(`${to}/one-byte`, 'not what was backed up');
    writeFileSync(`${to}/bystander.txt`, 'was here before\n');
    setMtime(`${to}/one-byte`, 1_000_000_000);
    const before = treeSnapshot(to);

    const refused = await runArca(['restore', id, '--to', to], home.opts);
    expect(refused.code, describeRun(refused)).not.toBe(0);
    expect(refused.stderr.trim(), describeRun(refused)).not.toBe('');
    expect(treeSnapshot(to), 'a refused restore must not touch the target').toEqual(before);

    const forced = await runArca(['restore', id, '--to', to, '--force'], home.opts);
    expect(forced.code, describeRun(forced)).toBe(0);
    // Everything the backup has is back exactly; what else was there is not
    // compared (whether --force keeps or removes it is the CLI's choice).
    const restored = treeSnapshot(to).filter((e) => e.path !== 'bystander.txt');
    expect(restored).toEqual(source);
  });

  it('keeps a file name that is not valid UTF-8', async () => {
    const raw = scratch.path('raw-names');
    makeTree(raw, {});
    const name = Buffer.concat([Buffer.from(`${raw}/caf`), Buffer.from([0xe9]), Buffer.from('.latin1')]);
    writeFileSync(name, 'a Latin-1 name\n');
    setMtime(name, 1_700_000_000.25);
    setMtime(raw, 1_700_000_001.5);
    const want = treeSnapshot(raw);
    expect(want[0]?.path).toBe('caf\\xe9.latin1');

    await arcaOk(['db', 'add', 'raw', `file://${raw}`], home.opts);
    const rawId = await backup('raw', home.opts);
    const to = scratch.path('raw-restored');
    await arcaOk(['restore', rawId, '--to', to], home.opts);
    expect(treeSnapshot(to)).toEqual(want);
    expect(readFileSync(Buffer.concat([Buffer.from(`${to}/caf`), Buffer.from([0xe9]), Buffer.from('.latin1')]), 'utf8')).toBe(
      'a Latin-1 name\n',
    );
    expect(existsSync(`${to}/caf\u00e9.latin1`), 'the raw name must not be re-encoded').toBe(false);
  });
});

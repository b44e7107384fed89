// End to end: deduplication and incremental levels on a tree of about 24 MB.
// A second backup of an unchanged tree adds < 0.1% of its size; a level-1
// backup after changing one file reads little, names its parent, and restores
// the whole tree; earlier backups still restore as they were.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arcaOk,
  backup,
  bulkTree,
  findBackup,
  freshHome,
  listBackups,
  makeScratch,
  makeTree,
  requireBuiltCli,
  seededBytes,
  setMtime,
  treeSnapshot,
  writeFileStamped,
  type Home,
  type Scratch,
  type SnapshotEntry,
} from '../helpers/index.js';

const TREE_BYTES = 24_000_000;

describe('files: dedup and levels', () => {
  let scratch: Scratch;
  let home: Home;
  let src: string;
  let first: SnapshotEntry[];
  let treeBytes: number;
  let full: string;
  let again: string;

  beforeAll(async () => {
    requireBuiltCli();
    scratch = makeScratch('dedup');
    src = scratch.path('data');
    treeBytes = makeTree(src, bulkTree(7, TREE_BYTES)).bytes;
    first = treeSnapshot(src);
    home = await freshHome(scratch.root);
    await arcaOk(['db', 'add', 'data', `file://${src}`], home.opts);
    full = await backup('data', home.opts);
  });

  afterAll(() => scratch?.cleanup());

  it('adds less than 0.1% of the tree when backing up an unchanged tree again', async () => {
    again = await backup('data', home.opts);
    expect(again).not.toBe(full);
    const list = await listBackups(home.opts, 'data');
    const a = findBackup(list, full);
    const b = findBackup(list, again);
    console.log(`tree ${treeBytes} B: full backup added ${a.bytesAdded} B, unchanged again added ${b.bytesAdded} B`);
    // The full backup really stored the (mostly random) data.
    expect(a.bytesAdded).toBeGreaterThan(treeBytes * 0.8);
    expect(b.bytesAdded).toBeLessThan(treeBytes * 0.001);
    expect(b.level).toBe(0);
  });

  it('backs up one changed file at level 1 and restores the whole tree', async () => {
    const changed = `${src}/small/s-042.txt`;
    const newContent = seededBytes('dedup-changed', 300_000);
    writeFileStamped(changed, newContent, 1_750_000_000.75);
    setMtime(`${src}/small`, 1_750_000_001.5);
    const now = treeSnapshot(src);

    const inc = await backup('data', home.opts, ['--level', '1']);
    const b = findBackup(await listBackups(home.opts), inc);
    console.log(`level 1 after one 300 kB change: read ${b.bytesRead} B, added ${b.bytesAdded} B`);
    expect(b.level).toBe(1);
    // Parent: the newest completed backup of a lower level.
    expect(b.parent).toBe(again);
    // Unchanged files (same size, mtime, inode) are skipped, not read again.
    expect(b.bytesRead).toBeGreaterThanOrEqual(newContent.length);
    expect(b.bytesRead).toBeLessThan(treeBytes * 0.1);
    expect(b.bytesAdded).toBeGreaterThanOrEqual(newContent.length);
    expect(b.bytesAdded).toBeLessThan(treeBytes * 0.05);

    const to = scratch.path('restored-inc');
    await arcaOk(['restore', inc.slice(0, 12), '--to', to], home.opts);
    expect(treeSnapshot(to)).toEqual(now);
  });

  it('still restores the first full backup as it was', async () => {
    const to = scratch.path('restored-full');
    await arcaOk(['restore', full, '--to', to], home.opts);
    expect(treeSnapshot(to)).toEqual(first);
  });
});

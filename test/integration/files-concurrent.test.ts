// End to end: two `arca backup` processes write one volume at the same time,
// for two different databases and for the same database twice. Both succeed,
// the volume checks clean, and both backups restore identical. The trees
// share a large file (and the second round adds the same new file for both),
// so both writers store the same blobs at once.

import { readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arcaOk,
  backupIdFrom,
  describeRun,
  dir,
  file,
  findBackup,
  freshHome,
  listBackups,
  makeScratch,
  makeTree,
  requireBuiltCli,
  runArca,
  spawnArca,
  treeSnapshot,
  type Home,
  type Scratch,
  type SnapshotEntry,
} from '../helpers/index.js';

/** A tree of about 25 MB: 12 MB shared with every other tree of this test, the rest its own. */
function treeFor(name: string) {
  return {
    'shared.bin': file({ random: 12_000_000, seed: 'concurrent-shared' }),
    [`${name}.bin`]: file({ random: 12_000_000 }),
    logs: dir({ 'app.log': file({ text: 1_000_000 }) }),
  };
}

/**
 * Writer leases in the volume's sessions/ folder right now. Read while both
 * writers run, so a lease may vanish between listing and any later look: only
 * names are read, never a stat of each (which a finished writer races).
 */
function liveSessionCount(volumeDir: string): number {
  try {
    return readdirSync(path.join(volumeDir, 'sessions')).length;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
}

describe('files: two writers at once', () => {
  let scratch: Scratch;
  let home: Home;
  const sources = new Map<string, SnapshotEntry[]>();

  async function restoresIdentical(id: string, want: SnapshotEntry[]): Promise<void> {
    const to = scratch.path(`restored-${id}`);
    const r = await runArca(['restore', id, '--to', to], home.opts);
    expect(r.code, describeRun(r)).toBe(0);
    expect(treeSnapshot(to)).toEqual(want);
  }

  /**
   * Starts both backups at once and waits for both. Whether their writer
   * sessions overlapped is logged (two leases seen in sessions/ at once), not
   * asserted: on a busy machine one may finish before the other opens the volume.
   */
  async function backupTogether(a: string, b: string): Promise<[string, string]> {
    const runs = [spawnArca(['backup', a], home.opts), spawnArca(['backup', b], home.opts)];
    let running = true;
    const all = Promise.all(runs.map((r) => r.done)).finally(() => (running = false));
    let mostLeases = 0;
    while (running) {
      mostLeases = Math.max(mostLeases, liveSessionCount(home.volumeDir));
      await sleep(5);
    }
    const results = await all;
    for (const r of results) expect(r.code, describeRun(r)).toBe(0);
    console.log(`backup ${a} and ${b} at once: at most ${mostLeases} writer session(s) seen at the same time`);
    return [backupIdFrom(results[0]!), backupIdFrom(results[1]!)];
  }

  beforeAll(async () => {
    requireBuiltCli();
    scratch = makeScratch('concurrent');
    home = await freshHome(scratch.root);
    for (const name of ['north', 'south']) {
      const src = scratch.path(name);
      makeTree(src, treeFor(name), { seed: name });
      sources.set(name, treeSnapshot(src));
      await arcaOk(['db', 'add', name, `file://${src}`], home.opts);
    }
  });

  afterAll(() => scratch?.cleanup());

  it('backs up two databases at once; both restore', async () => {
    const [n, s] = await backupTogether('north', 'south');
    const list = await listBackups(home.opts);
    expect(findBackup(list, n).database).toBe('north');
    expect(findBackup(list, s).database).toBe('south');
    await arcaOk(['check', '--read-data'], home.opts);
    await restoresIdentical(n, sources.get('north')!);
    await restoresIdentical(s, sources.get('south')!);
  });

  it('backs up the same database twice at once; both restore', async () => {
    // New data, so both writers have the same new blobs to store.
    makeTree(scratch.path('north', 'more'), { 'new.bin': file({ random: 16_000_000 }) }, { seed: 'north-more' });
    sources.set('north', treeSnapshot(scratch.path('north')));
    const [a, b] = await backupTogether('north', 'north');
    expect(a).not.toBe(b);
    const list = await listBackups(home.opts, 'north');
    findBackup(list, a);
    findBackup(list, b);
    await arcaOk(['check', '--read-data'], home.opts);
    await restoresIdentical(a, sources.get('north')!);
    await restoresIdentical(b, sources.get('north')!);
  });
});

// End to end: `arca backup` killed with SIGKILL at random moments, 20 times,
// while the tree changes between attempts. After every kill `arca check`
// passes and `arca backups` lists no half backup (anything listed restores to
// exactly the tree of the attempt that made it); a backup killed after it
// stored some packs leaves them for the next backup to reuse; at the end
// every listed backup restores identical.
// The PRNG seed is printed; replay a run with ARCA_TEST_SEED=<seed>.

import { chmodSync, rmSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arcaOk,
  backup,
  backupIdFrom,
  bulkTree,
  describeRun,
  file,
  findBackup,
  freshHome,
  listBackups,
  listVolumeObjects,
  makeScratch,
  makeTree,
  Prng,
  requireBuiltCli,
  runArca,
  seededBytes,
  setMtime,
  spawnArca,
  testSeed,
  treeSnapshot,
  writeFileStamped,
  type ArcaResult,
  type Home,
  type Scratch,
  type SnapshotEntry,
} from '../helpers/index.js';

const KILLS = 20;
const TREE_BYTES = 32_000_000;
/**
 * New incompressible data for the reuse phase: ten 16 MiB packs' worth, so a
 * writer that puts an index object every few packs (the engine: every 8 packs
 * or 3 s) has indexed some of it well before the end.
 */
const FRESH_FILES = 10;
const FRESH_FILE_BYTES = 16 * 1024 * 1024;
const FRESH_BYTES = FRESH_FILES * FRESH_FILE_BYTES;

interface Attempt {
  /** What the source looked like while this attempt ran. */
  tree: SnapshotEntry[];
  startMs: number;
  endMs: number;
}

describe('files: SIGKILL during backup', () => {
  const seed = testSeed();
  const prng = new Prng(seed);
  let scratch: Scratch;
  let home: Home;
  let src: string;
  /** Every backup that must be listed, with the tree it must restore to. */
  const expected = new Map<string, SnapshotEntry[]>();
  /**
   * The shortest time a backup of each level took so far (the first full
   * backup's time until one of that level completes): kill delays are drawn
   * below it, so most attempts are killed however the machine's speed varies.
   */
  const durations = [0, 0];
  let stamp = 1_750_000_000;

  const nextMtime = (): number => (stamp += 17 + prng.int(0, 63) / 64);
  const context = (what: string): string => `${what} (seed ${seed}; replay with ARCA_TEST_SEED=${seed})`;

  /** Changes the source a little: rewritten, added and removed files, a mode change. */
  function mutate(i: number): void {
    const files = treeSnapshot(src).filter((e) => e.type === 'file' && e.path.endsWith('.bin'));
    for (let k = 0; k < 2; k++) {
      const victim = prng.pick(files);
      const p = path.join(src, victim.path);
      writeFileStamped(p, seededBytes(`crash-${seed}-${i}-${k}`, prng.int(500_000, 3_000_000)), nextMtime(), victim.mode);
    }
    const folder = prng.pick(['dir-0', 'dir-1', 'dir-2', 'dir-3', 'dir-4', 'dir-5']);
    writeFileStamped(path.join(src, folder, `new-${i}.bin`), seededBytes(`crash-${seed}-new-${i}`, prng.int(1_000_000, 2_000_000)), nextMtime());
    setMtime(path.join(src, folder), nextMtime());
    if (i % 4 === 3) {
      const gone = prng.pick(files);
      unlinkSync(path.join(src, gone.path));
      setMtime(path.dirname(path.join(src, gone.path)), nextMtime());
    }
    if (i % 5 === 2) {
      // Only the mode changes: size, mtime and inode stay, so a level-1 backup
      // skips reading the content but must still record the new mode.
      const chmodded = prng.pick(treeSnapshot(src).filter((e) => e.type === 'file' && e.path.startsWith('small/')));
      chmodSync(path.join(src, chmodded.path), chmodded.mode === 0o600 ? 0o640 : 0o600);
    }
  }

  /**
   * After an attempt: check passes, nothing earlier is lost, and anything new
   * that is listed was made by this attempt (a backup that completed just
   * before the kill, whose id was never printed); it must restore to `attempt.tree`.
   */
  async function afterAttempt(label: string, attempt: Attempt): Promise<void> {
    const check = await runArca(['check'], home.opts);
    expect(check.code, context(`${label}: check after the kill\n${describeRun(check)}`)).toBe(0);
    const list = await listBackups(home.opts);
    for (const b of list) {
      expect(b.status, context(`${label}: listed ${b.id}`)).toBe('completed');
      if (expected.has(b.id)) continue;
      const started = Date.parse(b.startedAt);
      expect(
        started >= attempt.startMs - 2000 && started <= attempt.endMs + 2000,
        context(`${label}: backups lists ${b.id} (started ${b.startedAt}), which no attempt made`),
      ).toBe(true);
      expected.set(b.id, attempt.tree);
    }
    for (const id of expected.keys()) findBackup(list, id);
  }

  beforeAll(async () => {
    requireBuiltCli();
    console.log(`crash test: seed ${seed} (replay with ARCA_TEST_SEED=${seed})`);
    scratch = makeScratch('crash');
    src = scratch.path('data');
    makeTree(src, bulkTree(seed, TREE_BYTES), { seed: `crash-${seed}` });
    home = await freshHome(scratch.root);
    await arcaOk(['db', 'add', 'crashy', `file://${src}`], home.opts);
    const t0 = Date.now();
    const id = await backup('crashy', home.opts);
    const duration = Date.now() - t0;
    durations.fill(duration);
    expected.set(id, treeSnapshot(src));
    console.log(`crash test: a full backup of ${TREE_BYTES} B took ${duration} ms`);
  });

  afterAll(() => scratch?.cleanup());

  it(`leaves a consistent volume after each of ${KILLS} SIGKILLs`, async () => {
    let killed = 0;
    for (let i = 0; i < KILLS; i++) {
      mutate(i);
      const tree = treeSnapshot(src);
      const level = prng.next() < 0.3 ? 1 : 0;
      const delay = Math.round(50 + prng.next() * Math.max(0, durations[level]! - 50));
      const startMs = Date.now();
      const run = spawnArca(['backup', 'crashy', '--level', String(level)], home.opts);
      const finished = await Promise.race([run.done.then(() => true), sleep(delay).then(() => false)]);
      if (!finished) run.child.kill('SIGKILL');
      const r: ArcaResult = await run.done;
      const endMs = Date.now();
      let outcome: string;
      if (r.signal === 'SIGKILL') {
        killed++;
        outcome = 'killed';
      } else {
        expect(r.code, context(`attempt ${i}: the backup failed by itself\n${describeRun(r)}`)).toBe(0);
        const id = backupIdFrom(r);
        expected.set(id, tree);
        durations[level] = Math.min(durations[level]!, endMs - startMs);
        outcome = `completed first (${id})`;
      }
      console.log(`crash test: attempt ${i}: level ${level}, kill after ${delay} ms → ${outcome}`);
      await afterAttempt(`attempt ${i}`, { tree, startMs, endMs });
    }
    // Delays reach up to the shortest backup of the level, so a few may finish first; most must not.
    expect(killed, context('too few attempts were actually killed')).toBeGreaterThanOrEqual(KILLS / 2);
  });

  it('reuses what a killed backup already stored', async () => {
    // First a complete backup, so that only the fresh data below is new.
    const settled = await backup('crashy', home.opts);
    expected.set(settled, treeSnapshot(src));
    const fresh: Record<string, ReturnType<typeof file>> = {};
    for (let k = 0; k < FRESH_FILES; k++) fresh[`fresh-${k}.bin`] = file({ random: FRESH_FILE_BYTES, seed: `fresh-${seed}-${k}` });
    makeTree(path.join(src, 'fresh'), fresh);
    setMtime(src, nextMtime());
    const tree = treeSnapshot(src);
    const before = new Set(listVolumeObjects(home.volumeDir).map((o) => o.key));

    // Kill once an index object names new packs and at least half of the new
    // data is in packs: what is indexed by then must not be written again.
    const startMs = Date.now();
    const run = spawnArca(['backup', 'crashy'], home.opts);
    let exited = false;
    void run.done.then(() => (exited = true));
    let newPackBytes = 0;
    let newIndexes = 0;
    while (!exited) {
      const fresh = listVolumeObjects(home.volumeDir).filter((o) => !before.has(o.key));
      newPackBytes = fresh.filter((o) => o.kind === 'pack').reduce((n, o) => n + o.size, 0);
      newIndexes = fresh.filter((o) => o.kind === 'index').length;
      if (newIndexes > 0 && newPackBytes >= FRESH_BYTES / 2) {
        run.child.kill('SIGKILL');
        break;
      }
      await sleep(10);
    }
    const r = await run.done;
    const endMs = Date.now();
    console.log(
      `crash test: reuse phase: ${r.signal === 'SIGKILL' ? 'killed' : `exited ${r.code}`} with ${newPackBytes} B of new packs and ${newIndexes} new index object(s)`,
    );
    if (r.signal !== 'SIGKILL') {
      expect(r.code, describeRun(r)).toBe(0);
      expected.set(backupIdFrom(r), tree);
      console.warn(
        'crash test: WARNING: the backup finished before an index object covered half of the new data ' +
          '(the engine writes index objects rarely), so reuse after a kill was not tested this time',
      );
    }
    await afterAttempt('reuse phase', { tree, startMs, endMs });

    const next = await backup('crashy', home.opts);
    expected.set(next, tree);
    const b = findBackup(await listBackups(home.opts), next);
    console.log(`crash test: the next backup added ${b.bytesAdded} B of ${FRESH_BYTES} B new data`);
    expect(b.bytesAdded, context('the next backup wrote again what the killed one had stored')).toBeLessThan(FRESH_BYTES * 0.75);
  });

  it('passes check and restores every listed backup identical', async () => {
    // Restoring every backup reads every byte they reference; `check
    // --read-data` over this ~400 MB volume would add minutes and prove no more.
    await arcaOk(['check'], home.opts);
    const list = await listBackups(home.opts);
    expect(list.map((b) => b.id).sort()).toEqual([...expected.keys()].sort());
    let n = 0;
    for (const [id, tree] of expected) {
      const to = scratch.path(`restored-${n++}`);
      const r = await runArca(['restore', id, '--to', to], home.opts);
      expect(r.code, context(describeRun(r))).toBe(0);
      expect(treeSnapshot(to), context(`backup ${id} does not restore identical`)).toEqual(tree);
      rmSync(to, { recursive: true, force: true });
    }
  });
});

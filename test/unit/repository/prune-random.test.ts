// A randomized schedule (seeded; ARCA_TEST_SEED=<seed> replays one) of two
// backup writers that run across several steps, prunes with random policies
// and repack thresholds, deletes and expiry changes on one volume. After every
// round every backup that should remain restores byte-identical; at the end
// check reads every pack. Writers often load the index before a prune
// tombstones what they dedup against and commit after it: their backups must
// still restore (the writer stored the blobs again, or its manifest rescued them).

import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/backend/memory/memory-backend.js';
import type { BlobPool } from '../../../src/content/blob-pool.js';
import { mulberry32 } from '../../../src/common/prng.js';
import { deleteBackups, listBackups, runPrune, setBackupExpiry } from '../../../src/jobs/index.js';
import type { Manifest } from '../../../src/repository/manifest.js';
import { checkRepository } from '../../../src/repository/checker.js';
import { makeVolume, reopen } from './fixtures.js';
import { newPool, readBackup, sameFiles, Writer, type Files } from './prune-helpers.js';

const ROUNDS = 240;
const SEED = Number(process.env['ARCA_TEST_SEED'] ?? 20261122);
const TINY_CHUNKS = { algorithm: 'fastcdc-gear32-v1' as const, min: 128, avg: 512, max: 2048, normalization: 2 };

const pools: BlobPool[] = [];
afterAll(async () => Promise.all(pools.map((p) => p.close())));

interface Slot {
  writer: Writer;
  /** Prunes that left a tombstone pending while this writer ran. */
  tombstonesSeen: number;
  files: Files;
  parent?: { manifest: Manifest; files: Files };
  root?: string;
}

describe('prune, randomized', () => {
  it(`${ROUNDS} rounds of two writers, prune, delete and expire keep every remaining backup restorable (seed ${SEED})`, async () => {
    const rnd = mulberry32(SEED);
    const int = (n: number) => Math.floor(rnd() * n);
    const vol = await makeVolume(new MemoryBackend(), { chunker: TINY_CHUNKS, packSize: 8 * 1024 });
    const pool = newPool(vol.repo);
    pools.push(pool);
    const verifier = await reopen(vol);
    // A small world of contents, so backups share most of their blobs.
    const contents: Buffer[] = Array.from({ length: 24 }, () => Buffer.from(Array.from({ length: 200 + int(3000) }, () => int(256))));
    const pickFiles = (): Files => {
      const files: Files = new Map();
      const n = 1 + int(4);
      for (let i = 0; i < n; i++) {
        const c = contents[int(contents.length)]!;
        files.set(`f${i}`, int(4) === 0 ? Buffer.concat([c, Buffer.from([int(256)])]) : c);
      }
      return files;
    };
    const expected = new Map<string, Files>();
    const slots: Array<Slot | undefined> = [undefined, undefined];
    const log: string[] = [];
    const counts = { commitsAcrossTombstones: 0, commits: 0, prunes: 0, pending: 0, deletes: 0, expires: 0, aborts: 0, packsDeleted: 0, repacked: 0 };

    const round = async (r: number) => {
      const action = int(100);
      const s = int(2);
      const slot = slots[s];
      if (action < 50) {
        // A writer's next step: start → save → commit.
        if (!slot) {
          const writer = new Writer((await reopen(vol)).repo, pool);
          await writer.start();
          const files = pickFiles();
          const ids = [...expected.keys()];
          let parent: Slot['parent'];
          if (ids.length > 0 && int(2) === 0) {
            const id = ids[int(ids.length)]!;
            const parentFiles = expected.get(id)!;
            parent = { manifest: await writer.repo.readManifest(id), files: parentFiles };
            for (const [k, v] of parentFiles) if (int(3) > 0) files.set(k, v); // mostly unchanged files
          }
          slots[s] = { writer, files, tombstonesSeen: 0, ...(parent ? { parent } : {}) };
          log.push(`${r}: writer ${s} started${parent ? ` (parent ${parent.manifest.id.slice(0, 6)})` : ''}`);
        } else if (!slot.root) {
          slot.root = await slot.writer.save(slot.files, slot.parent);
          log.push(`${r}: writer ${s} saved`);
        } else {
          const m = await slot.writer.commit(slot.root, { parent: slot.parent?.manifest.id ?? null });
          expected.set(m.id, slot.files);
          slots[s] = undefined;
          counts.commits++;
          if (slot.tombstonesSeen > 0) counts.commitsAcrossTombstones++;
          log.push(`${r}: writer ${s} committed ${m.id.slice(0, 6)}`);
        }
      } else if (action < 53 && slot) {
        await slot.writer.abort();
        slots[s] = undefined;
        counts.aborts++;
        log.push(`${r}: writer ${s} aborted`);
      } else if (action < 73) {
        const keepLast = int(3) === 0 ? 2 + int(8) : 0;
        const repackThreshold = [0, 0.2, 0.5, 0.9][int(4)]!;
        const report = await runPrune({ volume: vol, policies: keepLast > 0 ? { db: { keepLast } } : {}, dryRun: false, repackThreshold });
        for (const b of report.backupsRemoved) expected.delete(b.id);
        counts.prunes++;
        counts.pending += report.tombstonesPending.length > 0 ? 1 : 0;
        if (report.tombstonesPending.length > 0) for (const sl of slots) if (sl) sl.tombstonesSeen++;
        counts.packsDeleted += report.packsDeleted;
        counts.repacked += report.packsRepacked;
        log.push(`${r}: prune keep-last ${keepLast} repack ${repackThreshold}: -${report.backupsRemoved.length} backups, -${report.packsDeleted} packs, ${report.packsRepacked} repacked, ${report.tombstonesPending.length} pending`);
      } else if (action < 85 && expected.size > 3) {
        const ids = [...expected.keys()];
        const id = ids[int(ids.length)]!;
        await deleteBackups(vol, [id]);
        expected.delete(id);
        counts.deletes++;
        log.push(`${r}: deleted ${id.slice(0, 6)}`);
      } else if (action < 97 && expected.size > 0) {
        const ids = [...expected.keys()];
        const id = ids[int(ids.length)]!;
        const past = int(3) === 0;
        await setBackupExpiry(vol, id, past ? new Date(Date.now() - 1000) : null);
        if (past) expected.delete(id); // the next prune removes it (nothing else may be expected of it)
        counts.expires++;
        log.push(`${r}: expire ${id.slice(0, 6)} ${past ? 'now' : 'never'}`);
      }
      // Every backup that should remain is listed and restores byte-identical.
      const listed = new Set((await listBackups(verifier)).map((b) => b.id));
      for (const [id, files] of expected) {
        expect(listed.has(id), `backup ${id} is listed`).toBe(true);
        expect(sameFiles(await readBackup(verifier.repo, pool, id), files), `backup ${id} restores`).toBe(true);
      }
    };

    for (let r = 0; r < ROUNDS; r++) {
      try {
        await round(r);
      } catch (err) {
        throw new Error(`round ${r} failed (replay with ARCA_TEST_SEED=${SEED}):\n${log.slice(-15).join('\n')}\n${String(err)}`, { cause: err });
      }
    }
    for (const slot of slots) await slot?.writer.abort();
    const last = await runPrune({ volume: vol, policies: {}, dryRun: false });
    expect(last.tombstonesPending).toEqual([]);
    for (const [id, files] of expected) expect(sameFiles(await readBackup(verifier.repo, pool, id), files)).toBe(true);
    const check = await checkRepository(verifier.repo, { pool, readDataPercent: 100 });
    expect(check.problems, `seed ${SEED}`).toEqual([]);
    console.log(`prune-random seed ${SEED}: ${JSON.stringify(counts)}, ${expected.size} backups remain`);
    expect(counts.prunes).toBeGreaterThan(30);
    expect(counts.pending).toBeGreaterThan(5); // prunes that ran beside a writer
    expect(counts.commitsAcrossTombstones).toBeGreaterThan(5); // the hard interleaving happened
  });
});

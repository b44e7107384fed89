// Prune beside running writers and readers, without a lock (format §10): a
// writer that loaded the index before prune keeps what it dedups against
// (the tombstone waits for it, its manifest rescues the packs); a writer that
// starts after the tombstone stores those blobs again; a writer whose lease
// went stale does not commit; a reader survives its pack being repacked away.

import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/backend/memory/memory-backend.js';
import type { BlobPool } from '../../../src/content/blob-pool.js';
import { mulberry32 } from '../../../src/common/prng.js';
import { deleteBackups, runPrune } from '../../../src/jobs/index.js';
import { BlobReader } from '../../../src/repository/blob-reader.js';
import { checkRepository } from '../../../src/repository/checker.js';
import { readTombstones } from '../../../src/repository/prune/tombstones.js';
import { makeVolume, reopen, SMALL_CHUNKS } from './fixtures.js';
import { newPool, randomFiles, readBackup, sameFiles, Writer, writeBackup, type Files } from './prune-helpers.js';

const pools: BlobPool[] = [];
afterAll(async () => Promise.all(pools.map((p) => p.close())));

async function setup() {
  const backend = new MemoryBackend();
  const vol = await makeVolume(backend, { chunker: SMALL_CHUNKS, packSize: 32 * 1024 });
  const pool = newPool(vol.repo);
  pools.push(pool);
  return { vol, pool, backend, other: async () => (await reopen(vol)).repo };
}

const packsOf = (backend: MemoryBackend) => backend.keys().filter((k) => k.startsWith('data/'));

describe('prune beside writers', () => {
  it('a writer that loaded the index before prune commits a backup that needs tombstoned packs: they are kept, then rescued', async () => {
    const { vol, pool, backend, other } = await setup();
    const files = randomFiles(mulberry32(11), 4, 10_000);
    const gone = await writeBackup(vol.repo, pool, files);
    await deleteBackups(vol, [gone.id]);
    const w = new Writer(await other(), pool);
    await w.start(); // lease, then index: the deleted backup's blobs are there
    const root = await w.save(files); // dedups against packs nothing references now
    expect(w.session.blobsAdded).toBe(0);
    const packs = packsOf(backend);
    const first = await runPrune({ volume: vol, policies: {}, dryRun: false });
    expect(first.packsDeleted).toBe(0);
    expect(first.tombstonesPending).toHaveLength(1);
    expect(first.tombstonesPending[0]!.waitingFor.map((s) => s.id)).toEqual([w.session.sessionId]);
    expect(packsOf(backend)).toEqual(expect.arrayContaining(packs));
    const m = await w.commit(root);
    expect(sameFiles(await readBackup(vol.repo, pool, m.id), files)).toBe(true);
    const second = await runPrune({ volume: vol, policies: {}, dryRun: false });
    expect(second.tombstonesPending).toEqual([]);
    expect(second.packsDeleted).toBe(0); // rescued: the new backup reaches them
    expect((await readTombstones(vol.repo)).tombstones).toEqual([]);
    expect(sameFiles(await readBackup((await other()), pool, m.id), files)).toBe(true);
    expect((await checkRepository(vol.repo, { pool, readDataPercent: 100 })).problems).toEqual([]);
  });

  it('a writer that starts after the tombstone stores the blobs again; the tombstoned packs go once the older writer ended', async () => {
    const { vol, pool, backend, other } = await setup();
    const files = randomFiles(mulberry32(12), 4, 10_000);
    const gone = await writeBackup(vol.repo, pool, files);
    await deleteBackups(vol, [gone.id]);
    const old = new Writer(await other(), pool);
    await old.start();
    const oldPacks = packsOf(backend);
    const first = await runPrune({ volume: vol, policies: {}, dryRun: false });
    expect(first.tombstonesPending).toHaveLength(1);
    const late = new Writer(await other(), pool);
    await late.start();
    expect(late.session.hasTombstones).toBe(true);
    const m = await late.commit(await late.save(files));
    expect(late.session.blobsAdded).toBeGreaterThan(0); // stored again, not deduped against tombstoned packs
    await old.abort();
    const second = await runPrune({ volume: vol, policies: {}, dryRun: false });
    expect(second.tombstonesPending).toEqual([]);
    expect(second.packsDeleted).toBeGreaterThanOrEqual(oldPacks.length);
    for (const p of oldPacks) expect(packsOf(backend)).not.toContain(p);
    expect(sameFiles(await readBackup(await other(), pool, m.id), files)).toBe(true);
    expect((await checkRepository(vol.repo, { pool, readDataPercent: 100 })).problems).toEqual([]);
  });

  it('an incremental writer does not reuse its parent\'s ids from tombstoned packs', async () => {
    const { vol, pool, other } = await setup();
    const files = randomFiles(mulberry32(13), 3, 10_000);
    const parent = await writeBackup(vol.repo, pool, files);
    // A writer holds the prune back, the parent is deleted and its packs tombstoned …
    const holder = new Writer(await other(), pool);
    await holder.start();
    await deleteBackups(vol, [parent.id]);
    expect((await runPrune({ volume: vol, policies: {}, dryRun: false })).tombstonesPending).toHaveLength(1);
    // … then a level-1 writer that chose that parent earlier reads it, but stores the content again.
    const child = new Writer(await other(), pool);
    await child.start();
    const m = await child.commit(await child.save(files, { manifest: parent, files }), { parent: parent.id });
    expect(child.session.blobsAdded).toBeGreaterThan(0);
    await holder.abort();
    await runPrune({ volume: vol, policies: {}, dryRun: false });
    expect(sameFiles(await readBackup(await other(), pool, m.id), files)).toBe(true);
    expect((await checkRepository(vol.repo, { pool, readDataPercent: 100 })).problems).toEqual([]);
  });

  it('a writer whose lease was not renewed for too long refuses to commit', async () => {
    const { vol, pool } = await setup();
    const w = new Writer(vol.repo, pool);
    await w.start();
    const root = await w.save(randomFiles(mulberry32(14), 1));
    const realNow = Date.now;
    Date.now = () => realNow() + 11 * 60_000;
    try {
      await expect(w.commit(root)).rejects.toThrow(/not renewed for 11 minutes/);
    } finally {
      Date.now = realNow;
    }
    await w.abort();
  });

  it('a restore that loaded the index before a prune repacked its pack reloads the index and reads on', async () => {
    const { vol, pool, other } = await setup();
    const rnd = mulberry32(15);
    const keep = randomFiles(rnd, 2, 3000);
    const drop = randomFiles(rnd, 1, 30_000);
    // One backup with both files, one with only `keep`: dropping the first leaves packs mostly unused.
    const both = await writeBackup(vol.repo, pool, new Map([...keep, ['big', drop.get('f0')!]]));
    const kept = await writeBackup(vol.repo, pool, keep);
    const readerRepo = await other();
    const m = await readerRepo.readManifest(kept.id);
    await readerRepo.loadIndex(); // the reader's view, before the prune
    await deleteBackups(vol, [both.id]);
    const report = await runPrune({ volume: vol, policies: {}, dryRun: false, repackThreshold: 0.2 });
    expect(report.packsRepacked).toBeGreaterThan(0);
    let reloads = 0;
    const load = readerRepo.loadIndex.bind(readerRepo);
    readerRepo.loadIndex = async (...args) => {
      reloads++;
      return load(...args);
    };
    const reader = new BlobReader(readerRepo, pool);
    const tree = await reader.readTree(m.root);
    const got: Files = new Map();
    for (const node of tree.nodes) {
      const parts: Buffer[] = [];
      for await (const b of reader.readContent(node)) parts.push(b);
      got.set(node.name!, Buffer.concat(parts));
    }
    expect(sameFiles(got, keep)).toBe(true);
    expect(reloads).toBeGreaterThan(0); // its pack was gone: it found the copy
  });
});

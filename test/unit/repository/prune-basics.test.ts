// Expiry notes, delete, dry run and prune's space reclamation on a memory
// volume, and a prune interrupted half-way that the next prune finishes.

import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/backend/memory/memory-backend.js';
import { FaultBackend } from '../../../src/backend/faults/fault-backend.js';
import { BlobPool } from '../../../src/content/blob-pool.js';
import { deleteBackups, listBackups, runPrune, setBackupExpiry } from '../../../src/jobs/index.js';
import { mulberry32 } from '../../../src/common/prng.js';
import { checkRepository } from '../../../src/repository/checker.js';
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBackend } from '../../../src/backend/open-backend.js';
import { AAD, seal } from '../../../src/content/seal.js';
import { makeVolume, reopen, SMALL_CHUNKS, tempDir } from './fixtures.js';
import { newPool, randomFiles, readBackup, sameFiles, snapshot, Writer, writeBackup, type Files } from './prune-helpers.js';

const pools: BlobPool[] = [];
afterAll(async () => Promise.all(pools.map((p) => p.close())));

async function setup(backend = new MemoryBackend()) {
  const vol = await makeVolume(backend, { chunker: SMALL_CHUNKS, packSize: 64 * 1024 });
  const pool = newPool(vol.repo);
  pools.push(pool);
  return { vol, pool, backend };
}

const HOUR = 3_600_000;

describe('expiry notes', () => {
  it('the newest note wins, "never" clears the expiry, and listing shows the effective expiry', async () => {
    const { vol, pool } = await setup();
    const m = await writeBackup(vol.repo, pool, randomFiles(mulberry32(1), 2), { expiresAt: '2030-01-01T00:00:00.000Z' });
    const t0 = new Date('2026-11-20T10:00:00Z');
    await setBackupExpiry(vol, m.id, new Date('2027-01-01T00:00:00Z'), t0);
    await setBackupExpiry(vol, m.id, null, new Date(t0.getTime() + 1000));
    expect((await listBackups(vol))[0]!.expiresAt).toBeNull();
    await setBackupExpiry(vol, m.id, new Date('2028-02-02T00:00:00Z'), new Date(t0.getTime() + 2000));
    expect((await listBackups(vol))[0]!.expiresAt).toBe('2028-02-02T00:00:00.000Z');
    expect((await vol.repo.readManifest(m.id)).expiresAt).toBe('2028-02-02T00:00:00.000Z');
    // An older note written later (a clock behind) does not win over a newer one.
    await setBackupExpiry(vol, m.id, null, new Date(t0.getTime() - HOUR));
    expect((await listBackups(vol))[0]!.expiresAt).toBe('2028-02-02T00:00:00.000Z');
  });

  it('an unknown backup cannot get a note', async () => {
    const { vol } = await setup();
    await expect(setBackupExpiry(vol, 'ab'.repeat(16), null)).rejects.toThrow(/no backup/);
  });

  it('prune removes a backup whose note made it expire, and the notes of removed backups', async () => {
    const { vol, pool, backend } = await setup();
    const a = await writeBackup(vol.repo, pool, randomFiles(mulberry32(2), 3));
    const b = await writeBackup(vol.repo, pool, randomFiles(mulberry32(3), 3));
    const now = new Date();
    await setBackupExpiry(vol, a.id, new Date(now.getTime() - 1000), new Date(now.getTime() - 2000));
    await setBackupExpiry(vol, b.id, new Date(now.getTime() + HOUR), new Date(now.getTime() - 2000));
    await setBackupExpiry(vol, b.id, null, now);
    const report = await runPrune({ volume: vol, policies: {}, dryRun: false, now });
    expect(report.backupsRemoved.map((r) => r.id)).toEqual([a.id]);
    expect(report.backupsRemoved[0]!.reasons[0]).toMatch(/^expired at /);
    expect(backend.keys().filter((k) => k.startsWith('notes/'))).toHaveLength(1); // b's newest only
    expect((await listBackups(vol)).map((x) => x.id)).toEqual([b.id]);
  });
});

describe('expiry changed while prune runs', () => {
  it('a backup whose expiry a note changes between decision and deletion stays, with all its data', async () => {
    const { vol, pool, backend } = await setup();
    const files = randomFiles(mulberry32(21), 3);
    const m = await writeBackup(vol.repo, pool, files, { expiresAt: new Date(Date.now() - HOUR).toISOString() });
    const list = backend.list.bind(backend);
    let notesListings = 0;
    backend.list = (prefix: string) => {
      // The second full listing of notes is prune's re-check just before deleting: change the expiry first.
      if (prefix === 'notes/' && ++notesListings === 2) {
        return (async function* () {
          await setBackupExpiry(vol, m.id, null);
          yield* list(prefix);
        })();
      }
      return list(prefix);
    };
    const report = await runPrune({ volume: vol, policies: {}, dryRun: false });
    expect(report.backupsRemoved).toEqual([]);
    expect(report.problems.join()).toMatch(/expiry changed while prune ran/);
    expect(sameFiles(await readBackup(vol.repo, pool, m.id), files)).toBe(true);
    expect((await checkRepository(vol.repo, { pool, readDataPercent: 100 })).problems).toEqual([]);
  });
});

describe('delete', () => {
  it('deleting a parent leaves the child restorable, also after a prune, and listing says so', async () => {
    const { vol, pool } = await setup();
    const rnd = mulberry32(4);
    const files = randomFiles(rnd, 4);
    const parent = await writeBackup(vol.repo, pool, files);
    const changed: Files = new Map(files);
    changed.set('f9', Buffer.from('new file in the child'));
    const w = new Writer(vol.repo, pool);
    await w.start();
    const child = await w.commit(await w.save(changed, { manifest: parent, files }), { parent: parent.id });
    await deleteBackups(vol, [parent.id]);
    const listed = await listBackups(vol);
    expect(listed).toHaveLength(1);
    expect(listed[0]!.parentPresent).toBe(false);
    const report = await runPrune({ volume: vol, policies: {}, dryRun: false });
    expect(report.packsDeleted + report.packsRepacked).toBeGreaterThanOrEqual(0);
    expect(sameFiles(await readBackup(vol.repo, pool, child.id), changed)).toBe(true);
    const check = await checkRepository(vol.repo, { pool, readDataPercent: 100 });
    expect(check.problems).toEqual([]);
  });
});

describe('prune', () => {
  it('a dry run changes nothing (every object byte-identical) and reports what would go', async () => {
    const { vol, pool, backend } = await setup();
    const rnd = mulberry32(5);
    const old = new Date(Date.now() - 10 * HOUR).toISOString();
    for (let i = 0; i < 4; i++) await writeBackup(vol.repo, pool, randomFiles(rnd, 3), { expiresAt: i < 2 ? old : null });
    const before = await snapshot(backend);
    const report = await runPrune({ volume: vol, policies: {}, dryRun: true });
    expect(report.backupsRemoved).toHaveLength(2);
    expect(report.bytesReclaimed).toBeGreaterThan(0);
    expect(await snapshot(backend)).toEqual(before);
  });

  it('reclaims space: the volume shrinks to about what the remaining backups need', async () => {
    const { vol, pool, backend } = await setup();
    const rnd = mulberry32(6);
    const kept: Array<{ id: string; files: Files }> = [];
    let keptBytes = 0;
    for (let i = 0; i < 10; i++) {
      const files = randomFiles(rnd, 4, 20_000);
      const m = await writeBackup(vol.repo, pool, files, { startedAt: new Date(Date.UTC(2026, 0, 1 + i)).toISOString() });
      if (i >= 7) {
        kept.push({ id: m.id, files });
        keptBytes += [...files.values()].reduce((s, f) => s + f.length, 0);
      }
    }
    const total = backend.totalBytes();
    const report = await runPrune({ volume: vol, policies: { db: { keepLast: 3 } }, dryRun: false });
    expect(report.backupsRemoved).toHaveLength(7);
    expect(report.backupsRemoved[0]!.reasons).toEqual(['dropped by policy']);
    expect(report.tombstonesPending).toEqual([]);
    const after = backend.totalBytes();
    expect(after).toBeLessThan(total * 0.45);
    expect(after).toBeLessThan(keptBytes * 1.25 + 20_000); // random data: sealed ≈ raw, plus trees, index, config
    expect(backend.keys().filter((k) => k.startsWith('tombstones/') || k.startsWith('sessions/'))).toEqual([]);
    for (const k of kept) expect(sameFiles(await readBackup(vol.repo, pool, k.id), k.files)).toBe(true);
    expect((await checkRepository(vol.repo, { pool, readDataPercent: 100 })).problems).toEqual([]);
    // A second prune finds nothing more to do.
    const again = await runPrune({ volume: vol, policies: { db: { keepLast: 3 } }, dryRun: false });
    expect(again.packsDeleted + again.packsRepacked + again.backupsRemoved.length).toBe(0);
  });

  it('an interrupted prune leaves a volume that passes check; the next prune finishes the job', async () => {
    for (const failAfter of [1, 4, 8, 12, 16]) {
      const inner = new MemoryBackend();
      const fault = new FaultBackend(inner, { seed: failAfter });
      const { vol, pool } = await setup(fault as unknown as MemoryBackend);
      const rnd = mulberry32(7 + failAfter);
      const shared = randomFiles(rnd, 2, 8000);
      const all: Array<{ id: string; files: Files }> = [];
      for (let i = 0; i < 8; i++) {
        const files = new Map([...shared, ...randomFiles(rnd, 3, 8000)].map(([k, v], j) => [`${k}-${j}`, v]));
        all.push({ id: (await writeBackup(vol.repo, pool, files, { startedAt: new Date(Date.UTC(2026, 0, 1 + i)).toISOString() })).id, files });
      }
      // Fail every delete after the first few: prune stops part-way through its deletions.
      let deletes = 0;
      const realDelete = inner.delete.bind(inner);
      inner.delete = async (key: string) => {
        if (++deletes > failAfter) throw new Error(`injected: delete ${key} failed`);
        return realDelete(key);
      };
      await expect(runPrune({ volume: vol, policies: { db: { keepLast: 3 } }, dryRun: false })).rejects.toThrow(/injected/);
      inner.delete = realDelete;
      const fresh = await reopen(vol);
      const check = await checkRepository(fresh.repo, { pool, readDataPercent: 100 });
      expect(check.problems).toEqual([]);
      const remaining = (await listBackups(fresh)).map((b) => b.id);
      for (const b of all.filter((x) => remaining.includes(x.id))) expect(sameFiles(await readBackup(fresh.repo, pool, b.id), b.files)).toBe(true);
      // The stopped prune's lease is still there: the next prune runs once it is stale (15 min).
      const later = () => Date.now() + 16 * 60_000;
      await expect(runPrune({ volume: fresh, policies: { db: { keepLast: 3 } }, dryRun: false })).rejects.toThrow(/another prune is running/);
      const next = await runPrune({ volume: fresh, policies: { db: { keepLast: 3 } }, dryRun: false, clock: later });
      expect(next.tombstonesPending).toEqual([]);
      expect((await listBackups(fresh)).map((b) => b.id)).toEqual(all.slice(-3).map((b) => b.id));
      for (const b of all.slice(-3)) expect(sameFiles(await readBackup(fresh.repo, pool, b.id), b.files)).toBe(true);
      expect((await checkRepository(fresh.repo, { pool, readDataPercent: 100 })).problems).toEqual([]);
      const third = await runPrune({ volume: fresh, policies: { db: { keepLast: 3 } }, dryRun: false });
      expect(third.packsDeleted).toBe(0);
      expect(inner.keys().filter((k) => k.startsWith('tombstones/') || k.startsWith('sessions/'))).toEqual([]);
    }
  });

  it('removes stale leases and old temp files of a local volume (behind the retry wrapper), never live ones', async () => {
    const dir = tempDir('arca-prune-local-');
    const backend = await openBackend(join(dir, 'vol'), { create: true });
    const { vol, pool } = await setup(backend as unknown as MemoryBackend);
    await writeBackup(vol.repo, pool, randomFiles(mulberry32(8), 2));
    const lease = (id: string, renewedAt: Date) =>
      seal(vol.repo.keys.encKey, AAD.session, Buffer.from(JSON.stringify({ id, host: 'h', pid: 1, purpose: 'backup x', startedAt: renewedAt.toISOString(), renewedAt: renewedAt.toISOString() })));
    await backend.put(`sessions/${'a'.repeat(32)}`, lease('a'.repeat(32), new Date(Date.now() - 20 * 60_000)));
    await backend.put(`sessions/${'b'.repeat(32)}`, lease('b'.repeat(32), new Date()));
    mkdirSync(join(dir, 'vol', 'tmp~'), { recursive: true });
    for (const [name, ageMs] of [['old.tmp', 2 * HOUR], ['new.tmp', 0]] as const) {
      writeFileSync(join(dir, 'vol', 'tmp~', name), 'x');
      const t = (Date.now() - ageMs) / 1000;
      utimesSync(join(dir, 'vol', 'tmp~', name), t, t);
    }
    const report = await runPrune({ volume: vol, policies: {}, dryRun: false });
    expect(report.leasesDeleted).toBe(1);
    expect(report.tempFilesDeleted).toBe(1);
    expect(readdirSync(join(dir, 'vol', 'sessions'))).toEqual(['b'.repeat(32)]);
    expect(readdirSync(join(dir, 'vol', 'tmp~'))).toEqual(['new.tmp']);
    await backend.close();
  });
});

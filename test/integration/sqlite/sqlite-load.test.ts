// Consistency under load: a writer PROCESS moves money between two tables
// every 2 ms (the sum stays constant) while a backup runs, for a WAL and a
// rollback-journal database; the restore keeps the invariant and passes
// integrity_check, the writer sees no error, and in WAL mode no commit
// stalls. Then the rollback-journal bound: a writer holding its lock, or a
// bound too small for the copy, makes the backup give up cleanly.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listBackups, runBackup, runCheck, runRestore } from '../../../src/jobs/index.js';
import { makeVolume, reopen, tempDir } from '../../unit/repository/fixtures.js';
import { bankState, makeBank, TOTAL, toSqliteUrl, Writer } from '../../unit/sources/sqlite-helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function backupUnderLoad(mode: 'wal' | 'delete', fillerRows: number) {
  const path = makeBank(mode, fillerRows);
  const writer = new Writer(path, { everyMs: 2, busyMs: 10_000 });
  await writer.ready;
  await sleep(200);
  const vol = await makeVolume();
  const before = bankState(path).transfers;
  const t0 = performance.now();
  const backup = runBackup({ volume: vol, database: { name: `bank-${mode}`, url: toSqliteUrl(path) }, level: 0, expiresAt: null });
  const b = await backup.catch(async (err: unknown) => {
    await writer.stop();
    throw err;
  });
  const backupMs = performance.now() - t0;
  const report = await writer.stop();
  const after = bankState(path).transfers;
  const target = join(tempDir(), 'restored.db');
  await runRestore({ volume: await reopen(vol), backupId: b.id, to: target, force: false });
  const restored = bankState(target);
  const snapshotMs = ((await vol.repo.readManifest(b.id)).extra.sqlite as { snapshotMs: number }).snapshotMs;
  console.log(
    `sqlite ${mode}: ${(b.bytesRead / 1e6).toFixed(1)} MB backed up in ${Math.round(backupMs)} ms (snapshot held ${snapshotMs} ms); ` +
      `writer: ${report.commits} commits, longest commit ${report.maxCommitMs.toFixed(1)} ms, ${report.errors.length} errors; ` +
      `restored copy has ${restored.transfers - before} transfers made during the backup`,
  );
  return { report, restored, before, after, snapshotMs };
}

describe('sqlite under a concurrent writer process', () => {
  it('WAL: the backup finishes, the restore keeps the invariant, the writer never stalls', async () => {
    const { report, restored, before, after } = await backupUnderLoad('wal', 60_000);
    expect(report.errors).toEqual([]);
    expect(restored).toMatchObject({ total: TOTAL, integrity: 'ok' });
    // The writer really wrote before the snapshot and went on after it (the copy is a point in between).
    expect(restored.transfers).toBeGreaterThan(before);
    expect(after).toBeGreaterThan(restored.transfers);
    expect(report.maxCommitMs).toBeLessThan(1000); // generous: the figure printed above is what matters
  });

  it('rollback journal: the backup finishes within the bound, the writer waits but sees no error', async () => {
    const { report, restored, after, snapshotMs } = await backupUnderLoad('delete', 20_000);
    expect(report.errors).toEqual([]);
    expect(restored).toMatchObject({ total: TOTAL, integrity: 'ok' });
    expect(after).toBeGreaterThan(restored.transfers);
    expect(snapshotMs).toBeLessThan(2000 + 500);
  });
});

describe('sqlite rollback-journal lock bound', () => {
  it('gives up cleanly when a writer holds its lock longer than the bound', async () => {
    const path = makeBank('delete', 100);
    const writer = new Writer(path, { hold: true });
    await writer.ready;
    const vol = await makeVolume();
    const t0 = performance.now();
    try {
      await expect(runBackup({ volume: vol, database: { name: 'held', url: toSqliteUrl(path, 300) }, level: 0, expiresAt: null })).rejects.toMatchObject({
        code: 'SOURCE',
        message: expect.stringMatching(/gave up after waiting 300 ms for a read lock.*rollback-journal.*WAL/),
      });
    } finally {
      await writer.stop();
    }
    console.log(`sqlite held-lock give-up after ${Math.round(performance.now() - t0)} ms`);
    expect(await listBackups(await reopen(vol))).toEqual([]);
    expect((await runCheck({ volume: await reopen(vol), readDataPercent: 100 })).ok).toBe(true);
  });

  it('gives up cleanly when the copy would hold the lock longer than the bound; the writer sees no error', async () => {
    const path = makeBank('delete', 40_000);
    const writer = new Writer(path, { everyMs: 2, busyMs: 10_000 });
    await writer.ready;
    const vol = await makeVolume();
    try {
      await expect(runBackup({ volume: vol, database: { name: 'slow', url: toSqliteUrl(path, 5) }, level: 0, expiresAt: null })).rejects.toMatchObject({
        code: 'SOURCE',
        // Usually the copy outlasts the bound; now and then a committing writer already makes the 5 ms wait for the lock fail.
        message: expect.stringMatching(/gave up after (holding a read lock for \d+ ms \(limit 5 ms\).*stalls every writer's commit|waiting 5 ms for a read lock)/),
      });
    } finally {
      const report = await writer.stop();
      console.log(`sqlite copy give-up: writer ${report.commits} commits, longest ${report.maxCommitMs.toFixed(1)} ms, ${report.errors.length} errors`);
      expect(report.errors).toEqual([]);
    }
    expect(await listBackups(await reopen(vol))).toEqual([]);
    expect(bankState(path)).toMatchObject({ total: TOTAL, integrity: 'ok' });
  });
});

// The engine under damage: flipped bytes, flaky and full storage, aborts and
// concurrent writers. Nothing may report a backup it cannot restore, or
// restore wrong bytes.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/backend/memory/memory-backend.js';
import { FaultBackend } from '../../../src/backend/faults/fault-backend.js';
import { RetryBackend } from '../../../src/backend/retry/retry-backend.js';
import { listBackups, runBackup, runCheck, runRestore } from '../../../src/jobs/index.js';
import { describeTree, makeSourceTree, makeVolume, reopen, tempDir } from './fixtures.js';

const db = (dir: string, name = 'files') => ({ name, url: `file://${dir}` });

/** Files under `out` that exist must equal the source's; returns how many exist. */
function noWrongBytes(src: string, out: string): number {
  let seen = 0;
  const walk = (rel: string) => {
    if (!existsSync(join(out, rel))) return;
    for (const e of readdirSync(join(out, rel), { withFileTypes: true })) {
      const r = join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) {
        expect(e.name).not.toMatch(/^\.arca-restore-/);
        expect(readFileSync(join(out, r)).equals(readFileSync(join(src, r)))).toBe(true);
        seen++;
      }
    }
  };
  walk('');
  return seen;
}

describe('engine under damage', () => {
  it('a flipped byte in any data pack: check names the backups, restore fails loudly and writes no wrong bytes', { timeout: 300_000 }, async () => {
    const src = makeSourceTree(400_000);
    const backend = new MemoryBackend();
    const vol = await makeVolume(backend, { packSize: 64 * 1024 });
    const b = await runBackup({ volume: vol, database: db(src), level: 0, expiresAt: null });
    const packs = backend.keys().filter((k) => k.startsWith('data/'));
    expect(packs.length).toBeGreaterThan(3);
    // Every pack once (a seeded spot in its body), and the first pack at its
    // first byte, middle and last byte (inside the footer length).
    let spot = 12345;
    const cases = packs.map((pack, i) => [pack, i] as const).flatMap(([pack, i]) => (i === 0 ? [0, 0.5, 1] : [-1]).map((where) => ({ pack, where })));
    for (const { pack, where } of cases) {
      const size = (await backend.stat(pack))!.size;
      spot = (spot * 1103515245 + 12345) % 2 ** 31;
      const offset = where < 0 ? spot % size : Math.min(size - 1, Math.floor(where * size));
      {
        backend.corrupt(pack, offset);
        const v = await reopen(vol);
        const report = await runCheck({ volume: v, readDataPercent: 100 });
        expect(report.ok).toBe(false);
        expect(report.problems.some((p) => p.object === pack && p.backups.includes(b.id))).toBe(true);
        const out = join(tempDir(), 'r');
        const restore = runRestore({ volume: await reopen(vol), backupId: b.id, to: out, force: false });
        // A flip inside a blob must fail the restore; a flip in the footer or between
        // blobs may not touch what a restore reads, but then every byte must be right.
        await restore.then(
          () => expect(describeTree(out)).toEqual(describeTree(src)),
          (err: { code?: string }) => {
            expect(err.code).toBe('CORRUPT');
            noWrongBytes(src, out);
          },
        );
        backend.corrupt(pack, offset); // flip back
      }
    }
    expect((await runCheck({ volume: await reopen(vol), readDataPercent: 100 })).ok).toBe(true);
  });

  it('a flipped byte in an index object or a manifest is reported with the backups it affects', async () => {
    const src = makeSourceTree(50_000);
    const backend = new MemoryBackend();
    const vol = await makeVolume(backend);
    const b = await runBackup({ volume: vol, database: db(src), level: 0, expiresAt: null });
    for (const prefix of ['index/', 'snapshots/']) {
      const key = backend.keys().find((k) => k.startsWith(prefix))!;
      backend.corrupt(key, 20);
      const report = await runCheck({ volume: await reopen(vol), readDataPercent: 0 });
      expect(report.ok).toBe(false);
      expect(report.problems.some((p) => p.backups.includes(b.id))).toBe(true);
      backend.corrupt(key, 20);
    }
  });

  it('a flipped byte in the config makes opening fail as damaged', async () => {
    const backend = new MemoryBackend();
    const vol = await makeVolume(backend);
    backend.corrupt('config', 30);
    await expect(reopen(vol)).rejects.toMatchObject({ code: 'CORRUPT' });
  });

  it('transient storage faults (errors, torn puts) are retried; every backup restores', async () => {
    const inner = new MemoryBackend();
    const faulty = new FaultBackend(inner, { seed: 7, failureRate: 0.25, tornPutRate: 0.1 });
    const backend = new RetryBackend(faulty, { attempts: 20, baseDelayMs: 1, maxDelayMs: 5 });
    const vol = await makeVolume(backend, { packSize: 16 * 1024 });
    const src = makeSourceTree(300_000);
    const b = await runBackup({ volume: vol, database: db(src), level: 0, expiresAt: null });
    expect(Object.values(faulty.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(5); // seeded: faults did happen
    const out = join(tempDir(), 'r');
    await runRestore({ volume: await reopen(vol), backupId: b.id, to: out, force: false });
    expect(describeTree(out)).toEqual(describeTree(src));
    faulty.enabled = false;
    expect((await runCheck({ volume: await reopen(vol), readDataPercent: 100 })).ok).toBe(true);
  });

  it('a full disk fails the backup clearly; nothing half is listed; earlier backups still restore', async () => {
    const inner = new MemoryBackend();
    const vol = await makeVolume(inner, { packSize: 64 * 1024 });
    const src = makeSourceTree(100_000);
    const first = await runBackup({ volume: vol, database: db(src), level: 0, expiresAt: null });
    const used = inner.totalBytes();
    const full = new FaultBackend(inner, { quotaBytes: used + 150_000 });
    const bigger = makeSourceTree(2_000_000);
    await expect(runBackup({ volume: await reopen(vol, full), database: db(bigger, 'big'), level: 0, expiresAt: null })).rejects.toMatchObject({
      code: 'BACKEND',
    });
    const v = await reopen(vol);
    expect((await listBackups(v)).map((x) => x.id)).toEqual([first.id]);
    expect((await runCheck({ volume: v, readDataPercent: 100 })).ok).toBe(true);
    const out = join(tempDir(), 'r');
    await runRestore({ volume: v, backupId: first.id, to: out, force: false });
    expect(describeTree(out)).toEqual(describeTree(src));
  });

  it('an aborted backup is not listed, leaves no session, and the volume checks clean', async () => {
    const backend = new MemoryBackend();
    const vol = await makeVolume(backend, { packSize: 64 * 1024 });
    const src = makeSourceTree(3_000_000);
    const ac = new AbortController();
    const run = runBackup({ volume: vol, database: db(src), level: 0, expiresAt: null, signal: ac.signal, onProgress: () => ac.abort() });
    await expect(run).rejects.toMatchObject({ code: 'ABORTED' });
    const v = await reopen(vol);
    expect(await listBackups(v)).toEqual([]);
    expect((await runCheck({ volume: v, readDataPercent: 100 })).ok).toBe(true);
    expect(backend.keys().some((k) => k.startsWith('sessions/'))).toBe(false);
    const next = await runBackup({ volume: v, database: db(src), level: 0, expiresAt: null });
    const out = join(tempDir(), 'r');
    await runRestore({ volume: v, backupId: next.id, to: out, force: false });
    expect(describeTree(out)).toEqual(describeTree(src));
  });

  it('two writers on one volume at once both commit and both restore', async () => {
    const backend = new MemoryBackend();
    const vol = await makeVolume(backend, { packSize: 64 * 1024 });
    const a = makeSourceTree(500_000);
    const b = makeSourceTree(500_000);
    const [ba, bb, ba2] = await Promise.all([
      runBackup({ volume: await reopen(vol), database: db(a, 'a'), level: 0, expiresAt: null }),
      runBackup({ volume: await reopen(vol), database: db(b, 'b'), level: 0, expiresAt: null }),
      runBackup({ volume: await reopen(vol), database: db(a, 'a'), level: 0, expiresAt: null }),
    ]);
    const v = await reopen(vol);
    expect((await listBackups(v)).length).toBe(3);
    for (const [backup, src] of [[ba!, a], [bb!, b], [ba2!, a]] as const) {
      const out = join(tempDir(), 'r');
      await runRestore({ volume: v, backupId: backup.id, to: out, force: false });
      expect(describeTree(out)).toEqual(describeTree(src));
    }
    expect((await runCheck({ volume: v, readDataPercent: 100 })).ok).toBe(true);
  });
});

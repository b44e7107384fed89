// `arca copy` through the jobs layer: local → S3 and S3 → local, each volume
// with its own password (so its own blob-id and chunker keys). Copies keep
// ids, levels, parents, expiry (a note's too), source and extra, restore
// byte-identical from the target alone and pass check; a second run copies
// nothing; a new backup adds little; --db and --since filter; an aborted copy
// lists nothing, leaves a volume that passes check, and the next copy reuses
// what it stored.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backend/backend.js';
import { listBackups, runBackup, runCheck, runCopy, runRestore, setBackupExpiry, type BackupInfo, type OpenVolume } from '../../../src/jobs/index.js';
import { Repository } from '../../../src/repository/repository.js';
import { mkdirSync } from 'node:fs';
import { bulkTree, makeScratch, makeTree, setMtime, testSeed, treeSnapshot, writeFileStamped, type Scratch, type SnapshotEntry } from '../../helpers/index.js';
import { startS3Server, type S3TestServer } from '../../helpers/s3-server.js';
import { createVolume, localSpec, openSpec, s3Spec, storedBytes, withVolume, type VolumeSpec } from './copy-helpers.js';

const BUCKET = 'arca-copy';
const seed = testSeed();
const DAY = 86_400_000;

let server: S3TestServer;
let scratch: Scratch;
let A: VolumeSpec; // local source
let B: VolumeSpec; // S3 target, then source
let C: VolumeSpec; // local target
const docs = { name: 'docs', url: '' };
const other = { name: 'other', url: '' };
const ids: Record<string, BackupInfo> = {};
const snapshots: Record<string, SnapshotEntry[]> = {};
let firstCopyAdded = 0;
let beforeB3 = new Date(0);

const fields = (b: BackupInfo) => ({ id: b.id, database: b.database, level: b.level, parent: b.parent, startedAt: b.startedAt, finishedAt: b.finishedAt, expiresAt: b.expiresAt, bytesRead: b.bytesRead });

async function restoreAndCompare(spec: VolumeSpec, id: string, expected: SnapshotEntry[]): Promise<void> {
  await withVolume(spec, async (v) => {
    const to = scratch.path(`restore-${spec.name}-${id}-${randomBytes(3).toString('hex')}`);
    await runRestore({ volume: v, backupId: id, to, force: false });
    expect(treeSnapshot(to)).toEqual(expected);
  });
}

async function copy(from: VolumeSpec, to: VolumeSpec, opts: { database?: string; since?: Date; signal?: AbortSignal } = {}) {
  const [f, t] = [await openSpec(from), await openSpec(to)];
  try {
    return await runCopy({ from: f, to: t, ...opts });
  } finally {
    await Promise.all([f.close(), t.close()]);
  }
}

beforeAll(async () => {
  console.log(`copy tests: seed ${seed} (ARCA_TEST_SEED=${seed} replays it)`);
  scratch = makeScratch('copy');
  server = await startS3Server([BUCKET]);
  A = localSpec('A', scratch.path('vol-a'), 'source password A');
  B = s3Spec('B', server.endpoint, BUCKET, 'offsite/b', 'target password B');
  C = localSpec('C', scratch.path('vol-c'), 'third password C');
  for (const v of [A, B, C]) await createVolume(v);
  const docsDir = scratch.path('docs');
  makeTree(docsDir, bulkTree(seed, 2_500_000));
  writeFileStamped(`${docsDir}/big.bin`, randomBytes(6_000_000), 1_700_000_000); // > 256 chunks: content lists
  setMtime(docsDir, 1_700_000_000); // whole 1/64 s, as treeSnapshot compares
  docs.url = `file://${docsDir}`;
  const otherDir = scratch.path('other');
  makeTree(otherDir, bulkTree(seed + 1, 300_000));
  other.url = `file://${otherDir}`;
  await withVolume(A, async (a) => {
    ids.b1 = await runBackup({ volume: a, database: docs, level: 0, expiresAt: new Date(Date.now() + 30 * DAY) });
    snapshots.b1 = treeSnapshot(docsDir);
    writeFileStamped(`${docsDir}/dir-0/added.bin`, randomBytes(400_000), 1_700_000_100);
    writeFileStamped(`${docsDir}/small/s-000.txt`, 'changed\n', 1_700_000_200);
    setMtime(`${docsDir}/dir-0`, 1_700_000_250);
    ids.b2 = await runBackup({ volume: a, database: docs, level: 1, expiresAt: null });
    snapshots.b2 = treeSnapshot(docsDir);
    ids.o1 = await runBackup({ volume: a, database: other, level: 0, expiresAt: null });
    snapshots.o1 = treeSnapshot(otherDir);
    // A later expiry change (a note): the copy takes the effective expiry.
    await setBackupExpiry(a, ids.b1!.id, new Date(Date.now() + 60 * DAY));
  });
});

afterAll(async () => {
  await server?.stop();
  scratch?.cleanup();
});

describe('arca copy between volumes with different passwords', () => {
  it('copies local → S3; the copies keep their fields and restore from the target alone', async () => {
    const report = await copy(A, B);
    expect(report.copied.map((c) => c.id)).toEqual([ids.b1!.id, ids.b2!.id, ids.o1!.id]);
    expect(report.skipped).toEqual([]);
    firstCopyAdded = report.copied[0]!.bytesAdded;
    expect(firstCopyAdded).toBeGreaterThan(2_000_000);

    const [onA, onB] = [await withVolume(A, (a) => listBackups(a)), await withVolume(B, (b) => listBackups(b))];
    expect(onB.map(fields)).toEqual(onA.map(fields));
    expect(onB.find((b) => b.id === ids.b1!.id)!.expiresAt).not.toBe(ids.b1!.expiresAt); // the note's expiry
    expect(onB.find((b) => b.id === ids.b2!.id)).toMatchObject({ level: 1, parent: ids.b1!.id, parentPresent: true });
    const manifests = async (v: VolumeSpec) => withVolume(v, async (o) => Promise.all([ids.b1!, ids.b2!].map((b) => o.repo.readManifest(b.id))));
    const [ma, mb] = [await manifests(A), await manifests(B)];
    for (const [x, y] of ma.map((m, i) => [m, mb[i]!] as const)) {
      expect({ source: y.source, extra: y.extra, files: y.files, host: y.host }).toEqual({ source: x.source, extra: x.extra, files: x.files, host: x.host });
      expect(y.root).not.toBe(x.root); // rebuilt with B's keys
    }

    await restoreAndCompare(B, ids.b1!.id, snapshots.b1!);
    await restoreAndCompare(B, ids.b2!.id, snapshots.b2!);
    await restoreAndCompare(B, ids.o1!.id, snapshots.o1!);
    const check = await withVolume(B, (b) => runCheck({ volume: b, readDataPercent: 100 }));
    expect(check.problems).toEqual([]);
  });

  it('a second copy copies nothing and adds nothing; a copy after one new backup adds little', async () => {
    const before = await storedBytes(B);
    const again = await copy(A, B);
    expect(again.copied).toEqual([]);
    expect(again.skipped.map((s) => s.reason)).toEqual(['already on the target', 'already on the target', 'already on the target']);
    expect(await storedBytes(B)).toBe(before);

    const docsDir = docs.url.slice('file://'.length);
    writeFileStamped(`${docsDir}/small/s-001.txt`, 'changed again\n', 1_700_000_300);
    setMtime(`${docsDir}/small`, 1_700_000_350);
    beforeB3 = new Date();
    ids.b3 = await withVolume(A, (a) => runBackup({ volume: a, database: docs, level: 0, expiresAt: null }));
    snapshots.b3 = treeSnapshot(docsDir);
    const next = await copy(A, B);
    expect(next.copied.map((c) => c.id)).toEqual([ids.b3!.id]);
    const c = next.copied[0]!;
    console.log(`copy of a new backup: read ${c.bytesCopied} B, known ${c.bytesKnown} B, added ${c.bytesAdded} B (first copy added ${firstCopyAdded} B)`);
    expect(c.bytesAdded).toBeLessThan(firstCopyAdded * 0.05);
    // Unchanged files were not even read: the pair (b2, on both volumes) told what B holds.
    expect(c.bytesKnown).toBeGreaterThan(c.bytesCopied * 10);
    expect(await storedBytes(B)).toBeLessThan(before + firstCopyAdded * 0.05);
    await restoreAndCompare(B, ids.b3!.id, snapshots.b3!);
  });

  it('copies S3 → local with a third password; --db and --since filter', async () => {
    const onlyOther = await copy(B, C, { database: 'other' });
    expect(onlyOther.copied.map((c) => c.id)).toEqual([ids.o1!.id]);
    const recent = await copy(B, C, { since: beforeB3 });
    expect(recent.copied.map((c) => c.id)).toEqual([ids.b3!.id]);
    const rest = await copy(B, C);
    expect(rest.copied.map((c) => c.id)).toEqual([ids.b1!.id, ids.b2!.id]);
    expect(rest.skipped).toHaveLength(2);

    const [onA, onC] = [await withVolume(A, (a) => listBackups(a)), await withVolume(C, (c) => listBackups(c))];
    expect(onC.map(fields)).toEqual(onA.map(fields));
    await restoreAndCompare(C, ids.b2!.id, snapshots.b2!);
    await restoreAndCompare(C, ids.b3!.id, snapshots.b3!);
    const check = await withVolume(C, (c) => runCheck({ volume: c, readDataPercent: 100 }));
    expect(check.problems).toEqual([]);
  });

  it('an aborted copy lists nothing, leaves a volume that passes check, and the next copy reuses its data', async () => {
    const bigDir = scratch.path('bigdb');
    mkdirSync(bigDir);
    writeFileStamped(`${bigDir}/one.bin`, randomBytes(8_000_000), 1_700_000_000);
    writeFileStamped(`${bigDir}/two.bin`, randomBytes(8_000_000), 1_700_000_000);
    setMtime(bigDir, 1_700_000_000);
    const big = await withVolume(A, (a) => runBackup({ volume: a, database: { name: 'bigdb', url: `file://${bigDir}` }, level: 0, expiresAt: null }));
    const expected = treeSnapshot(bigDir);
    const D = localSpec('D', scratch.path('vol-d'), 'fourth password D');
    await createVolume(D);

    // Stop the copy from the target's side once 4 packs (~4 MiB) are stored.
    const controller = new AbortController();
    const source = await openSpec(A);
    const target = await openSpec(D);
    let packs = 0;
    const inner = target.repo.backend;
    const counting: Backend = Object.assign(Object.create(inner) as Backend, {
      put: async (key: string, data: Uint8Array) => {
        await inner.put(key, data);
        if (key.startsWith('data/') && ++packs === 4) controller.abort();
      },
    });
    const repo = await Repository.open(counting, D.password, 'D');
    const watched: OpenVolume = { ...target, repo };
    await expect(runCopy({ from: source, to: watched, database: 'bigdb', signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    await Promise.all([source.close(), target.close()]);

    expect(await withVolume(D, (d) => listBackups(d))).toEqual([]);
    const check = await withVolume(D, (d) => runCheck({ volume: d, readDataPercent: 100 }));
    expect(check.problems).toEqual([]);
    const leftover = await storedBytes(D);
    expect(leftover).toBeGreaterThan(3_000_000);

    const done = await copy(A, D, { database: 'bigdb' });
    expect(done.copied.map((c) => c.id)).toEqual([big.id]);
    console.log(`after an abort with ${leftover} B stored, the next copy added ${done.copied[0]!.bytesAdded} B of ${16_000_000}`);
    expect(done.copied[0]!.bytesAdded).toBeLessThan(16_000_000 - 3_000_000);
    await restoreAndCompare(D, big.id, expected);
  });
});

// The engine end to end on a memory backend: a backup restores bit-exactly,
// dedups, keeps sizes right, survives reopening, and refuses wrong passwords.

import { rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/backend/memory/memory-backend.js';
import { Repository } from '../../../src/repository/repository.js';
import { listBackups, runBackup, runCheck, runRestore } from '../../../src/jobs/index.js';
import { BlobPool } from '../../../src/content/blob-pool.js';
import { BlobReader } from '../../../src/repository/blob-reader.js';
import { CHEAP_KDF, describeTree, makeSourceTree, makeVolume, reopen, SMALL_CHUNKS, tempDir } from './fixtures.js';

const db = (dir: string) => ({ name: 'files', url: `file://${dir}` });

describe('engine', () => {
  it('restores a tree bit-exactly with its metadata, and records true sizes', async () => {
    const src = makeSourceTree();
    const vol = await makeVolume();
    const b = await runBackup({ volume: vol, database: db(src), level: 0, expiresAt: null });
    expect(b.bytesRead).toBe(300_000 + Math.floor(300_000 / 30) * 30 + 'top secret'.length);
    const out = join(tempDir(), 'restored');
    const r = await runRestore({ volume: vol, backupId: b.id, to: out, force: false });
    expect(r.bytesWritten).toBe(b.bytesRead);
    expect(describeTree(out)).toEqual(describeTree(src));
  });

  it('deduplicates: an unchanged second backup adds only its manifest', async () => {
    const src = makeSourceTree(2_000_000);
    const vol = await makeVolume();
    const first = await runBackup({ volume: vol, database: db(src), level: 0, expiresAt: null });
    const second = await runBackup({ volume: await reopen(vol), database: db(src), level: 0, expiresAt: null });
    expect(second.bytesAdded).toBeLessThan(first.bytesAdded * 0.001);
    expect(second.bytesAdded).toBeGreaterThan(0);
  });

  it('spills long chunk lists into content-list blobs and restores them', async () => {
    const src = tempDir();
    const big = Buffer.alloc(6_000_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    writeFileSync(join(src, 'many-chunks.bin'), big);
    const vol = await makeVolume(new MemoryBackend(), { chunker: SMALL_CHUNKS });
    const b = await runBackup({ volume: vol, database: db(src), level: 0, expiresAt: null });
    const out = join(tempDir(), 'r');
    await runRestore({ volume: await reopen(vol), backupId: b.id, to: out, force: false });
    expect(describeTree(out)).toEqual(describeTree(src));
  });

  it('level 1 reuses unchanged files of its parent and still restores the whole tree', async () => {
    const src = makeSourceTree();
    const vol = await makeVolume();
    const full = await runBackup({ volume: vol, database: db(src), level: 0, expiresAt: null });
    appendFileSync(join(src, 'docs/report.txt'), 'one more line\n');
    const inc = await runBackup({ volume: await reopen(vol), database: db(src), level: 1, expiresAt: null });
    expect(inc.level).toBe(1);
    expect(inc.parent).toBe(full.id);
    expect(inc.bytesRead).toBe(300_000 + 'one more line\n'.length); // only the changed file was read
    const out = join(tempDir(), 'r');
    await runRestore({ volume: vol, backupId: inc.id, to: out, force: false });
    expect(describeTree(out)).toEqual(describeTree(src));
  });

  it('a level 3 backup without any lower-level backup is taken at level 0', async () => {
    const vol = await makeVolume();
    const b = await runBackup({ volume: vol, database: db(makeSourceTree(1000)), level: 3, expiresAt: null });
    expect(b.level).toBe(0);
    expect(b.parent).toBeNull();
  });

  it('refuses a wrong password and names it', async () => {
    const vol = await makeVolume();
    await expect(Repository.open(vol.backend, 'wrong')).rejects.toMatchObject({ code: 'WRONG_PASSWORD' });
  });

  it('tells a damaged key object from a wrong password', async () => {
    const backend = new MemoryBackend();
    await makeVolume(backend);
    const key = backend.keys().find((k) => k.startsWith('keys/'))!;
    const obj = JSON.parse((await backend.get(key)).toString()) as { wrapped: string };
    const flipped = obj.wrapped[5] === 'A' ? 'B' : 'A';
    obj.wrapped = obj.wrapped.slice(0, 5) + flipped + obj.wrapped.slice(6);
    await backend.put(key, Buffer.from(JSON.stringify(obj)));
    await expect(Repository.open(backend, 'correct horse')).rejects.toMatchObject({ code: 'CORRUPT' });
  });

  it('refuses to init over an existing volume or a non-empty location', async () => {
    const backend = new MemoryBackend();
    await makeVolume(backend);
    await expect(Repository.init(backend, 'x', { scrypt: CHEAP_KDF })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    const other = new MemoryBackend();
    await other.put('stray', Buffer.from('x'));
    await expect(Repository.init(other, 'x', { scrypt: CHEAP_KDF })).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('refuses to restore over a non-empty target without force, and restores over it with force', async () => {
    const src = makeSourceTree(1000);
    const vol = await makeVolume();
    const b = await runBackup({ volume: vol, database: db(src), level: 0, expiresAt: null });
    const out = tempDir();
    writeFileSync(join(out, 'random.bin'), 'old content');
    await expect(runRestore({ volume: vol, backupId: b.id, to: out, force: false })).rejects.toMatchObject({ code: 'CONFLICT' });
    await runRestore({ volume: vol, backupId: b.id, to: out, force: true });
    expect(describeTree(out)).toEqual(describeTree(src));
  });

  it('lists only completed backups, per database', async () => {
    const vol = await makeVolume();
    await runBackup({ volume: vol, database: { name: 'a', url: `file://${makeSourceTree(100)}` }, level: 0, expiresAt: null });
    await runBackup({ volume: vol, database: { name: 'b', url: `file://${makeSourceTree(100)}` }, level: 0, expiresAt: new Date('2030-01-01T00:00:00Z') });
    expect((await listBackups(vol)).map((b) => b.database)).toEqual(['a', 'b']);
    const [onlyB] = await listBackups(vol, 'b');
    expect(onlyB).toMatchObject({ database: 'b', status: 'completed', expiresAt: '2030-01-01T00:00:00.000Z' });
    expect((await runCheck({ volume: vol, readDataPercent: 100 })).ok).toBe(true);
  });

  it('a file removed between listing and reading is left out, not a failure', async () => {
    const src = makeSourceTree(1000);
    const vol = await makeVolume();
    rmSync(join(src, 'random.bin'));
    const b = await runBackup({ volume: vol, database: db(src), level: 0, expiresAt: null });
    expect(b.status).toBe('completed');
  });
});

describe('content lists', () => {
  it('an insertion in the middle of a large file rewrites few content-list blobs, not all', async () => {
    const src = tempDir();
    // ~62,000 chunks of ~1 KiB: list cuts (one id in 4096) give ~15 lists, so
    // "at least 3 lists" fails with a chance of about 4 in a million; with
    // 24 MB (~6 lists) it failed about once in 45 runs (random volume keys).
    const data = Buffer.alloc(64_000_000);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((Math.imul(i, 2654435761) ^ (i >>> 7)) >>> 0, i);
    writeFileSync(join(src, 'table.copy'), data);
    const vol = await makeVolume(new MemoryBackend(), { chunker: SMALL_CHUNKS });
    const first = await runBackup({ volume: vol, database: db(src), level: 0, expiresAt: null });
    // 20 KB inserted: about 18 more chunks, so every later id moves in the list.
    writeFileSync(join(src, 'table.copy'), Buffer.concat([data.subarray(0, 32_000_000), Buffer.alloc(20_000, 7), data.subarray(32_000_000)]));
    const second = await runBackup({ volume: await reopen(vol), database: db(src), level: 0, expiresAt: null });
    // Lists are cut where the ids say, so only the list(s) around the insertion are new;
    // fixed-size lists would all change after it (the ids moved by ~18 places).
    const v = await reopen(vol);
    await v.repo.loadIndex();
    const pool = new BlobPool(v.repo.keys, { zstdLevel: 1, threads: 0 });
    const reader = new BlobReader(v.repo, pool);
    const listsOf = async (rootHex: string) => (await reader.readTree(rootHex)).nodes[0]!.contentLists ?? [];
    const before = await listsOf((await v.repo.readManifest(first.id)).root);
    const after = await listsOf((await v.repo.readManifest(second.id)).root);
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(after.filter((l) => !before.includes(l)).length).toBeLessThanOrEqual(3);
    expect(after.filter((l) => before.includes(l)).length).toBeGreaterThanOrEqual(before.length - 3);
    await pool.close();
    const out = join(tempDir(), 'r');
    await runRestore({ volume: await reopen(vol), backupId: second.id, to: out, force: false });
    expect(describeTree(out)).toEqual(describeTree(src));
    expect(first.bytesAdded).toBeGreaterThan(second.bytesAdded * 10);
  });
});

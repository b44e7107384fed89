// WriteSession on its own: dedup inside and across sessions, packs closed by
// size, index objects written after their packs, aborted work reused, and
// bounded memory with data that compresses very well.

import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/backend/memory/memory-backend.js';
import { BlobPool } from '../../../src/content/blob-pool.js';
import { BlobType } from '../../../src/repository/pack/pack-footer.js';
import { WriteSession } from '../../../src/repository/write-session.js';
import { BlobReader } from '../../../src/repository/blob-reader.js';
import { makeVolume, reopen } from './fixtures.js';

const pools: BlobPool[] = [];
afterAll(async () => Promise.all(pools.map((p) => p.close())));

async function session(vol: Awaited<ReturnType<typeof makeVolume>>) {
  const pool = new BlobPool(vol.repo.keys, { zstdLevel: 3, threads: 2 });
  pools.push(pool);
  const s = new WriteSession(vol.repo, { purpose: 'test', pool });
  await s.start();
  return { s, pool };
}

describe('WriteSession', () => {
  it('stores each distinct blob once, in packs of about packSize, indexed after they are stored', async () => {
    const backend = new MemoryBackend();
    const vol = await makeVolume(backend, { packSize: 100_000 });
    const { s, pool } = await session(vol);
    const blobs = Array.from({ length: 40 }, () => randomBytes(10_000));
    for (const b of blobs) await s.putBlob(BlobType.data, Buffer.from(b));
    for (const b of blobs) await s.putBlob(BlobType.data, Buffer.from(b)); // duplicates
    await s.flush();
    expect(s.blobsAdded).toBe(40);
    expect(s.blobsReused).toBe(40);
    const packs = backend.keys().filter((k) => k.startsWith('data/'));
    expect(packs.length).toBeGreaterThanOrEqual(3);
    const v = await reopen(vol);
    await v.repo.loadIndex();
    expect(v.repo.index.size).toBe(40);
    const reader = new BlobReader(v.repo, pool);
    const { blobId } = await import('../../../src/content/blob-codec.js');
    for (const b of blobs) expect((await reader.read(blobId(v.repo.keys.idKey, b).toString('hex'))).equals(b)).toBe(true);
  });

  it('an aborted session indexes the packs it stored, so the next session reuses them', async () => {
    const vol = await makeVolume(new MemoryBackend(), { packSize: 50_000 });
    const { s } = await session(vol);
    const blobs = Array.from({ length: 30 }, () => randomBytes(10_000));
    for (const b of blobs) await s.putBlob(BlobType.data, Buffer.from(b));
    await new Promise((r) => setTimeout(r, 200)); // let some packs be stored
    await s.abort();
    const v = await reopen(vol);
    await v.repo.loadIndex();
    const kept = v.repo.index.size;
    expect(kept).toBeGreaterThan(0);
    const { s: s2 } = await session(v);
    for (const b of blobs) await s2.putBlob(BlobType.data, Buffer.from(b));
    await s2.flush();
    expect(s2.blobsReused).toBe(kept);
  });

  it('reuses stored packs\' buffers for later packs, and every pack stays intact', async () => {
    const backend = new MemoryBackend();
    const buffers: ArrayBufferLike[] = [];
    const put = backend.put.bind(backend);
    backend.put = async (key, data) => {
      if (key.startsWith('data/')) buffers.push(data.buffer);
      await put(key, data);
      if (key.startsWith('data/')) new Uint8Array(data.buffer, data.byteOffset, data.byteLength).fill(0xee); // the caller may reuse it now
    };
    const vol = await makeVolume(backend, { packSize: 60_000 });
    const { s, pool } = await session(vol);
    const blobs = Array.from({ length: 80 }, () => randomBytes(9_000));
    for (const b of blobs) await s.putBlob(BlobType.data, Buffer.from(b));
    await s.flush();
    expect(buffers.length).toBeGreaterThanOrEqual(8);
    expect(new Set(buffers).size).toBeLessThan(buffers.length); // some pack was built in a reused buffer
    const v = await reopen(vol);
    await v.repo.loadIndex();
    const reader = new BlobReader(v.repo, pool);
    const { blobId } = await import('../../../src/content/blob-codec.js');
    for (const b of blobs) expect((await reader.read(blobId(v.repo.keys.idKey, b).toString('hex'))).equals(b)).toBe(true);
  });

  it('does not stall when blobs compress far below the pack size (budget comes back)', async () => {
    const vol = await makeVolume(new MemoryBackend(), { packSize: 64 * 1024 });
    const { s } = await session(vol);
    for (let i = 0; i < 500; i++) await s.putBlob(BlobType.data, Buffer.alloc(8192, i % 251));
    await s.flush();
    expect(s.blobsAdded).toBe(251);
  });
});

describe('WriteSession known-id hints', () => {
  it('a hint that the blob is stored, which the index does not confirm, still stores the blob', async () => {
    const { KnownIds } = await import('../../../src/content/known-ids.js');
    const { blobId } = await import('../../../src/content/blob-codec.js');
    const vol = await makeVolume(new MemoryBackend());
    const { s, pool } = await session(vol);
    const plain = randomBytes(20_000);
    const id = blobId(vol.repo.keys.idKey, plain);
    pool.setKnownIds(KnownIds.build(1, (add) => add(id))); // a lie: the volume does not hold it
    expect((await s.putBlob(BlobType.data, Buffer.from(plain))).equals(id)).toBe(true);
    await s.flush();
    expect(s.blobsAdded).toBe(1);
    const v = await reopen(vol);
    await v.repo.loadIndex();
    expect((await new BlobReader(v.repo, pool).read(id.toString('hex'))).equals(plain)).toBe(true);
  });

  it('KnownIds finds what it was built from and (almost) nothing else', async () => {
    const { KnownIds } = await import('../../../src/content/known-ids.js');
    const ids = Array.from({ length: 5000 }, () => randomBytes(32));
    const set = KnownIds.build(ids.length, (add) => ids.forEach(add));
    ids.forEach((id) => expect(set.has(id)).toBe(true));
    let falseHits = 0;
    for (let i = 0; i < 5000; i++) if (set.has(randomBytes(32))) falseHits++;
    expect(falseHits).toBe(0);
    expect(KnownIds.attach(set.buffer).has(ids[7]!)).toBe(true);
  });
});

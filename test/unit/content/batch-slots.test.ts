// BatchSlots / SlotViews (batch-slots.ts): slots taken and given back, areas
// sent to the worker once and again only after growing, and the blob pool
// over them: many blobs of mixed sizes (one far larger than a batch) sealed
// and opened through reused slots, byte-exact, with errors per item, and
// blobs in shared memory (chunk slabs) read by the workers in place.

import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { BatchSlots, SlotViews } from '../../../src/content/batch-slots.js';
import { BlobPool } from '../../../src/content/blob-pool.js';
import { blobId, openBlob } from '../../../src/content/blob-codec.js';
import { deriveKeys, newMasterKey } from '../../../src/content/keys.js';

describe('BatchSlots', () => {
  it('hands out each slot once until it is released', () => {
    const slots = new BatchSlots(2, 1000, 2000);
    expect(slots.count).toBe(2);
    const a = slots.acquire();
    const b = slots.acquire();
    expect(new Set([a, b]).size).toBe(2);
    expect(slots.acquire()).toBe(-1);
    expect(slots.busy).toBe(2);
    slots.release(a);
    expect(slots.acquire()).toBe(a);
    slots.release(a);
    expect(() => slots.release(a)).toThrow(/released twice/);
    expect(() => slots.prepare(a, 1, 1)).toThrow(/not taken/);
  });

  it('sends areas once, and again only when one grew', () => {
    const slots = new BatchSlots(1, 1000, 2000);
    const worker = new SlotViews();
    const i = slots.acquire();
    const area = slots.prepare(i, 500, 500);
    expect(area.length).toBeGreaterThanOrEqual(1000);
    const first = slots.takeUnsent(i);
    expect(first.request).toBeInstanceOf(SharedArrayBuffer);
    expect(first.reply).toBeInstanceOf(SharedArrayBuffer);
    worker.attach(i, first);
    area.write('hello', 0);
    expect(worker.request(i).toString('utf8', 0, 5)).toBe('hello'); // same memory
    worker.reply(i).write('back', 0);
    expect(slots.reply(i).toString('utf8', 0, 4)).toBe('back');
    slots.prepare(i, 900, 900);
    expect(slots.takeUnsent(i)).toEqual({});
    const grown = slots.prepare(i, 300_000, 10);
    expect(grown.length).toBeGreaterThanOrEqual(300_000);
    const again = slots.takeUnsent(i);
    expect(again.request?.byteLength).toBe(grown.length);
    expect(again.reply).toBeUndefined();
    worker.attach(i, again);
    expect(worker.request(i).length).toBe(grown.length);
    expect(() => new SlotViews().request(0)).toThrow(/no request area/);
  });
});

describe('BlobPool over shared slots', () => {
  const keys = deriveKeys(newMasterKey());
  const pool = new BlobPool(keys, { zstdLevel: 1, threads: 2 });
  afterAll(() => pool.close());

  it('stores and opens blobs of mixed sizes (one larger than a batch) through reused slots', async () => {
    const sizes = [0, 1, 100, 16384, 65536, 3 << 20, 700_000, 12];
    const blobs = Array.from({ length: 300 }, (_, i) => {
      const n = sizes[i % sizes.length]!;
      // half compressible, half random
      return i % 2 === 0 ? Buffer.alloc(n, i % 251) : randomBytes(n);
    });
    const stored = await Promise.all(
      blobs.map(async (b) => {
        const r = await pool.store(b);
        return { id: Buffer.from(r.id), sealed: Buffer.from(r.sealed!) };
      }),
    );
    for (let i = 0; i < blobs.length; i++) {
      expect(stored[i]!.id.equals(blobId(keys.idKey, blobs[i]!))).toBe(true);
      expect(openBlob(keys, stored[i]!.id, stored[i]!.sealed, blobs[i]!.length).equals(blobs[i]!)).toBe(true);
    }
    const opened = await Promise.all(stored.map((s, i) => pool.open(s.id, s.sealed, blobs[i]!.length)));
    for (let i = 0; i < blobs.length; i++) expect(opened[i]!.equals(blobs[i]!)).toBe(true);
    // opened plaintext is the caller's own: later batches do not overwrite it
    await Promise.all(stored.map((s, i) => pool.open(s.id, s.sealed, blobs[i]!.length)));
    for (let i = 0; i < blobs.length; i++) expect(opened[i]!.equals(blobs[i]!)).toBe(true);
  });

  it('stores blobs that live in shared memory in place, mixed with copied ones, as the copied path would', async () => {
    // Two "slabs", each cut into many blobs at odd offsets, reused (rewritten) after the first round.
    const slabs = [Buffer.from(new SharedArrayBuffer(1 << 20)), Buffer.from(new SharedArrayBuffer(1 << 20))];
    for (let round = 0; round < 3; round++) {
      const blobs: Buffer[] = [];
      for (const slab of slabs) {
        randomBytes(slab.length).copy(slab);
        slab.fill(round + 1, 0, 300_000); // a compressible stretch
        for (let at = 7; at + 40_000 < slab.length; at += 40_001) blobs.push(slab.subarray(at, at + 40_000 - (at % 13)));
        blobs.push(randomBytes(1000)); // not shared: copied into the slot
      }
      const stored = await Promise.all(blobs.map(async (b) => {
        const r = await pool.store(b);
        return { id: Buffer.from(r.id), sealed: Buffer.from(r.sealed!) };
      }));
      for (let i = 0; i < blobs.length; i++) {
        expect(stored[i]!.id.equals(blobId(keys.idKey, blobs[i]!))).toBe(true);
        expect(openBlob(keys, stored[i]!.id, stored[i]!.sealed, blobs[i]!.length).equals(blobs[i]!)).toBe(true);
      }
    }
  });

  it('fails only the damaged item of a batch', async () => {
    const good = randomBytes(5000);
    const r = await pool.store(good);
    const id = Buffer.from(r.id);
    const sealed = Buffer.from(r.sealed!);
    const bad = Buffer.from(sealed);
    bad[20]! ^= 1;
    const [a, b] = await Promise.allSettled([pool.open(id, bad, good.length), pool.open(id, sealed, good.length)]);
    expect(a.status).toBe('rejected');
    expect(a.status === 'rejected' && (a.reason as { code?: string }).code).toBe('CORRUPT');
    expect(b.status === 'fulfilled' && b.value.equals(good)).toBe(true);
  });

  it('opens blobs side by side into one buffer (into), on workers and inline; a wrong length is refused, a damaged blob fails', async () => {
    const inline = new BlobPool(keys, { zstdLevel: 1, threads: 0 });
    try {
      const blobs = [randomBytes(3000), Buffer.alloc(70_000, 7), Buffer.alloc(0), randomBytes(17)];
      const stored = await Promise.all(blobs.map(async (b) => {
        const r = await pool.store(b);
        return { id: Buffer.from(r.id), sealed: Buffer.from(r.sealed!) };
      }));
      for (const p of [pool, inline]) {
        const out = Buffer.alloc(blobs.reduce((n, b) => n + b.length, 0), 0xee);
        let at = 0;
        const views = await Promise.all(stored.map((s, i) => p.open(s.id, s.sealed, blobs[i]!.length, out.subarray(at, (at += blobs[i]!.length)))));
        expect(out.equals(Buffer.concat(blobs))).toBe(true);
        views.forEach((v, i) => expect(v.buffer === out.buffer && v.equals(blobs[i]!)).toBe(true)); // no buffer of its own
        await expect(p.open(stored[0]!.id, stored[0]!.sealed, blobs[0]!.length, Buffer.alloc(10))).rejects.toMatchObject({ code: 'INTERNAL' });
        const bad = Buffer.from(stored[1]!.sealed);
        bad[30]! ^= 1;
        await expect(p.open(stored[1]!.id, bad, blobs[1]!.length, Buffer.alloc(blobs[1]!.length))).rejects.toMatchObject({ code: 'CORRUPT' });
      }
    } finally {
      await inline.close();
    }
  });
});

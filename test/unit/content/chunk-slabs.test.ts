// ChunkSlabs: chunks share 1 MiB slabs; a slab is cut again only once every
// chunk cut from it has been released and it no longer takes new chunks; a
// double release or a foreign chunk is an error, never a silent reuse.
import { describe, expect, it } from 'vitest';
import { ChunkSlabs, SLAB_BYTES } from '../../../src/content/chunk-slabs.js';

describe('ChunkSlabs', () => {
  it('reuses a slab only after all its chunks are released and it is no longer current', () => {
    const slabs = new ChunkSlabs();
    const a = slabs.take(600_000);
    const b = slabs.take(400_000); // same slab
    expect(b.buffer).toBe(a.buffer);
    a.fill(1);
    b.fill(2);
    slabs.release(a);
    slabs.release(b);
    expect(slabs.freeCount).toBe(0); // still the current slab
    const c = slabs.take(100_000); // does not fit: the first slab is retired, all released, and cut again
    expect(c.buffer).toBe(a.buffer);
    expect(c.byteOffset).toBe(a.byteOffset);
    expect(slabs.freeCount).toBe(0);
  });

  it('keeps a retired slab while any chunk of it is held', () => {
    const slabs = new ChunkSlabs();
    const held = slabs.take(900_000);
    held.fill(7);
    const other = slabs.take(900_000); // new slab; the first is retired but held
    expect(other.buffer).not.toBe(held.buffer);
    expect(slabs.freeCount).toBe(0);
    for (let i = 0; i < 10; i++) slabs.release(slabs.take(900_000)); // churn never hands out the held slab
    expect(held.every((x) => x === 7)).toBe(true);
    slabs.release(held);
    expect(slabs.freeCount).toBeGreaterThan(0);
  });

  it('refuses a double release and a chunk it did not make', () => {
    const slabs = new ChunkSlabs();
    const a = slabs.take(1000);
    slabs.release(a);
    expect(() => slabs.release(a)).toThrow(/released twice/);
    expect(() => slabs.release(Buffer.alloc(10))).toThrow(/not cut from these slabs/);
  });

  it('gives a chunk larger than a slab memory of its own', () => {
    const slabs = new ChunkSlabs();
    const big = slabs.take(SLAB_BYTES + 1);
    expect(big.length).toBe(SLAB_BYTES + 1);
    expect(big.byteOffset).toBe(0);
    slabs.release(big); // not tracked: a no-op
  });

  it('streams sharing a free list reuse each other\'s slabs once finished; a held chunk keeps its slab out', () => {
    const free: Buffer[] = [];
    const first = new ChunkSlabs(free);
    const kept = first.take(500_000);
    kept.fill(9);
    const done = first.take(400_000); // same slab
    first.finish();
    first.release(done);
    expect(free).toHaveLength(0); // `kept` still holds the slab
    first.release(kept);
    expect(free).toHaveLength(1);
    const second = new ChunkSlabs(free); // the next stream (a table part, a file) of the same backup
    const reused = second.take(1000);
    expect(reused.buffer).toBe(kept.buffer);
    expect(free).toHaveLength(0);
    second.release(reused);
    expect(() => first.release(kept)).toThrow(/released twice|not cut/);
  });

  it('starts a chunk at the asked phase mod 8 (any integer), never overlapping the one before, and at 0 when only that fits', () => {
    const slabs = new ChunkSlabs();
    let end = 0;
    let buffer: ArrayBufferLike | undefined;
    for (const [n, phase] of [[5, 0], [100, 3], [7, -3], [1000, 13], [1, 7], [64, -8]] as const) {
      const c = slabs.take(n, phase);
      expect(c.length).toBe(n);
      expect(c.byteOffset & 7, `phase ${phase}`).toBe(phase & 7);
      if (buffer !== undefined) expect(c.buffer).toBe(buffer);
      expect(c.byteOffset).toBeGreaterThanOrEqual(end);
      expect(c.byteOffset - end).toBeLessThan(8);
      buffer = c.buffer;
      end = c.byteOffset + n;
    }
    const nearlyFull = slabs.take(SLAB_BYTES - 3, 5); // a fresh slab: 5 bytes of padding would not fit
    expect(nearlyFull.buffer).not.toBe(buffer);
    expect(nearlyFull.byteOffset).toBe(0);
    expect(nearlyFull.length).toBe(SLAB_BYTES - 3);
  });
});

// Memory that chunks are cut into (chunkStream): slabs of SLAB_BYTES that
// consecutive chunks share. Without reuse a backup allocates a fresh slab per
// ~64 chunks — about as much new memory as it reads — and that external
// memory makes V8 run full collections (decision 0006). A consumer that can
// say when it is done with a chunk calls `release(chunk)`; a slab whose
// chunks are all released, and that no longer takes new chunks, goes back to
// a small free list and is cut again. A chunk must never be released while
// anything may still read it (the write session: once the blob's id has
// settled); releasing a chunk twice, or one this pool did not make, throws.
// A consumer releases every chunk it gets (the pool keeps a slab until all
// its chunks are back) and calls finish() at the end of its stream; one that
// keeps its chunks (a test) holds their slabs until it drops the pool.
// Slabs are shared memory (SharedArrayBuffer): the blob pool's workers read a
// chunk where it was cut, without a copy (blob-pool.ts). A worker keeps each
// slab it has seen until the pool closes, so slabs are never dropped: the free
// list keeps them all, and the memory is what the write budget kept in flight
// at its peak (~32 MiB of chunks, ~40 slabs).
import { ArcaError } from '../errors.js';

export const SLAB_BYTES = 1 << 20;

/** The first offset ≥ `used` that is ≡ phase (mod 8); phase may be any integer. */
export function alignedStart(used: number, phase: number): number {
  return used + ((phase - used) & 7);
}

/** A slab's memory: shared, so worker threads can read chunks in place. */
function newSlab(): Buffer {
  return Buffer.from(new SharedArrayBuffer(SLAB_BYTES));
}

interface Slab {
  bytes: Buffer;
  used: number;
  /** Chunks cut from it and not yet released. */
  refs: number;
  /** True while it is the slab new chunks are cut from. */
  current: boolean;
}

export class ChunkSlabs {
  private current: Slab | null = null;
  private readonly free: Buffer[];
  /** The slabs with unreleased chunks (or the current one), by their memory. */
  private readonly live = new Map<ArrayBufferLike, Slab>();

  /**
   * `free`: the list free slabs go back to and are taken from. Streams of one
   * backup pass the same list (see WriteSession.freeSlabs), so a table dumped
   * in many parts, or many files, reuse the same few slabs: with a list per
   * stream, a 1 GB table in 46 parts cut 328 fresh slabs.
   */
  constructor(free: Buffer[] = []) {
    this.free = free;
  }

  /** No more chunks will be cut: the current slab goes back to the free list once its chunks are released. */
  finish(): void {
    if (this.current !== null) this.retire(this.current);
  }

  /**
   * `n` bytes of memory for a chunk (a chunk larger than a slab gets memory of
   * its own, not tracked). `phase`: the chunk starts at a byte offset ≡ phase
   * (mod 8) in its slab (up to 7 bytes are skipped), so a copy from a source
   * at that phase runs word by word: copies between buffers whose offsets
   * differ mod 8 are ~10× slower (0.3 s per GB against 0.03, chunkStream).
   */
  take(n: number, phase = 0): Buffer {
    if (n > SLAB_BYTES) return Buffer.allocUnsafeSlow(n);
    let slab = this.current;
    if (slab === null || alignedStart(slab.used, phase) + n > slab.bytes.length) {
      if (slab !== null) this.retire(slab);
      const bytes = this.free.pop() ?? newSlab();
      slab = { bytes, used: 0, refs: 0, current: true };
      this.current = slab;
      this.live.set(bytes.buffer, slab);
    }
    // A chunk that fills a fresh slab all but a few bytes starts at 0, unaligned.
    const start = alignedStart(slab.used, phase) + n <= slab.bytes.length ? alignedStart(slab.used, phase) : slab.used;
    const chunk = slab.bytes.subarray(start, start + n);
    slab.used = start + n;
    slab.refs++;
    return chunk;
  }

  /** The consumer is done with `chunk`: nothing reads it any more. */
  release(chunk: Buffer): void {
    if (chunk.length > SLAB_BYTES) return;
    const slab = this.live.get(chunk.buffer);
    if (slab === undefined || slab.refs <= 0) throw new ArcaError('INTERNAL', 'a chunk was released twice, or was not cut from these slabs');
    slab.refs--;
    if (slab.refs === 0 && !slab.current) this.recycle(slab);
  }

  /** Slabs ready for reuse (for tests). */
  get freeCount(): number {
    return this.free.length;
  }

  private retire(slab: Slab): void {
    slab.current = false;
    this.current = null;
    if (slab.refs === 0) this.recycle(slab);
  }

  private recycle(slab: Slab): void {
    this.live.delete(slab.bytes.buffer);
    this.free.push(slab.bytes);
  }
}

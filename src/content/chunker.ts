// Content-defined chunking (format §4 "Chunker"): FastCDC with normalized
// chunking over a keyed 32-bit gear hash. This module owns where a stream is
// cut into chunks — the chunker parameters, their validation, the cut rule and
// the streaming helper that turns a byte stream into owned chunk Buffers. The
// cut rule is part of the volume format: changing it breaks dedup with every
// existing volume, so it is versioned by `algorithm`.
//
// The cut rule, exactly (c = the chunk's bytes, L = candidate chunk length):
//
//   H(L)  = Σ_{j=0..31} gear[c[L-1-j]] · 2^j  mod 2^32
//           — the gear hash of the 32 bytes that end the candidate chunk, i.e.
//           h ← (h·2 + gear[byte]) mod 2^32 rolled over the stream; bytes older
//           than 32 positions have been shifted out. min ≥ 64, so the window
//           never reaches back before the chunk's start.
//   maskS = the top (log2(avg) + normalization) bits of a uint32 set
//   maskL = the top (log2(avg) − normalization) bits of a uint32 set
//   The chunk ends at the first L with
//     min ≤ L ≤ avg  and H(L) & maskS == 0, or
//     avg < L < max  and H(L) & maskL == 0, or
//     L == max.
//   The last chunk of a stream is whatever is left (1 … max bytes).
//
// Top bits, not bits spread over the word: bit k of H depends on the last k+1
// bytes only, so the top bits are the ones that see the whole 32-byte window.
// `H & maskS == 0` is the same as `H < 2^(32 − bits(maskS))`.
//
// The implementation computes H in int32 arithmetic — `h = ((h << 1) +
// gear[b]) | 0` with the table held as Int32Array — which has the same bit
// pattern as the uint32 definition and keeps V8 on small integers. It starts
// hashing at byte min − 32 of a chunk (FastCDC's "skip min" trick, safe because
// the window is 32 bytes): 31 bytes of warm-up, then a test after each byte.
// The first min − 32 bytes of a chunk are never read.

import { ArcaError } from '../errors.js';
import type { ChunkSlabs } from './chunk-slabs.js';
import { nativeContent, type NativeContent } from './native.js';

export const CHUNKER_ALGORITHM = 'fastcdc-gear32-v1';

export interface ChunkerParams {
  algorithm: 'fastcdc-gear32-v1';
  /** Smallest chunk (except a stream's last), bytes. */
  min: number;
  /** Target average: a power of two; sets the masks. */
  avg: number;
  /** Largest chunk, bytes: a chunk is cut here whatever the hash says. */
  max: number;
  /** Normalization level: bits added to maskS and removed from maskL. */
  normalization: number;
}

/**
 * The parameters of new volumes, chosen by measurement in
 * docs/decisions/0002-chunk-sizes.md. Existing volumes keep theirs (config).
 */
export const DEFAULT_CHUNKER_PARAMS: Readonly<ChunkerParams> = Object.freeze({
  algorithm: CHUNKER_ALGORITHM,
  min: 4096,
  avg: 16384,
  max: 65536,
  normalization: 2,
}); // maskS = 0xffff0000 (16 bits), maskL = 0xfff00000 (12 bits)

/** Bytes the gear hash looks back: bit 31 of H depends on the last 32 bytes. */
export const GEAR_WINDOW = 32;
/** Bounds on the parameters this implementation accepts. */
export const CHUNK_MIN_LOWEST = 64;
export const CHUNK_MAX_HIGHEST = 64 * 1024 * 1024;

function usage(message: string): ArcaError {
  return new ArcaError('USAGE', `invalid chunker parameters: ${message}`);
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/**
 * Checks chunker parameters (from a volume config or an option) and returns
 * them as a fresh object. Throws ArcaError FORMAT for an unknown algorithm
 * and USAGE for bad numbers.
 */
export function validateChunkerParams(raw: unknown): ChunkerParams {
  if (typeof raw !== 'object' || raw === null) throw usage('expected an object');
  const p = raw as Record<string, unknown>;
  if (p.algorithm !== CHUNKER_ALGORITHM) {
    throw new ArcaError('FORMAT', `chunker algorithm ${JSON.stringify(p.algorithm)} is not supported (this Arca knows ${CHUNKER_ALGORITHM})`);
  }
  const { min, avg, max, normalization } = p;
  if (!isInt(min) || !isInt(avg) || !isInt(max) || !isInt(normalization)) {
    throw usage('min, avg, max and normalization must be integers');
  }
  if (avg <= 0 || (avg & (avg - 1)) !== 0) throw usage(`avg must be a power of two, got ${avg}`);
  if (!(min < avg && avg < max)) throw usage(`need min < avg < max, got ${min}, ${avg}, ${max}`);
  if (min < CHUNK_MIN_LOWEST) throw usage(`min must be at least ${CHUNK_MIN_LOWEST}, got ${min}`);
  if (max > CHUNK_MAX_HIGHEST) throw usage(`max must be at most ${CHUNK_MAX_HIGHEST}, got ${max}`);
  const bits = Math.log2(avg);
  if (normalization < 0 || bits - normalization < 1 || bits + normalization > 31) {
    throw usage(`normalization must be in 0..${Math.min(bits - 1, 31 - bits)} for avg ${avg}, got ${normalization}`);
  }
  return { algorithm: CHUNKER_ALGORITHM, min, avg, max, normalization };
}

/** A uint32 with the top `bits` bits set (0 ≤ bits ≤ 32). */
export function topBitsMask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** The two masks of the cut rule, as uint32 values. */
export function chunkerMasks(params: ChunkerParams): { maskS: number; maskL: number } {
  const bits = Math.log2(params.avg);
  return { maskS: topBitsMask(bits + params.normalization), maskL: topBitsMask(bits - params.normalization) };
}

/**
 * The cut rule as a state machine over a byte stream fed in buffers of any
 * size; the cuts do not depend on how the stream is split. No allocation per
 * byte: one small array of cut offsets per `feed`.
 *
 * The scan runs in the native addon when it is loaded (native.ts; ~4× faster),
 * else in the JavaScript below, which is the reference: both give the same
 * cuts (tested). Pass `native: null` to use the JavaScript.
 */
export class Chunker {
  readonly params: Readonly<ChunkerParams>;
  private readonly gear: Int32Array;
  private readonly maskS: number; // int32 bit patterns of the masks
  private readonly maskL: number;
  private h = 0; // rolling hash (int32 bit pattern)
  private pending = 0; // bytes of the unfinished chunk seen so far
  private readonly native: NativeContent | null;
  /** For the addon: [h, pending], [min, avg, max, maskS, maskL], and room for the cuts of one feed. */
  private readonly nativeState = new Int32Array(2);
  private readonly nativeParams: Int32Array;
  private nativeCuts = new Uint32Array(0);

  constructor(params: ChunkerParams, gear: Uint32Array, opts: { native?: NativeContent | null } = {}) {
    this.params = Object.freeze(validateChunkerParams(params));
    if (!(gear instanceof Uint32Array) || gear.length !== 256) {
      throw new ArcaError('USAGE', 'gear table must be a Uint32Array of 256 entries');
    }
    this.gear = new Int32Array(gear); // same bits, int32 arithmetic
    const { maskS, maskL } = chunkerMasks(this.params);
    this.maskS = maskS | 0;
    this.maskL = maskL | 0;
    this.native = opts.native === undefined ? nativeContent() : opts.native;
    const { min, avg, max } = this.params;
    this.nativeParams = Int32Array.of(min, avg, max, this.maskS, this.maskL);
  }

  /** Bytes fed since the last cut (the unfinished chunk), always < max. */
  get pendingBytes(): number {
    return this.pending;
  }

  /**
   * Feeds the next bytes of the stream. Returns the offsets in `data` at which
   * chunks end (exclusive ends, ascending); a chunk may have started in an
   * earlier buffer. Bytes after the last offset belong to the next chunk.
   */
  feed(data: Uint8Array): number[] {
    if (this.native) return this.feedNative(this.native, data);
    const cuts: number[] = [];
    const n = data.length;
    const { min, avg, max } = this.params;
    let start = -this.pending; // where the current chunk starts, relative to data
    let i = 0;
    while (i < n) {
      // Bytes before min − 32 cannot reach the first test: skip them.
      let end = start + min - GEAR_WINDOW;
      if (i < end) {
        if (end >= n) break; // all of the rest is skipped
        i = end;
      }
      // Warm up: the 31 bytes before the first candidate, no test.
      end = start + min - 1;
      if (i < end) {
        if (end > n) end = n;
        const gear = this.gear;
        let h = this.h;
        for (; i < end; i++) h = ((h << 1) + gear[data[i]!]!) | 0;
        this.h = h;
        if (i === n) break;
      }
      // Lengths min … avg: the strict mask; then avg+1 … max−1: the loose one.
      let cut = -1;
      end = start + avg;
      if (i < end) {
        if (end > n) end = n;
        cut = this.scan(data, i, end, this.maskS);
        if (cut < 0) i = end;
      }
      if (cut < 0 && i < n) {
        end = start + max - 1;
        if (end > n) end = n;
        cut = this.scan(data, i, end, this.maskL);
        if (cut < 0) i = end;
        // Length max: cut whatever the hash. (Not hashing this byte is harmless:
        // the next chunk's first test comes 32 shifts after its warm-up starts.)
        if (cut < 0 && i < n) cut = i + 1;
      }
      if (cut < 0) break; // i === n
      cuts.push(cut);
      start = i = cut;
    }
    this.pending = n - start;
    return cuts;
  }

  private feedNative(native: NativeContent, data: Uint8Array): number[] {
    const room = Math.floor(data.length / this.params.min) + 1;
    if (this.nativeCuts.length < room) this.nativeCuts = new Uint32Array(Math.max(room, 256));
    const state = this.nativeState;
    state[0] = this.h;
    state[1] = this.pending;
    const count = native.chunkerFeed(this.gear, state, this.nativeParams, data, this.nativeCuts);
    this.h = state[0]!;
    this.pending = state[1]!;
    const cuts = new Array<number>(count);
    for (let k = 0; k < count; k++) cuts[k] = this.nativeCuts[k]!;
    return cuts;
  }

  /**
   * Rolls data[i..end) into the hash, testing after each byte; returns the
   * index just past the first byte where (h & mask) == 0, or -1 when there is
   * none. The hot loop: unrolled by four (≈1.5× faster in V8 than one byte per
   * iteration), locals only, int32 arithmetic.
   */
  private scan(data: Uint8Array, i: number, end: number, mask: number): number {
    const gear = this.gear;
    let h = this.h;
    const end4 = end - 3;
    for (; i < end4; i += 4) {
      h = ((h << 1) + gear[data[i]!]!) | 0;
      if ((h & mask) === 0) {
        this.h = h;
        return i + 1;
      }
      h = ((h << 1) + gear[data[i + 1]!]!) | 0;
      if ((h & mask) === 0) {
        this.h = h;
        return i + 2;
      }
      h = ((h << 1) + gear[data[i + 2]!]!) | 0;
      if ((h & mask) === 0) {
        this.h = h;
        return i + 3;
      }
      h = ((h << 1) + gear[data[i + 3]!]!) | 0;
      if ((h & mask) === 0) {
        this.h = h;
        return i + 4;
      }
    }
    for (; i < end; i++) {
      h = ((h << 1) + gear[data[i]!]!) | 0;
      if ((h & mask) === 0) {
        this.h = h;
        return i + 1;
      }
    }
    this.h = h;
    return -1;
  }

  /**
   * Ends the stream: returns the length of the last chunk (the bytes fed since
   * the last cut; 0 when there are none) and resets for a new stream.
   */
  finish(): number {
    const rest = this.pending;
    this.reset();
    return rest;
  }

  /** Forgets any unfinished chunk: the next byte fed starts a new stream. */
  reset(): void {
    this.pending = 0;
    this.h = 0;
  }
}

/**
 * Cuts a byte stream into chunks, yielding each as a Buffer of its own memory:
 * never a view into an input buffer (a producer may reuse those: CopyOut's
 * `recycle`), so keeping a chunk does not pin the input either.
 *
 * Copies: every chunk is copied once, into a slab of `slabs` (chunk-slabs.ts)
 * that later chunks share (one allocation per ~64 chunks instead of one each:
 * fewer ArrayBuffers for the GC, decision 0006), at the offset mod 8 of its
 * bytes in the input, so the copy runs word by word (decision 0008). The part
 * of a chunk that arrived in earlier input buffers is copied twice (into a
 * carry buffer of `max` bytes, then into the chunk): no input buffer is held
 * across a request for the next one. Memory held: the carry buffer (max) plus
 * the current input buffer and slab, plus whatever chunks the consumer keeps
 * (and their slabs). The consumer releases every chunk to `slabs` once
 * nothing reads it, so the slabs are cut again (a consumer that keeps all its
 * chunks, as tests do, simply holds their slabs).
 *
 * The chunker is reset at the start and when the generator ends or is closed.
 */
export async function* chunkStream(input: AsyncIterable<Uint8Array>, chunker: Chunker, slabs: ChunkSlabs): AsyncGenerator<Buffer> {
  chunker.reset();
  const carry = Buffer.allocUnsafeSlow(chunker.params.max);
  let carried = 0;
  try {
    for await (const data of input) {
      if (!(data instanceof Uint8Array)) throw new ArcaError('INTERNAL', 'chunkStream needs a stream of bytes, not strings or objects');
      if (data.length === 0) continue;
      const cuts = chunker.feed(data);
      let from = 0;
      for (const cut of cuts) {
        // The bulk of the chunk (from this input) is copied between equal offsets mod 8; the carried head is not.
        const chunk = slabs.take(carried + cut - from, data.byteOffset + from - carried);
        if (carried > 0) carry.copy(chunk, 0, 0, carried);
        chunk.set(data.subarray(from, cut), carried);
        carried = 0;
        from = cut;
        yield chunk;
      }
      if (from < data.length) {
        carry.set(data.subarray(from), carried);
        carried += data.length - from;
      }
      if (carried !== chunker.pendingBytes) throw new ArcaError('INTERNAL', 'chunker and chunk stream disagree');
    }
    const rest = chunker.finish();
    if (rest > 0) {
      const chunk = slabs.take(rest);
      carry.copy(chunk, 0, 0, rest);
      yield chunk;
    }
  } finally {
    chunker.reset();
  }
}

// The chunker (format §4 "Chunker"): the gear table, the cut rule against a
// slow reference written straight from the format text, independence from how
// the stream is split into buffers, and the streaming helper's memory rules.
// The Chunker tests run for both scans: the JavaScript one and the native
// addon's (native.test.ts compares the two on random parameters).

import { createCipheriv, createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isArcaError } from '../../../src/errors.js';
import {
  Chunker,
  DEFAULT_CHUNKER_PARAMS,
  chunkStream,
  chunkerMasks,
  topBitsMask,
  validateChunkerParams,
  type ChunkerParams,
} from '../../../src/content/chunker.js';
import { ChunkSlabs } from '../../../src/content/chunk-slabs.js';
import { gearTable } from '../../../src/content/gear.js';
import { nativeContent, type NativeContent } from '../../../src/content/native.js';
import { mulberry32 } from '../../../src/common/prng.js';

/** Deterministic pseudo-random bytes: the AES-256-CTR keystream of a seed. */
function bytes(n: number, seed = 1): Buffer {
  const key = Buffer.alloc(32, seed);
  const c = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([c.update(Buffer.alloc(n)), c.final()]);
}

/** A small seeded PRNG for split sizes. */
const prng = mulberry32;

const GEAR = gearTable(Buffer.alloc(32, 0xa5));
const SMALL: ChunkerParams = { algorithm: 'fastcdc-gear32-v1', min: 256, avg: 1024, max: 4096, normalization: 2 };

/** Chunk lengths from the format's definition, computed the slow way. */
function referenceLengths(data: Uint8Array, p: ChunkerParams, gear: Uint32Array): number[] {
  const bits = Math.log2(p.avg);
  const limitS = 2 ** (32 - (bits + p.normalization)); // H & maskS == 0  ⇔  H < limitS
  const limitL = 2 ** (32 - (bits - p.normalization));
  const H = (end: number): number => {
    let h = 0;
    for (let j = 0; j < 32; j++) h = (h + ((gear[data[end - 1 - j]!]! << j) >>> 0)) >>> 0;
    return h;
  };
  const out: number[] = [];
  let s = 0;
  while (s < data.length) {
    let len = Math.min(p.max, data.length - s);
    for (let L = p.min; L < Math.min(p.max, data.length - s + 1); L++) {
      if (H(s + L) < (L <= p.avg ? limitS : limitL)) {
        len = L;
        break;
      }
    }
    out.push(len);
    s += len;
  }
  return out;
}

/** The scans under test; vitest runs with ARCA_NATIVE=require, so the native one is there. */
const SCANS: Array<[string, NativeContent | null]> = [
  ['JavaScript', null],
  ['native', nativeContent()],
];

/** Chunk lengths from feeding `data` in pieces of the given sizes. */
function feedLengths(data: Uint8Array, p: ChunkerParams, gear: Uint32Array, sizes: () => number, native: NativeContent | null = null): number[] {
  const c = new Chunker(p, gear, { native });
  const out: number[] = [];
  let last = 0;
  let off = 0;
  while (off < data.length) {
    const n = Math.min(data.length - off, sizes());
    for (const cut of c.feed(data.subarray(off, off + n))) {
      out.push(off + cut - last);
      last = off + cut;
    }
    off += n;
  }
  const rest = c.finish();
  if (rest > 0) out.push(rest);
  expect(last + rest).toBe(data.length);
  return out;
}

async function* pieces(data: Uint8Array, sizes: () => number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < data.length; ) {
    const n = Math.min(data.length - off, sizes());
    yield data.subarray(off, off + n);
    off += n;
  }
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(c);
  return out;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function expectArcaError(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(isArcaError(err)).toBe(true);
    expect((err as { code: string }).code).toBe(code);
    return;
  }
  throw new Error('expected an ArcaError');
}

describe('gearTable', () => {
  it('is the AES-256-CTR keystream under the key with a zero IV, as little-endian uint32', () => {
    const key = Buffer.alloc(32, 3);
    const table = gearTable(key);
    expect(table).toBeInstanceOf(Uint32Array);
    expect(table.length).toBe(256);
    // Independently: AES-256-ECB of the big-endian counter blocks 0 … 63.
    const ecb = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
    const blocks = Buffer.alloc(1024);
    for (let k = 0; k < 64; k++) blocks.writeUInt32BE(k, k * 16 + 12);
    const stream = Buffer.concat([ecb.update(blocks), ecb.final()]);
    for (let i = 0; i < 256; i++) expect(table[i]).toBe(stream.readUInt32LE(i * 4));
  });

  it('is pinned for the all-zero key (format stability)', () => {
    // AES-256 of the zero block under the zero key is dc95c078a2408989ad48a21492842087.
    const t = gearTable(Buffer.alloc(32));
    expect([t[0], t[1], t[2], t[3]].map((v) => v!.toString(16).padStart(8, '0'))).toEqual([
      '78c095dc',
      '898940a2',
      '14a248ad',
      '87208492',
    ]);
  });

  it('differs between keys and rejects a key of the wrong size', () => {
    expect(gearTable(Buffer.alloc(32, 1))).not.toEqual(gearTable(Buffer.alloc(32, 2)));
    expectArcaError(() => gearTable(Buffer.alloc(16)), 'USAGE');
  });
});

describe('chunker parameters', () => {
  it('accepts the defaults and names the masks exactly', () => {
    expect(validateChunkerParams(DEFAULT_CHUNKER_PARAMS)).toEqual(DEFAULT_CHUNKER_PARAMS);
    expect(topBitsMask(0)).toBe(0);
    expect(topBitsMask(1)).toBe(0x80000000);
    expect(topBitsMask(18)).toBe(0xffffc000);
    expect(topBitsMask(32)).toBe(0xffffffff);
    expect(chunkerMasks(SMALL)).toEqual({ maskS: 0xfff00000, maskL: 0xff000000 }); // 12 and 8 bits
    expect(DEFAULT_CHUNKER_PARAMS).toEqual({ algorithm: 'fastcdc-gear32-v1', min: 4096, avg: 16384, max: 65536, normalization: 2 });
    expect(chunkerMasks(DEFAULT_CHUNKER_PARAMS)).toEqual({ maskS: 0xffff0000, maskL: 0xfff00000 });
  });

  it.each([
    ['avg not a power of two', { min: 1000, avg: 3000, max: 9000 }],
    ['min = avg', { min: 4096, avg: 4096, max: 16384 }],
    ['min > avg', { min: 8192, avg: 4096, max: 16384 }],
    ['max = avg', { min: 1024, avg: 4096, max: 4096 }],
    ['min below the hash window', { min: 16, avg: 4096, max: 16384 }],
    ['max too large', { min: 1 << 20, avg: 1 << 22, max: 2 ** 27 }],
    ['fractional size', { min: 1024.5, avg: 4096, max: 16384 }],
    ['size as a string', { min: '1024', avg: 4096, max: 16384 }],
    ['negative normalization', { normalization: -1 }],
    ['normalization too large', { min: 64, avg: 128, max: 512, normalization: 7 }],
    ['normalization not an integer', { normalization: 1.5 }],
  ])('rejects %s with USAGE', (_name, change) => {
    const p = { ...DEFAULT_CHUNKER_PARAMS, ...change };
    expectArcaError(() => validateChunkerParams(p), 'USAGE');
    expectArcaError(() => new Chunker(p as ChunkerParams, GEAR), 'USAGE');
  });

  it('rejects a non-object with USAGE and an unknown algorithm with FORMAT', () => {
    expectArcaError(() => validateChunkerParams(null), 'USAGE');
    expectArcaError(() => validateChunkerParams({ ...DEFAULT_CHUNKER_PARAMS, algorithm: 'rabin' }), 'FORMAT');
  });

  it('rejects a gear table of the wrong shape', () => {
    expectArcaError(() => new Chunker(SMALL, new Uint32Array(255)), 'USAGE');
    expectArcaError(() => new Chunker(SMALL, new Int32Array(256) as unknown as Uint32Array), 'USAGE');
  });
});

// Taken from the implementation after it matched the reference above; if this
// changes, the volume format changed (new chunks, no dedup with old volumes).
const PINNED = {
  count: 858,
  first: [1898, 1218, 1540, 1305, 738],
  lengthsSha256: '35696596d3ea9b24889969527bc59c8071165c2e7f35cf28103ce5a6bbf0867c',
};

describe.each(SCANS)('Chunker, %s scan', (_name, native) => {
  const lengths = (data: Uint8Array, p: ChunkerParams, gear: Uint32Array, sizes: () => number): number[] => feedLengths(data, p, gear, sizes, native);

  it('cuts exactly where the format definition says', () => {
    // Random data, a long run of one byte (exercises max cuts), repetitive text.
    const text = Buffer.from('1\tdeadbeef\tmalicious\t{"score": 0.25}\n'.repeat(3000));
    const data = Buffer.concat([bytes(300_000, 7), Buffer.alloc(20_000, 0x41), text, bytes(5_000, 8)]);
    const want = referenceLengths(data, SMALL, GEAR);
    expect(lengths(data, SMALL, GEAR, () => data.length)).toEqual(want);
    expect(want.some((l) => l === SMALL.max)).toBe(true);
    for (const normalization of [0, 1, 3]) {
      const p = { ...SMALL, normalization };
      expect(lengths(data, p, GEAR, () => 4099)).toEqual(referenceLengths(data, p, GEAR));
    }
    const odd = { ...SMALL, min: 100, max: 3000 };
    expect(lengths(data, odd, GEAR, () => 777)).toEqual(referenceLengths(data, odd, GEAR));
  });

  it('is deterministic and reusable after finish()', () => {
    const data = bytes(2_000_000, 2);
    const c = new Chunker(DEFAULT_CHUNKER_PARAMS, GEAR, { native });
    const first = c.feed(data);
    const rest = c.finish();
    expect(c.pendingBytes).toBe(0);
    expect(c.feed(data)).toEqual(first);
    expect(c.finish()).toBe(rest);
    expect(first.length).toBeGreaterThan(10);
  });

  it('finds the same cuts however the stream is split into buffers', () => {
    const data = bytes(1_500_000, 3);
    const whole = lengths(data, SMALL, GEAR, () => data.length);
    const rnd = prng(42);
    expect(lengths(data, SMALL, GEAR, () => 1)).toEqual(whole);
    expect(lengths(data, SMALL, GEAR, () => 1 + Math.floor(rnd() * 40))).toEqual(whole);
    expect(lengths(data, SMALL, GEAR, () => 1 + Math.floor(rnd() * 20_000))).toEqual(whole);
    // Mixed, around the interesting sizes (min − 32, min, avg, max).
    const sizes = [1, 2, 31, 32, 33, 223, 224, 255, 256, 1023, 1024, 1025, 4095, 4096, 4097, 65536];
    expect(lengths(data, SMALL, GEAR, () => sizes[Math.floor(rnd() * sizes.length)]!)).toEqual(whole);
    const big = bytes(6_000_000, 4);
    const bigWhole = lengths(big, DEFAULT_CHUNKER_PARAMS, GEAR, () => big.length);
    expect(lengths(big, DEFAULT_CHUNKER_PARAMS, GEAR, () => 1 + Math.floor(rnd() * 300_000))).toEqual(bigWhole);
    expect(lengths(big.subarray(0, 700_000), DEFAULT_CHUNKER_PARAMS, GEAR, () => 1)).toEqual(
      lengths(big.subarray(0, 700_000), DEFAULT_CHUNKER_PARAMS, GEAR, () => 700_000),
    );
  });

  it('keeps every chunk within [min, max] except the last, near the target average', () => {
    const data = bytes(8_000_000, 5);
    const lens = lengths(data, DEFAULT_CHUNKER_PARAMS, GEAR, () => 1 << 20);
    const { min, avg, max } = DEFAULT_CHUNKER_PARAMS;
    for (const l of lens.slice(0, -1)) {
      expect(l).toBeGreaterThanOrEqual(min);
      expect(l).toBeLessThanOrEqual(max);
    }
    expect(lens.at(-1)!).toBeLessThanOrEqual(max);
    const mean = data.length / lens.length;
    expect(mean).toBeGreaterThan(avg * 0.8);
    expect(mean).toBeLessThan(avg * 1.5);
  });

  it('depends on the gear key', () => {
    const data = bytes(3_000_000, 6);
    const a = lengths(data, DEFAULT_CHUNKER_PARAMS, gearTable(Buffer.alloc(32, 1)), () => data.length);
    const b = lengths(data, DEFAULT_CHUNKER_PARAMS, gearTable(Buffer.alloc(32, 2)), () => data.length);
    expect(a).not.toEqual(b);
    const ends = (ls: number[]) => new Set(ls.map((_, k) => ls.slice(0, k + 1).reduce((x, y) => x + y, 0)));
    const endsB = ends(b);
    const shared = [...ends(a)].filter((e) => endsB.has(e)).length;
    expect(shared).toBeLessThan(5); // only the stream's end, and chance
  });

  it('is pinned for a fixed key, parameters and input (format stability)', () => {
    const data = bytes(1_000_000, 9);
    const lens = lengths(data, SMALL, gearTable(Buffer.alloc(32)), () => data.length);
    expect(lens.length).toBe(PINNED.count);
    expect(lens.slice(0, 5)).toEqual(PINNED.first);
    expect(sha(Buffer.from(lens.join(',')))).toBe(PINNED.lengthsSha256);
  });
});

describe('chunkStream', () => {
  it('yields chunks whose concatenation is the input, in memory of their own (not the input\'s)', async () => {
    const data = bytes(3_000_000, 10);
    const rnd = prng(7);
    // The producer refills one buffer for every piece, as CopyOut's `recycle` does.
    const scratch = Buffer.alloc(200_000);
    async function* reused(): AsyncGenerator<Buffer> {
      for await (const p of pieces(data, () => 1 + Math.floor(rnd() * 200_000))) {
        scratch.set(p);
        yield scratch.subarray(0, p.length);
        scratch.fill(0xa5);
      }
    }
    const chunks = await collect(chunkStream(reused(), new Chunker(DEFAULT_CHUNKER_PARAMS, GEAR), new ChunkSlabs()));
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    expect(chunks.map((c) => c.length)).toEqual(feedLengths(data, DEFAULT_CHUNKER_PARAMS, GEAR, () => data.length));
    for (const c of chunks) {
      expect(Buffer.isBuffer(c)).toBe(true);
      expect(c.buffer).not.toBe(scratch.buffer);
    }
    // chunks share slabs, not one allocation each
    expect(new Set(chunks.map((c) => c.buffer)).size).toBeLessThan(chunks.length / 8);
  });

  it('puts each chunk at the same offset mod 8 as its bytes in the input, so the copy runs word by word', async () => {
    const data = bytes(2_000_000, 13);
    const slabs = new ChunkSlabs();
    const input = Buffer.alloc(data.length + 3).subarray(3); // the input itself starts off a word boundary
    data.copy(input);
    const chunks = await collect(chunkStream(pieces(input, () => input.length), new Chunker(DEFAULT_CHUNKER_PARAMS, GEAR), slabs));
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    expect(chunks.length).toBeGreaterThan(20);
    let offset = 0;
    // All but the last chunk are copied straight from the input; the last one comes from the carry buffer.
    for (const c of chunks.slice(0, -1)) {
      expect(c.byteOffset & 7).toBe((input.byteOffset + offset) & 7);
      offset += c.length;
    }
  });

  it('gives the same chunks for any split, including 1-byte buffers', async () => {
    const data = bytes(400_000, 11);
    const want = (await collect(chunkStream(pieces(data, () => data.length), new Chunker(SMALL, GEAR), new ChunkSlabs()))).map(sha);
    const rnd = prng(9);
    for (const sizes of [() => 1, () => 1 + Math.floor(rnd() * 10), () => 1 + Math.floor(rnd() * 9000)]) {
      const got = await collect(chunkStream(pieces(data, sizes), new Chunker(SMALL, GEAR), new ChunkSlabs()));
      expect(got.map(sha)).toEqual(want);
    }
  });

  it('does not keep references to input buffers (a producer may reuse its buffer)', async () => {
    const data = bytes(1_000_000, 12);
    const reused = Buffer.alloc(10_000);
    async function* producer(): AsyncGenerator<Uint8Array> {
      for (let off = 0; off < data.length; off += reused.length) {
        data.copy(reused, 0, off, off + reused.length);
        yield reused;
        reused.fill(0xee); // overwritten as soon as the consumer asks for more
      }
    }
    const chunks = await collect(chunkStream(producer(), new Chunker(SMALL, GEAR), new ChunkSlabs()));
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });

  it('yields nothing for an empty stream', async () => {
    const c = new Chunker(SMALL, GEAR);
    expect(await collect(chunkStream(pieces(Buffer.alloc(0), () => 1), c, new ChunkSlabs()))).toEqual([]);
    async function* empties(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(0);
      yield Buffer.alloc(0);
    }
    expect(await collect(chunkStream(empties(), c, new ChunkSlabs()))).toEqual([]);
    expect(c.finish()).toBe(0);
  });

  it('yields a stream shorter than min as one chunk', async () => {
    const data = bytes(100, 13);
    const chunks = await collect(chunkStream(pieces(data, () => 7), new Chunker(SMALL, GEAR), new ChunkSlabs()));
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.equals(data)).toBe(true);
  });

  it('resynchronizes after an insertion: chunks after the edit are unchanged', async () => {
    const data = bytes(16_000_000, 14);
    const edited = Buffer.concat([data.subarray(0, 5000), Buffer.from('hello'), data.subarray(5000)]);
    const rnd = prng(3);
    const before = await collect(chunkStream(pieces(data, () => 1 << 20), new Chunker(DEFAULT_CHUNKER_PARAMS, GEAR), new ChunkSlabs()));
    const after = await collect(chunkStream(pieces(edited, () => 1 + Math.floor(rnd() * 1e6)), new Chunker(DEFAULT_CHUNKER_PARAMS, GEAR), new ChunkSlabs()));
    const known = new Set(before.map(sha));
    const fresh = after.filter((c) => !known.has(sha(c)));
    expect(before.length).toBeGreaterThan(150);
    expect(fresh.length).toBeLessThanOrEqual(2); // the edited chunk, maybe its neighbour
    expect(after.slice(2).every((c) => known.has(sha(c)))).toBe(true);
  });

  it('resets the chunker when the consumer stops early', async () => {
    const data = bytes(1_000_000, 15);
    const c = new Chunker(SMALL, GEAR);
    for await (const chunk of chunkStream(pieces(data, () => 5000), c, new ChunkSlabs())) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    expect(c.pendingBytes).toBe(0);
  });
});

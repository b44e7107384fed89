// The native content addon's contract (native/src/arca_native.c) against the
// JavaScript code it stands for: the same chunk cuts on random parameters and
// random buffer splits, the same blob ids, seals that each side opens, every
// tampered byte refused, and bad arguments refused instead of read past.

import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Chunker, validateChunkerParams, type ChunkerParams } from '../../../src/content/chunker.js';
import { gearTable } from '../../../src/content/gear.js';
import { nativeContent, nativeContentProblem } from '../../../src/content/native.js';
import { AAD, KeyedSealer, SEAL_OVERHEAD, openSealed, seal } from '../../../src/content/seal.js';
import { BlobCodec, blobId, openBlob, sealBlob, sealedBlobBound } from '../../../src/content/blob-codec.js';
import { deriveKeys, newMasterKey } from '../../../src/content/keys.js';
import { mulberry32 } from '../../../src/common/prng.js';

const native = nativeContent()!;
const keys = deriveKeys(newMasterKey());

/** Deterministic bytes with runs and text in them, so both short and max-length chunks occur. */
function mixed(n: number, seed: number): Buffer {
  const c = createCipheriv('aes-256-ctr', Buffer.alloc(32, seed), Buffer.alloc(16));
  const noise = Buffer.concat([c.update(Buffer.alloc(n)), c.final()]);
  const rnd = mulberry32(seed);
  for (let at = 0; at < n; at += 1 + Math.floor(rnd() * 50_000)) {
    const len = Math.min(n - at, Math.floor(rnd() * 9_000));
    if (rnd() < 0.5) noise.fill(0x41 + (seed % 20), at, at + len);
    else noise.write('7\tabc\tmalicious\t{"k": 1}\n'.repeat(1 + (len >> 5)).slice(0, len), at, 'latin1');
  }
  return noise;
}

/** All cut positions (absolute) from feeding `data` in pieces of `sizes()`. */
function cuts(chunker: Chunker, data: Uint8Array, sizes: () => number): number[] {
  const out: number[] = [];
  for (let off = 0; off < data.length; ) {
    const n = Math.min(data.length - off, sizes());
    for (const c of chunker.feed(data.subarray(off, off + n))) out.push(off + c);
    off += n;
  }
  out.push(data.length - chunker.pendingBytes);
  chunker.finish();
  return out;
}

describe('the native addon', () => {
  it('is loaded (the tests run with ARCA_NATIVE=require)', () => {
    expect(nativeContentProblem()).toBe('');
    expect(native).toBeTruthy();
  });
});

describe('native chunker scan', () => {
  it('cuts where the JavaScript scan cuts, for random parameters, data and splits', () => {
    const rnd = mulberry32(7);
    for (let round = 0; round < 40; round++) {
      const avg = 2 ** (7 + Math.floor(rnd() * 9)); // 128 … 32768
      const min = Math.max(64, Math.floor(avg / (2 + rnd() * 6)));
      const max = avg * (2 + Math.floor(rnd() * 6)) + Math.floor(rnd() * 100);
      const bits = Math.log2(avg);
      const normalization = Math.floor(rnd() * (Math.min(bits - 1, 31 - bits, 3) + 1));
      const p: ChunkerParams = validateChunkerParams({ algorithm: 'fastcdc-gear32-v1', min, avg, max, normalization });
      const gear = gearTable(randomBytes(32));
      const data = mixed(200_000 + Math.floor(rnd() * 400_000), round + 1);
      const split = rnd() < 0.3 ? () => 1 + Math.floor(rnd() * 64) : () => 1 + Math.floor(rnd() * 300_000);
      const want = cuts(new Chunker(p, gear, { native: null }), data, () => data.length);
      expect(cuts(new Chunker(p, gear, { native }), data, split), JSON.stringify(p)).toEqual(want);
      expect(want.length).toBeGreaterThan(2);
    }
  });

  it('refuses arguments it cannot use safely', () => {
    const gear = new Int32Array(256);
    const params = Int32Array.of(256, 1024, 4096, 0, 0);
    const data = new Uint8Array(10_000);
    expect(() => native.chunkerFeed(gear, new Int32Array(2), params, data, new Uint32Array(3))).toThrow(/cuts array too small/);
    expect(() => native.chunkerFeed(new Int32Array(255), new Int32Array(2), params, data, new Uint32Array(64))).toThrow(/bad arguments/);
    expect(() => native.chunkerFeed(gear, new Int32Array(2), Int32Array.of(32, 64, 128, 0, 0), data, new Uint32Array(512))).toThrow(/bad parameters/);
    expect(() => native.chunkerFeed(gear, new Int32Array(2), params, new Uint16Array(8) as unknown as Uint8Array, new Uint32Array(64))).toThrow(/bad arguments/);
  });
});

describe('native HMAC and AES-GCM', () => {
  const sizes = [0, 1, 15, 16, 17, 4096, 16_384, 65_536, 300_001];

  it('computes HMAC-SHA256 as Node does, into shared memory too', () => {
    const h = native.hmacKey(keys.idKey);
    const shared = Buffer.from(new SharedArrayBuffer(64));
    for (const n of sizes) {
      const data = randomBytes(n);
      native.hmacInto(h, data, shared, 7);
      expect(shared.subarray(7, 39).equals(createHmac('sha256', keys.idKey).update(data).digest())).toBe(true);
    }
    expect(() => native.hmacInto(h, Buffer.alloc(1), Buffer.alloc(40), 9)).toThrow(/does not fit/);
    expect(() => native.hmacKey(Buffer.alloc(31))).toThrow(/32-byte key/);
  });

  it('seals what Node opens, opens what Node sealed, and refuses every flipped bit', () => {
    const sealer = new KeyedSealer(keys.encKey, native);
    for (const n of sizes) {
      const body = randomBytes(n);
      const out = Buffer.alloc(n + 1 + SEAL_OVERHEAD + 5);
      const len = sealer.sealInto(AAD.blob, out, 5, Uint8Array.of(1), body);
      expect(len).toBe(n + 1 + SEAL_OVERHEAD);
      const sealed = out.subarray(5, 5 + len);
      expect(openSealed(keys.encKey, AAD.blob, sealed).equals(Buffer.concat([Uint8Array.of(1), body]))).toBe(true);
      expect(sealer.open(AAD.blob, seal(keys.encKey, AAD.blob, body)).equals(body)).toBe(true);
    }
    const sealed = seal(keys.encKey, AAD.manifest, randomBytes(100));
    for (let i = 0; i < sealed.length; i++) {
      const bad = Buffer.from(sealed);
      bad[i]! ^= 0x80;
      expect(() => sealer.open(AAD.manifest, bad)).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
    }
    expect(() => sealer.open(AAD.index, sealed)).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
    expect(() => new KeyedSealer(deriveKeys(newMasterKey()).encKey, native).open(AAD.manifest, sealed)).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
    expect(() => sealer.open(AAD.manifest, sealed.subarray(0, SEAL_OVERHEAD - 1))).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
  });

  it('leaves no unauthenticated plaintext in the output buffer', () => {
    const h = native.gcmKey(keys.encKey);
    const sealed = seal(keys.encKey, AAD.blob, Buffer.alloc(1000, 0x5a));
    sealed[sealed.length - 1]! ^= 1;
    const out = Buffer.alloc(1000, 0xee);
    expect(native.gcmOpenInto(h, Buffer.from(AAD.blob), sealed, out, 0)).toBe(-1);
    expect(out.every((b) => b === 0)).toBe(true);
  });

  it('refuses an output that is too small instead of writing past it', () => {
    const h = native.gcmKey(keys.encKey);
    const nonce = randomBytes(12);
    expect(() => native.gcmSealInto(h, nonce, Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(100), Buffer.alloc(127), 0)).toThrow(/does not fit/);
    expect(() => native.gcmSealInto(h, nonce, Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(100), Buffer.alloc(200), 73)).toThrow(/does not fit/);
    expect(native.gcmSealInto(h, nonce, Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(100), Buffer.alloc(200), 72)).toBe(128);
    expect(() => native.gcmSealInto(h, randomBytes(11), Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(1), Buffer.alloc(64), 0)).toThrow(/bad arguments/);
    const sealed = seal(keys.encKey, AAD.blob, Buffer.alloc(100));
    expect(() => native.gcmOpenInto(h, Buffer.from(AAD.blob), sealed, Buffer.alloc(99), 0)).toThrow(/does not fit/);
  });
});

describe('BlobCodec, native and JavaScript', () => {
  const jsCodec = new BlobCodec(keys, 3, null);
  const nativeCodec = new BlobCodec(keys, 3, native);

  it('gives the same ids, and each opens what the other sealed', () => {
    const text = Buffer.from('a compressible line\n'.repeat(1000));
    for (const plain of [text, randomBytes(20_000), Buffer.alloc(0), Buffer.from('x')]) {
      const id = blobId(keys.idKey, plain);
      for (const codec of [jsCodec, nativeCodec]) {
        const idOut = Buffer.alloc(40);
        codec.idInto(plain, idOut, 8);
        expect(idOut.subarray(8).equals(id)).toBe(true);
        const out = Buffer.alloc(sealedBlobBound(plain.length));
        const sealed = out.subarray(0, codec.sealInto(plain, out, 0));
        expect(openBlob(keys, id, sealed, plain.length).equals(plain)).toBe(true);
        for (const other of [jsCodec, nativeCodec]) expect(other.open(id, sealed, plain.length).equals(plain)).toBe(true);
      }
      expect(nativeCodec.open(id, sealBlob(keys.encKey, plain, 3), plain.length).equals(plain)).toBe(true);
    }
  });

  it('refuses a blob under the wrong id or length, on both', () => {
    const plain = randomBytes(5000);
    const sealed = sealBlob(keys.encKey, plain, 3);
    for (const codec of [jsCodec, nativeCodec]) {
      expect(() => codec.open(blobId(keys.idKey, Buffer.from('other')), sealed, plain.length)).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
      expect(() => codec.open(blobId(keys.idKey, plain), sealed, plain.length + 1)).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
    }
  });
});

describe('native copyFrames', () => {
  const frame = (type: number, body: Buffer, length = body.length + 4) => {
    const head = Buffer.alloc(5);
    head[0] = type;
    head.writeUInt32BE(length, 1);
    return Buffer.concat([head, body]);
  };
  /** What copyFrames promises, in plain JavaScript: [stop offset, bytes copied]. */
  function reference(src: Buffer, at: number, type: number, room: number): [number, Buffer] {
    const bodies: Buffer[] = [];
    let used = 0;
    for (;;) {
      if (src.length - at < 5 || src[at] !== type) break;
      const length = src.readUInt32BE(at + 1);
      if (length < 4) break;
      const body = length - 4;
      if (body > src.length - at - 5 || body >= room - used) break;
      bodies.push(src.subarray(at + 5, at + 5 + body));
      used += body;
      at += 5 + body;
    }
    return [at, Buffer.concat(bodies)];
  }

  it('copies whole frames of the type and stops where the reference stops, on random streams and splits', () => {
    const rnd = mulberry32(77);
    for (let round = 0; round < 200; round++) {
      const frames: Buffer[] = [];
      for (let i = 0; i < 1 + Math.floor(rnd() * 40); i++) {
        const r = rnd();
        const body = randomBytes(Math.floor(rnd() * (r < 0.1 ? 3000 : 300)));
        if (r < 0.85) frames.push(frame(0x64, body));
        else if (r < 0.95) frames.push(frame(0x4e, body)); // another message
        else frames.push(frame(0x64, body, Math.floor(rnd() * 4))); // a length below 4
      }
      const stream = Buffer.concat(frames);
      const cut = Math.floor(rnd() * (stream.length + 1)); // a read that ends anywhere, mid-frame too
      const src = stream.subarray(0, cut);
      const at = 0;
      const outLen = 1 + Math.floor(rnd() * 20_000);
      const fillAt = Math.floor(rnd() * outLen);
      const out = Buffer.alloc(outLen, 0xee);
      const fill = Int32Array.of(fillAt);
      const stop = native.copyFrames(src, at, 0x64, out, fill);
      const [wantStop, wantBytes] = reference(src, at, 0x64, outLen - fillAt);
      expect(stop).toBe(wantStop);
      expect(fill[0]).toBe(fillAt + wantBytes.length);
      expect(out.subarray(fillAt, fill[0]).equals(wantBytes)).toBe(true);
      expect(out.subarray(0, fillAt).every((b) => b === 0xee)).toBe(true); // nothing before fill is touched
      expect(out.subarray(fill[0]).every((b) => b === 0xee)).toBe(true); // nor after what it copied
      expect(fill[0]).toBeLessThan(outLen); // it never fills the buffer up: the caller changes buffers
    }
  });

  it('refuses arguments it cannot use safely', () => {
    const src = frame(0x64, Buffer.from('row\n'));
    expect(() => native.copyFrames(src, src.length + 1, 0x64, Buffer.alloc(10), Int32Array.of(0))).toThrow(/out of range/);
    expect(() => native.copyFrames(src, 0, 0x64, Buffer.alloc(10), Int32Array.of(11))).toThrow(/out of range/);
    expect(() => native.copyFrames(src, 0, 0x64, Buffer.alloc(10), Int32Array.of(-1))).toThrow(/out of range/);
    expect(() => native.copyFrames(src, 0, 0x64, Buffer.alloc(10), new Int32Array(2))).toThrow(/bad arguments/);
    const fill = Int32Array.of(0);
    expect(native.copyFrames(src, 0, 0x64, Buffer.alloc(10), fill)).toBe(src.length);
    expect(fill[0]).toBe(4);
  });
});

// The compact index: every added id is found with its location, unknown ids
// are not, the first location wins, and growth keeps everything.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BlobIndex } from '../../../src/repository/index/blob-index.js';
import { decodeIndexObject, encodeIndexObject } from '../../../src/repository/index/index-object.js';

describe('BlobIndex', () => {
  it('finds 100k ids after many growths and misses unknown ones', () => {
    const idx = new BlobIndex(16);
    const packs = Array.from({ length: 50 }, () => randomBytes(32));
    const ids = Array.from({ length: 100_000 }, () => randomBytes(32));
    ids.forEach((id, i) => expect(idx.add(id, packs[i % 50]!, (i % 2) as 0 | 1, i, i + 1, i + 2)).toBe(true));
    expect(idx.size).toBe(100_000);
    expect(idx.packCount).toBe(50);
    ids.forEach((id, i) => {
      const loc = idx.get(id)!;
      expect(loc.packId.equals(packs[i % 50]!)).toBe(true);
      expect([loc.type, loc.offset, loc.length, loc.rawLength]).toEqual([i % 2, i, i + 1, i + 2]);
    });
    for (let i = 0; i < 1000; i++) expect(idx.has(randomBytes(32))).toBe(false);
  });

  it('keeps the first location of an id', () => {
    const idx = new BlobIndex();
    const id = randomBytes(32);
    idx.add(id, Buffer.alloc(32, 1), 0, 10, 20, 30);
    expect(idx.add(id, Buffer.alloc(32, 2), 0, 99, 99, 99)).toBe(false);
    expect(idx.get(id)!.offset).toBe(10);
  });

  it('handles ids that share their first bytes (hash collisions)', () => {
    const idx = new BlobIndex(16);
    const ids = Array.from({ length: 200 }, (_, i) => Buffer.concat([Buffer.alloc(4, 7), randomBytes(27), Buffer.from([i])]));
    ids.forEach((id) => idx.add(id, Buffer.alloc(32), 0, 0, 1, 1));
    ids.forEach((id) => expect(idx.has(id)).toBe(true));
  });
});

describe('index objects', () => {
  it('round-trip and refuse truncation', () => {
    const obj = {
      sessionId: randomBytes(16),
      superseded: [randomBytes(32)],
      packs: [{ id: randomBytes(32), entries: [{ type: 0 as const, id: randomBytes(32), offset: 1, length: 2, rawLength: 3 }] }],
    };
    const enc = encodeIndexObject(obj);
    expect(decodeIndexObject(enc, 'x')).toEqual(obj);
    expect(() => decodeIndexObject(enc.subarray(0, enc.length - 1), 'x')).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
  });
});

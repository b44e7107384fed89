// Sealing, key wrapping and blob encoding: round trips, and every kind of
// tampering is refused as CORRUPT (never returned as data).

import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { AAD, openSealed, seal, SEAL_OVERHEAD } from '../../../src/content/seal.js';
import { deriveKeys, newMasterKey, unwrapMasterKey, wrapMasterKey } from '../../../src/content/keys.js';
import { blobId, openBlob, sealBlob } from '../../../src/content/blob-codec.js';
import { BlobPool } from '../../../src/content/blob-pool.js';

const keys = deriveKeys(newMasterKey());

describe('seal', () => {
  it('round-trips and never repeats a nonce', () => {
    const a = seal(keys.encKey, AAD.blob, Buffer.from('same'));
    const b = seal(keys.encKey, AAD.blob, Buffer.from('same'));
    expect(a.length).toBe(4 + SEAL_OVERHEAD);
    expect(a.subarray(0, 12).equals(b.subarray(0, 12))).toBe(false);
    expect(openSealed(keys.encKey, AAD.blob, a).toString()).toBe('same');
  });

  it('refuses flipped bits anywhere, the wrong context, and the wrong key', () => {
    const sealed = seal(keys.encKey, AAD.manifest, randomBytes(100));
    for (let i = 0; i < sealed.length; i++) {
      const bad = Buffer.from(sealed);
      bad[i]! ^= 0x01;
      expect(() => openSealed(keys.encKey, AAD.manifest, bad)).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
    }
    expect(() => openSealed(keys.encKey, AAD.index, sealed)).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
    expect(() => openSealed(deriveKeys(newMasterKey()).encKey, AAD.manifest, sealed)).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
    expect(() => openSealed(keys.encKey, AAD.manifest, sealed.subarray(0, 10))).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
  });
});

describe('key objects', () => {
  const cost = { N: 1024, r: 8, p: 1 };
  it('wrap and unwrap the master key; a wrong password yields nothing', async () => {
    const master = newMasterKey();
    const k = await wrapMasterKey(master, 'pässword', cost);
    expect(JSON.stringify(k)).not.toContain(master.toString('base64'));
    expect((await unwrapMasterKey(k, 'pässword'))!.equals(master)).toBe(true);
    expect(await unwrapMasterKey(k, 'password')).toBeUndefined();
  });

  it('derives distinct sub-keys', () => {
    const k = deriveKeys(newMasterKey());
    expect(new Set([k.encKey.toString('hex'), k.idKey.toString('hex'), k.gearKey.toString('hex')]).size).toBe(3);
  });
});

describe('blob codec', () => {
  it('compresses what shrinks, stores what does not, and verifies ids', () => {
    const text = Buffer.from('a compressible line\n'.repeat(1000));
    const noise = randomBytes(20_000);
    for (const plain of [text, noise, Buffer.alloc(0), Buffer.from('x')]) {
      const sealed = sealBlob(keys.encKey, plain, 3);
      if (plain === text) expect(sealed.length).toBeLessThan(plain.length / 10);
      if (plain === noise) expect(sealed.length).toBe(noise.length + 1 + SEAL_OVERHEAD);
      expect(openBlob(keys, blobId(keys.idKey, plain), sealed, plain.length).equals(plain)).toBe(true);
    }
  });

  it('refuses a blob under the wrong id or length', () => {
    const plain = randomBytes(100);
    const sealed = sealBlob(keys.encKey, plain, 3);
    expect(() => openBlob(keys, blobId(keys.idKey, randomBytes(100)), sealed, 100)).toThrow(/does not match its id/);
    expect(() => openBlob(keys, blobId(keys.idKey, plain), sealed, 99)).toThrow(/does not match its id/);
  });

  it('ids are keyed: the same bytes get different ids under different volumes', () => {
    const other = deriveKeys(newMasterKey());
    expect(blobId(keys.idKey, Buffer.from('x')).equals(blobId(other.idKey, Buffer.from('x')))).toBe(false);
  });
});

describe('BlobPool', () => {
  const pool = new BlobPool(keys, { zstdLevel: 3, threads: 2 });
  afterAll(() => pool.close());

  it('seals and opens many blobs concurrently in worker threads, in any order', async () => {
    const plains = Array.from({ length: 300 }, (_, i) => (i % 2 ? randomBytes(5000 + i) : Buffer.from(`text ${i} `.repeat(500))));
    const ids = plains.map((p) => blobId(keys.idKey, p));
    // store() results are views into shared memory: copied at once, as the contract says
    const stored = await Promise.all(
      plains.map(async (p) => {
        const r = await pool.store(Buffer.from(p));
        return { id: Buffer.from(r.id), sealed: Buffer.from(r.sealed!) };
      }),
    );
    stored.forEach((s, i) => expect(Buffer.from(s.id).equals(ids[i]!)).toBe(true));
    const opened = await Promise.all(stored.map((s, i) => pool.open(ids[i]!, s.sealed!, plains[i]!.length)));
    opened.forEach((o, i) => expect(o.equals(plains[i]!)).toBe(true));
  });

  it('reports a damaged blob as CORRUPT from the worker', async () => {
    const plain = randomBytes(1000);
    const s = Buffer.from((await pool.store(Buffer.from(plain))).sealed!);
    s[20]! ^= 1;
    await expect(pool.open(blobId(keys.idKey, plain), s, 1000)).rejects.toMatchObject({ code: 'CORRUPT' });
  });
});

// Seeded randomness for tests: a small PRNG for choices and delays, and a fast
// seeded byte stream (AES-256-CTR keystream) for file content, so a failing
// run can be replayed from the seed it printed.

import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mulberry32 } from '../../src/common/prng.js';

/** A seeded PRNG (mulberry32): `next()` in [0, 1), plus a few helpers. */
export class Prng {
  readonly next: () => number;

  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }

  /** An integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(0, items.length - 1)] as T;
  }
}

/** A seed from `ARCA_TEST_SEED` (to replay a run) or a fresh random one. */
export function testSeed(): number {
  const fromEnv = process.env['ARCA_TEST_SEED'];
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 0) throw new Error(`ARCA_TEST_SEED must be a non-negative integer, got ${fromEnv}`);
    return n >>> 0;
  }
  return randomBytes(4).readUInt32LE(0);
}

/** `size` pseudo-random (incompressible) bytes, the same for the same seed. */
export function seededBytes(seed: string, size: number): Buffer {
  const key = createHash('sha256').update(`arca-test:${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

/**
 * `size` bytes of log-like text that zstd compresses well (roughly 10:1).
 * `marker` appears on every line, so a leak of any part of it can be found.
 */
export function compressibleText(seed: string, size: number, marker = ''): Buffer {
  const prng = new Prng(Number.parseInt(createHash('sha256').update(seed).digest('hex').slice(0, 8), 16));
  const levels = ['INFO', 'INFO', 'INFO', 'WARN', 'DEBUG', 'ERROR'];
  const lines: string[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const line =
      `2026-03-${String(1 + (i % 28)).padStart(2, '0')}T12:${String(i % 60).padStart(2, '0')}:00Z ` +
      `${prng.pick(levels)} request id=${i} path=/api/v1/items/${prng.int(1, 97)} status=200 ${marker}\n`;
    lines.push(line);
    length += Buffer.byteLength(line);
  }
  return Buffer.from(lines.join('')).subarray(0, size);
}

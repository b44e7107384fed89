// The token bucket behind --rate-limit: it holds the average rate from the
// first byte, serves callers in order and stops waiting on abort.

import { describe, expect, it } from 'vitest';
import { TokenBucket, throttled } from '../../../src/common/rate-limit.js';

describe('TokenBucket', () => {
  it('holds the rate: 300 KB at 1 MB/s takes at least 0.25 s', async () => {
    const bucket = new TokenBucket(1_000_000);
    const started = performance.now();
    for (let i = 0; i < 30; i++) await bucket.take(10_000);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('throttles a stream without changing its bytes', async () => {
    async function* source() {
      for (let i = 0; i < 4; i++) yield new Uint8Array(50_000).fill(i);
    }
    const bucket = new TokenBucket(1_000_000);
    const started = performance.now();
    const out: number[] = [];
    for await (const chunk of throttled(source(), (n) => bucket.take(n))) out.push(chunk.length, chunk[0]!);
    expect(out).toEqual([50_000, 0, 50_000, 1, 50_000, 2, 50_000, 3]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('stops waiting with ABORTED when the signal fires', async () => {
    const bucket = new TokenBucket(1024);
    const controller = new AbortController();
    const waiting = bucket.take(1_000_000, controller.signal);
    setTimeout(() => controller.abort(), 20);
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new TokenBucket(0)).toThrow();
    expect(() => new TokenBucket(Number.NaN)).toThrow();
  });
});

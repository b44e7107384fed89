import { describe, expect, it } from 'vitest';
import { BackendError, type Backend, type ObjectInfo } from '../../../src/backend/backend.js';
import { FaultBackend } from '../../../src/backend/faults/fault-backend.js';
import { MemoryBackend } from '../../../src/backend/memory/memory-backend.js';
import { RetryBackend, type RetryInfo } from '../../../src/backend/retry/retry-backend.js';
import { backendError, collect } from './contract.js';

/** A backend whose get fails with `errors` in turn, then succeeds. */
function flaky(errors: Error[]): Backend & { gets: number } {
  const inner = new MemoryBackend();
  const b = Object.assign(Object.create(inner) as MemoryBackend, { gets: 0 });
  b.get = async (key: string) => {
    b.gets++;
    const err = errors.shift();
    if (err) throw err;
    return inner.get(key);
  };
  void inner.put('k', Buffer.from('value'));
  return b;
}

const transient = (): BackendError => new BackendError('volume v: I/O error (EIO) while reading k', { permanent: false, key: 'k' });

function recorder(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}

describe('RetryBackend', () => {
  it('retries transient errors, then succeeds', async () => {
    const inner = flaky([transient(), transient()]);
    const { sleep, waits } = recorder();
    const seen: RetryInfo[] = [];
    const r = new RetryBackend(inner, { attempts: 5, baseDelayMs: 100, sleep, random: () => 0.5, onRetry: (i) => seen.push(i) });
    expect((await r.get('k')).toString()).toBe('value');
    expect(inner.gets).toBe(3);
    expect(waits).toEqual([50, 100]); // full jitter: random × base × 2^(retry−1)
    expect(seen.map((s) => [s.operation, s.key, s.attempt])).toEqual([
      ['get', 'k', 1],
      ['get', 'k', 2],
    ]);
  });

  it('gives up after the configured attempts with a transient error saying so', async () => {
    const inner = flaky(Array.from({ length: 10 }, transient));
    const r = new RetryBackend(inner, { attempts: 4, sleep: recorder().sleep });
    const err = await backendError(r.get('k'));
    expect(inner.gets).toBe(4);
    expect(err.permanent).toBe(false);
    expect(err.message).toBe('volume v: I/O error (EIO) while reading k (gave up after 4 attempts)');
    expect(err.cause).toBeInstanceOf(BackendError);
  });

  it('never retries permanent errors, not-found or bugs', async () => {
    for (const first of [
      new BackendError('disk full', { permanent: true }),
      new BackendError('not found', { permanent: true, notFound: true }),
      new TypeError('a bug'),
    ]) {
      const inner = flaky([first, transient()]);
      const r = new RetryBackend(inner, { sleep: recorder().sleep });
      await expect(r.get('k')).rejects.toBe(first);
      expect(inner.gets).toBe(1);
    }
    const r = new RetryBackend(new MemoryBackend(), { sleep: recorder().sleep });
    expect((await backendError(r.get('missing'))).notFound).toBe(true);
    expect((await backendError(r.put('../x', Buffer.alloc(1)))).permanent).toBe(true);
  });

  it('keeps waits within the exponential cap and the maximum', () => {
    const r = new RetryBackend(new MemoryBackend(), { baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.999999 });
    expect([1, 2, 3, 4, 5, 10].map((n) => r.delayFor(n))).toEqual([99, 199, 399, 799, 999, 999]);
    const zero = new RetryBackend(new MemoryBackend(), { random: () => 0 });
    expect(zero.delayFor(3)).toBe(0);
  });

  it('retries a list that fails, before or part-way, yielding each object once', async () => {
    const inner = new MemoryBackend();
    for (let i = 0; i < 5; i++) await inner.put(`l/${i}`, Buffer.alloc(i));
    let calls = 0;
    let failAfter: number[] = [0, 0];
    const wrapped: Backend = Object.assign(Object.create(inner) as MemoryBackend, {
      async *list(prefix: string): AsyncGenerator<ObjectInfo> {
        calls++;
        const limit = failAfter.shift();
        let n = 0;
        for await (const info of inner.list(prefix)) {
          if (n === limit) throw transient();
          yield info;
          n++;
        }
      },
    });
    const r = new RetryBackend(wrapped, { sleep: recorder().sleep });
    expect(await collect(r.list('l/'))).toHaveLength(5);
    expect(calls).toBe(3);
    calls = 0;
    failAfter = [2, 4];
    const keys = (await collect(r.list('l/'))).map((o) => o.key).sort();
    expect(keys).toEqual(['l/0', 'l/1', 'l/2', 'l/3', 'l/4']);
    expect(calls).toBe(3);
  });

  it('absorbs a faulty backend: every put lands whole, every get returns the right bytes', async () => {
    const inner = new MemoryBackend();
    const fault = new FaultBackend(inner, { seed: 2024, failureRate: 0.3, tornPutRate: 0.3 });
    const r = new RetryBackend(fault, { attempts: 30, sleep: recorder().sleep });
    const items = Array.from({ length: 50 }, (_, i) => ({ key: `data/${i}`, data: Buffer.alloc(100 + i, i) }));
    await Promise.all(items.map(({ key, data }) => r.put(key, data)));
    for (const { key, data } of items) expect((await r.get(key)).equals(data)).toBe(true);
    expect(fault.faults.put + fault.faults.get).toBeGreaterThan(10);
  });

  it('passes location and close through', async () => {
    const inner = new MemoryBackend('mem:x');
    const r = new RetryBackend(inner);
    expect(r.location).toBe('mem:x');
    await r.close();
  });
});

import { describe, expect, it } from 'vitest';
import { BackendError } from '../../../src/backend/backend.js';
import { FaultBackend, mulberry32 } from '../../../src/backend/faults/fault-backend.js';
import { MemoryBackend } from '../../../src/backend/memory/memory-backend.js';
import { RetryBackend } from '../../../src/backend/retry/retry-backend.js';
import { backendError, collect, runBackendContract } from './contract.js';

const noSleep = async (): Promise<void> => undefined;

runBackendContract('FaultBackend with no faults', async () => ({
  backend: new FaultBackend(new MemoryBackend(), { seed: 1, failureRate: 0, tornPutRate: 0 }),
  cleanup: async () => undefined,
}));

// Faults on every operation but list (a list failing part-way is not retried
// by design), absorbed by retries: the contract must still hold.
runBackendContract('RetryBackend over a faulty backend', async () => ({
  backend: new RetryBackend(
    new FaultBackend(new MemoryBackend(), {
      seed: 42,
      failureRate: { put: 0.2, get: 0.2, stat: 0.2, delete: 0.2 },
      tornPutRate: 0.2,
    }),
    { attempts: 40, sleep: noSleep },
  ),
  cleanup: async () => undefined,
}));

async function outcomes(fault: FaultBackend, n: number, op: () => Promise<unknown>): Promise<(BackendError | 'ok')[]> {
  const out: (BackendError | 'ok')[] = [];
  for (let i = 0; i < n; i++) {
    try {
      await op();
      out.push('ok');
    } catch (err) {
      expect(err).toBeInstanceOf(BackendError);
      out.push(err as BackendError);
    }
  }
  expect(fault.calls).toBeDefined();
  return out;
}

describe('FaultBackend', () => {
  it('injects transient errors at about the configured rate, naming the seed', async () => {
    const inner = new MemoryBackend();
    await inner.put('k', Buffer.from('v'));
    const fault = new FaultBackend(inner, { seed: 7, failureRate: 0.3 });
    const results = await outcomes(fault, 300, () => fault.get('k'));
    const errors = results.filter((r): r is BackendError => r !== 'ok');
    expect(errors.length).toBeGreaterThan(50);
    expect(errors.length).toBeLessThan(130);
    for (const e of errors) {
      expect(e.permanent).toBe(false);
      expect(e.notFound).toBe(false);
      expect(e.message).toContain('fault seed 7');
    }
    expect(fault.calls.get).toBe(300);
    expect(fault.faults.get).toBe(errors.length);
  });

  it('is deterministic for a seed, and exposes a random seed when none is given', async () => {
    const run = async (seed: number): Promise<string> => {
      const fault = new FaultBackend(new MemoryBackend(), { seed, failureRate: 0.5 });
      return (await outcomes(fault, 64, () => fault.stat('k'))).map((r) => (r === 'ok' ? '.' : 'x')).join('');
    };
    expect(await run(123)).toBe(await run(123));
    expect(await run(123)).not.toBe(await run(124));
    const seeded = new FaultBackend(new MemoryBackend());
    expect(Number.isInteger(seeded.seed)).toBe(true);
    const r = mulberry32(5);
    const xs = Array.from({ length: 1000 }, r);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });

  it('applies per-operation rates', async () => {
    const fault = new FaultBackend(new MemoryBackend(), { seed: 3, failureRate: { put: 1 } });
    expect((await backendError(fault.put('k', Buffer.from('x')))).permanent).toBe(false);
    expect(await fault.stat('k')).toBeUndefined();
    await fault.delete('k');
    expect(await collect(fault.list(''))).toEqual([]);
  });

  it('torn puts throw transient errors and store the whole object or nothing', async () => {
    const inner = new MemoryBackend();
    const fault = new FaultBackend(inner, { seed: 99, tornPutRate: 1 });
    let stored = 0;
    for (let i = 0; i < 40; i++) {
      const data = Buffer.alloc(1000 + i, i);
      const err = await backendError(fault.put(`p/${i}`, data));
      expect(err.permanent).toBe(false);
      const st = await inner.stat(`p/${i}`);
      if (st !== undefined) {
        stored++;
        expect((await inner.get(`p/${i}`)).equals(data)).toBe(true);
      }
    }
    expect(stored).toBeGreaterThan(5);
    expect(stored).toBeLessThan(35);
    expect(fault.faults.put).toBe(40);
  });

  it('a byte quota fails puts permanently like a full disk, counting replacements and deletes', async () => {
    const inner = new MemoryBackend();
    await inner.put('existing', Buffer.alloc(200)); // counted: the quota lists the inner backend first
    const fault = new FaultBackend(inner, { seed: 1, quotaBytes: 1000 });
    await fault.put('a', Buffer.alloc(600));
    const err = await backendError(fault.put('b', Buffer.alloc(300)));
    expect(err.permanent).toBe(true);
    expect(err.message).toMatch(/disk full/);
    expect(await inner.stat('b')).toBeUndefined();
    await fault.put('a', Buffer.alloc(500)); // replacing shrinks usage
    await fault.put('b', Buffer.alloc(300));
    expect(await fault.usedBytes()).toBe(1000);
    await fault.delete('existing');
    await fault.put('c', Buffer.alloc(200));
    // Concurrent puts cannot overshoot together.
    await fault.delete('c');
    const results = await Promise.allSettled([fault.put('x', Buffer.alloc(150)), fault.put('y', Buffer.alloc(150))]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(inner.totalBytes()).toBeLessThanOrEqual(1000);
    fault.configure({ quotaBytes: undefined });
    await fault.put('z', Buffer.alloc(5000));
  });

  it('flips stored bytes through the wrapper and can corrupt reads', async () => {
    const inner = new MemoryBackend();
    const fault = new FaultBackend(inner, { seed: 5 });
    await fault.put('k', Buffer.from([1, 2, 3]));
    await fault.corrupt('k', 0);
    expect([...(await inner.get('k'))]).toEqual([0xfe, 2, 3]);
    await expect(fault.corrupt('k', 3)).rejects.toThrow(/outside/);
    fault.configure({ readCorruptionRate: 1 });
    const got = await fault.get('k');
    expect(got.equals(Buffer.from([0xfe, 2, 3]))).toBe(false);
    expect([...(await inner.get('k'))]).toEqual([0xfe, 2, 3]); // the stored bytes are untouched
  });

  it('adds latency through the injected sleep, and does nothing when disabled', async () => {
    const waits: number[] = [];
    const fault = new FaultBackend(new MemoryBackend(), {
      seed: 11,
      latencyMs: { min: 5, max: 20 },
      failureRate: 1,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    await backendError(fault.stat('k'));
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(5);
    expect(waits[0]).toBeLessThanOrEqual(20);
    fault.enabled = false;
    await fault.put('k', Buffer.from('x'));
    expect(await fault.stat('k')).toEqual({ key: 'k', size: 1 });
    expect(waits).toHaveLength(1);
    expect(fault.calls).toEqual({ put: 1, get: 0, stat: 2, list: 0, delete: 0 });
    fault.resetCounters();
    expect(fault.calls.stat).toBe(0);
  });

  it('fails lists before the first item or part-way through', async () => {
    const inner = new MemoryBackend();
    for (let i = 0; i < 20; i++) await inner.put(`l/${i}`, Buffer.alloc(1));
    const fault = new FaultBackend(inner, { seed: 8, failureRate: { list: 1 } });
    const seenBeforeFailure: number[] = [];
    for (let i = 0; i < 30; i++) {
      let n = 0;
      await expect(
        (async () => {
          for await (const _ of fault.list('l/')) n++;
        })(),
      ).rejects.toBeInstanceOf(BackendError);
      seenBeforeFailure.push(n);
    }
    expect(seenBeforeFailure).toContain(0);
    expect(seenBeforeFailure.some((n) => n > 0)).toBe(true);
    expect(fault.faults.list).toBe(30);
  });
});

// FaultBackend: wraps any Backend and injects the failures real storage has,
// for the engine's own tests: transient errors, torn puts (the put throws but
// the object is either whole or absent, never partial), latency, a byte quota
// that fails like a full disk, corrupted reads and flipped stored bytes.
// Decisions come from a seeded PRNG, so a failing test can be replayed with
// its seed (every injected error message names it). With concurrent calls the
// order of decisions follows the order of calls.

import { randomInt } from 'node:crypto';
import { BackendError, type Backend, type ByteRange, type ObjectInfo } from '../backend.js';
import { mulberry32 } from '../../common/prng.js';

export type BackendOperation = 'put' | 'get' | 'stat' | 'list' | 'delete';
export const BACKEND_OPERATIONS: readonly BackendOperation[] = ['put', 'get', 'stat', 'list', 'delete'];

export interface FaultOptions {
  /** PRNG seed (uint32); random when omitted. Read it back from `fault.seed`. */
  seed?: number;
  /** Probability (0–1) that a call fails with a transient error, for all or per operation. */
  failureRate?: number | Partial<Record<BackendOperation, number>>;
  /** Probability (0–1) that a put is torn: it throws, having stored the whole object or nothing. */
  tornPutRate?: number;
  /** Probability (0–1) that a get returns data with one flipped byte (bad RAM, bad cable). */
  readCorruptionRate?: number;
  /** Added delay per call, fixed or uniformly random in [min, max] ms. */
  latencyMs?: number | { min: number; max: number };
  /** Total bytes the volume may hold; puts beyond it fail like a full disk (permanent). */
  quotaBytes?: number;
  /** How to wait (tests inject a fake). */
  sleep?: (ms: number) => Promise<void>;
}

export type OperationCounts = Record<BackendOperation, number>;

function zeroCounts(): OperationCounts {
  return { put: 0, get: 0, stat: 0, list: 0, delete: 0 };
}

export { mulberry32 };

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class FaultBackend implements Backend {
  readonly location: string;
  readonly seed: number;
  /** Calls per operation (including those that failed). */
  readonly calls: OperationCounts = zeroCounts();
  /** Faults injected per operation (transient errors, torn puts, quota refusals, corrupted reads). */
  readonly faults: OperationCounts = zeroCounts();
  /** Set to false to pass every call straight through (e.g. to verify after a chaotic run). */
  enabled = true;

  private options: FaultOptions;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Sizes of stored objects, known once the quota is first needed. */
  private sizes: Promise<Map<string, number>> | undefined;

  constructor(
    readonly inner: Backend,
    options: FaultOptions = {},
  ) {
    this.location = inner.location;
    this.seed = (options.seed ?? randomInt(2 ** 32 - 1)) >>> 0;
    this.random = mulberry32(this.seed);
    this.sleep = options.sleep ?? defaultSleep;
    this.options = { ...options };
  }

  /** Changes fault settings from now on (the PRNG keeps its sequence). */
  configure(options: Omit<FaultOptions, 'seed' | 'sleep'>): void {
    this.options = { ...this.options, ...options };
  }

  resetCounters(): void {
    for (const op of BACKEND_OPERATIONS) {
      this.calls[op] = 0;
      this.faults[op] = 0;
    }
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    await this.before('put', key);
    const undo = this.enabled && this.options.quotaBytes !== undefined ? await this.reserve(key, data.length) : undefined;
    let stored = false;
    try {
      if (this.enabled && this.chance(this.options.tornPutRate)) {
        this.faults.put++;
        stored = this.random() < 0.5;
        if (stored) await this.storeTracked(key, data);
        throw this.transient(`connection lost ${stored ? 'after' : 'before'} the object was stored`, key);
      }
      await this.storeTracked(key, data);
      stored = true;
    } finally {
      if (!stored) undo?.();
    }
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    await this.before('get', key);
    const data = await this.inner.get(key, range);
    if (this.enabled && data.length > 0 && this.chance(this.options.readCorruptionRate)) {
      this.faults.get++;
      const at = Math.floor(this.random() * data.length);
      data[at] = (data[at] ?? 0) ^ (1 << Math.floor(this.random() * 8));
    }
    return data;
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    await this.before('stat', key);
    return this.inner.stat(key);
  }

  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    this.calls.list++;
    await this.delay();
    // A failing list fails either before its first item or part-way through.
    let failAfter = -1;
    if (this.enabled && this.chance(this.rate('list'))) failAfter = this.random() < 0.5 ? 0 : 1 + Math.floor(this.random() * 8);
    let yielded = 0;
    if (failAfter === 0) throw this.listFault(prefix);
    for await (const info of this.inner.list(prefix)) {
      yield info;
      yielded++;
      if (yielded === failAfter) throw this.listFault(prefix);
    }
  }

  async delete(key: string): Promise<void> {
    await this.before('delete', key);
    await this.inner.delete(key);
    if (this.sizes) (await this.sizes).delete(key);
  }

  async close(): Promise<void> {
    await this.inner.close();
  }

  /** Flips every bit of one stored byte (read, change, write back through the inner backend). */
  async corrupt(key: string, offset: number): Promise<void> {
    const data = await this.inner.get(key);
    if (!Number.isInteger(offset) || offset < 0 || offset >= data.length) {
      throw new Error(`FaultBackend.corrupt: offset ${offset} outside object ${key} (${data.length} bytes)`);
    }
    data[offset] = (data[offset] ?? 0) ^ 0xff;
    await this.inner.put(key, data);
  }

  /** Bytes stored, as the quota counts them (lists the inner backend once). */
  async usedBytes(): Promise<number> {
    let total = 0;
    for (const size of (await this.knownSizes()).values()) total += size;
    return total;
  }

  private async before(op: BackendOperation, key: string): Promise<void> {
    this.calls[op]++;
    await this.delay();
    if (this.enabled && this.chance(this.rate(op))) {
      this.faults[op]++;
      throw this.transient(`${op} failed`, key);
    }
  }

  private async delay(): Promise<void> {
    const latency = this.options.latencyMs;
    if (latency === undefined || !this.enabled) return;
    const ms = typeof latency === 'number' ? latency : latency.min + this.random() * (latency.max - latency.min);
    if (ms > 0) await this.sleep(ms);
  }

  private rate(op: BackendOperation): number {
    const r = this.options.failureRate;
    return typeof r === 'number' ? r : (r?.[op] ?? 0);
  }

  private chance(p: number | undefined): boolean {
    return p !== undefined && p > 0 && this.random() < p;
  }

  private transient(what: string, key: string): BackendError {
    return new BackendError(`volume ${this.location}: injected fault: ${what} for ${key} (fault seed ${this.seed})`, {
      permanent: false,
      key,
    });
  }

  private listFault(prefix: string): BackendError {
    this.faults.list++;
    return this.transient('list failed', prefix === '' ? 'all objects' : prefix);
  }

  private knownSizes(): Promise<Map<string, number>> {
    this.sizes ??= (async () => {
      const sizes = new Map<string, number>();
      for await (const { key, size } of this.inner.list('')) sizes.set(key, size);
      return sizes;
    })();
    return this.sizes;
  }

  /** Refuses a put that would exceed the quota, else counts it at once (so concurrent puts cannot overshoot). */
  private async reserve(key: string, size: number): Promise<() => void> {
    const quota = this.options.quotaBytes ?? Infinity;
    const sizes = await this.knownSizes();
    let used = 0;
    for (const s of sizes.values()) used += s;
    const previous = sizes.get(key);
    if (used - (previous ?? 0) + size > quota) {
      this.faults.put++;
      throw new BackendError(
        `volume ${this.location}: disk full (injected quota of ${quota} bytes, ${used} used) while writing ${key} (fault seed ${this.seed})`,
        { permanent: true, key },
      );
    }
    sizes.set(key, size);
    return () => {
      if (sizes.get(key) !== size) return;
      if (previous === undefined) sizes.delete(key);
      else sizes.set(key, previous);
    };
  }

  private async storeTracked(key: string, data: Uint8Array): Promise<void> {
    await this.inner.put(key, data);
    if (this.sizes) (await this.sizes).set(key, data.length);
  }
}

// RetryBackend: wraps any Backend and retries transient failures
// (BackendError with permanent === false) with exponential backoff and full
// jitter. Permanent errors (not found, invalid key, disk full, permission
// denied) and anything that is not a BackendError (a bug) are never retried.
// Every operation is safe to repeat: puts are atomic and idempotent by the
// contract, deletes are idempotent. A list is retried only if it failed
// before yielding anything, so a caller never sees an object twice.

import { BackendError, type Backend, type ByteRange, type ObjectInfo } from '../backend.js';

export interface RetryOptions {
  /** Total attempts per call, including the first (default 6). */
  attempts?: number;
  /** Backoff cap for the first retry in ms; doubles each retry (default 250). */
  baseDelayMs?: number;
  /** Upper bound for any single wait in ms (default 15 000). */
  maxDelayMs?: number;
  /** How to wait (tests inject a fake). */
  sleep?: (ms: number) => Promise<void>;
  /** Uniform [0, 1) source for jitter (tests inject a fixed one). */
  random?: () => number;
  /** Called before each wait, e.g. to log "retrying in 1.2 s". */
  onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  operation: 'put' | 'get' | 'stat' | 'list' | 'delete';
  key: string;
  /** The attempt that just failed (1 = the first). */
  attempt: number;
  delayMs: number;
  error: BackendError;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `err` is worth retrying. */
export function isTransient(err: unknown): err is BackendError {
  return err instanceof BackendError && !err.permanent;
}

export class RetryBackend implements Backend {
  readonly location: string;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly onRetry: ((info: RetryInfo) => void) | undefined;

  constructor(
    readonly inner: Backend,
    options: RetryOptions = {},
  ) {
    this.location = inner.location;
    this.attempts = Math.max(1, Math.floor(options.attempts ?? 6));
    this.baseDelayMs = Math.max(0, options.baseDelayMs ?? 250);
    this.maxDelayMs = Math.max(0, options.maxDelayMs ?? 15_000);
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.onRetry = options.onRetry;
  }

  put(key: string, data: Uint8Array): Promise<void> {
    return this.retry('put', key, () => this.inner.put(key, data));
  }

  get(key: string, range?: ByteRange): Promise<Buffer> {
    return this.retry('get', key, () => this.inner.get(key, range));
  }

  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.retry('stat', key, () => this.inner.stat(key));
  }

  /**
   * A listing that fails part-way is started again; keys already yielded are
   * skipped, so the caller sees each object once (at the cost of remembering
   * the yielded keys while the listing runs).
   */
  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    const seen = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      try {
        for await (const info of this.inner.list(prefix)) {
          if (seen.has(info.key)) continue;
          seen.add(info.key);
          yield info;
        }
        return;
      } catch (err) {
        await this.backoff('list', prefix, attempt, err);
      }
    }
  }

  delete(key: string): Promise<void> {
    return this.retry('delete', key, () => this.inner.delete(key));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** The wait before retry number `retry` (1 = first retry): full jitter over an exponential cap. */
  delayFor(retry: number): number {
    const cap = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (retry - 1));
    return Math.floor(this.random() * cap);
  }

  private async retry<T>(operation: RetryInfo['operation'], key: string, call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        await this.backoff(operation, key, attempt, err);
      }
    }
  }

  /** Rethrows `err` unless it is transient and attempts remain; otherwise waits. */
  private async backoff(operation: RetryInfo['operation'], key: string, attempt: number, err: unknown): Promise<void> {
    if (!isTransient(err)) throw err;
    if (attempt >= this.attempts) {
      if (this.attempts === 1) throw err;
      throw new BackendError(`${err.message} (gave up after ${attempt} attempts)`, {
        permanent: false,
        notFound: err.notFound,
        key: err.key,
        cause: err,
      });
    }
    const delayMs = this.delayFor(attempt);
    this.onRetry?.({ operation, key, attempt, delayMs, error: err });
    await this.sleep(delayMs);
  }
}

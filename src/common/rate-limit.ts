// A token bucket for `--rate-limit`: a source awaits take(n) for the bytes it
// has just read, and the bucket delays it so the average rate stays at
// `bytesPerSecond` (a burst of up to one second is allowed). Aborts promptly.

import { ArcaError } from '../errors.js';

export class TokenBucket {
  private tokens: number;
  private last = performance.now();
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly bytesPerSecond: number) {
    if (!(bytesPerSecond > 0) || !Number.isFinite(bytesPerSecond)) {
      throw new ArcaError('USAGE', `the rate limit must be a positive number of bytes per second, not ${bytesPerSecond}`);
    }
    this.tokens = 0; // no initial burst: the limit holds from the first byte
  }

  /** Resolves once `n` bytes may pass; callers are served in order. */
  take(n: number, signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.wait(n, signal));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.bytesPerSecond, this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond);
    this.last = now;
  }

  private async wait(n: number, signal?: AbortSignal): Promise<void> {
    this.refill();
    this.tokens -= n; // may go negative: a chunk larger than the bucket still passes, later callers wait
    if (this.tokens >= 0) return;
    const ms = (-this.tokens / this.bytesPerSecond) * 1000;
    await sleep(ms, signal);
    this.refill();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ArcaError('ABORTED', 'backup aborted'));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new ArcaError('ABORTED', 'backup aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Passes `input` through, awaiting `throttle` for each chunk's size before handing it on. */
export async function* throttled(
  input: AsyncIterable<Uint8Array>,
  throttle: (n: number) => Promise<void>,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of input) {
    await throttle(chunk.length);
    yield chunk;
  }
}

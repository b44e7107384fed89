// A counting semaphore: at most `limit` S3 requests in flight per backend, so
// a burst of puts or ranged gets from the layers above queues here instead of
// opening hundreds of sockets (or tripping the server's rate limits).

export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`Limiter: limit must be a positive integer, not ${limit}`);
  }

  /** Runs `fn` once a slot is free; the slot is held until its promise settles. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // hand the slot over directly
      else this.active--;
    }
  }

  /** Requests running now (for tests). */
  get inFlight(): number {
    return this.active;
  }
}

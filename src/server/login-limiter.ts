// Failed-login throttling: after `maxFailures` failed logins within `windowMs`
// for one user name, or from one client address, further logins for it are
// refused (429 with Retry-After) until the oldest of those failures is older
// than the window, even with the right password, so guessing cannot go on.
// In memory (per server process), bounded, with an injected clock for tests.

export interface LoginLimiterOptions {
  maxFailures?: number;
  windowMs?: number;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  /** At most this many keys are remembered (the oldest are forgotten first). */
  maxKeys?: number;
}

export type LimiterKey = `user:${string}` | `address:${string}`;

export class LoginLimiter {
  readonly maxFailures: number;
  readonly windowMs: number;
  private readonly now: () => number;
  private readonly maxKeys: number;
  /** Failure times per key, oldest first (insertion order of the Map = least recently failed first). */
  private readonly failures = new Map<LimiterKey, number[]>();

  constructor(options: LoginLimiterOptions = {}) {
    this.maxFailures = options.maxFailures ?? 5;
    this.windowMs = options.windowMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
    this.maxKeys = options.maxKeys ?? 10_000;
  }

  private recent(key: LimiterKey, now: number): number[] {
    const times = this.failures.get(key);
    if (!times) return [];
    const kept = times.filter((t) => now - t < this.windowMs);
    if (kept.length === 0) this.failures.delete(key);
    else if (kept.length !== times.length) this.failures.set(key, kept);
    return kept;
  }

  /** Seconds until a login for any of `keys` is allowed again; 0 when it is allowed now. */
  retryAfterSeconds(keys: readonly LimiterKey[]): number {
    const now = this.now();
    let waitMs = 0;
    for (const key of keys) {
      const times = this.recent(key, now);
      if (times.length < this.maxFailures) continue;
      // Allowed again once enough failures have left the window.
      const freeAt = times[times.length - this.maxFailures]! + this.windowMs;
      waitMs = Math.max(waitMs, freeAt - now);
    }
    return waitMs > 0 ? Math.ceil(waitMs / 1000) : 0;
  }

  /** Records one failed login against every key. */
  fail(keys: readonly LimiterKey[]): void {
    const now = this.now();
    for (const key of keys) {
      const times = this.recent(key, now);
      this.failures.delete(key);
      this.failures.set(key, [...times.slice(-(this.maxFailures * 2)), now]);
    }
    while (this.failures.size > this.maxKeys) {
      const oldest = this.failures.keys().next().value;
      if (oldest === undefined) break;
      this.failures.delete(oldest);
    }
  }

  /** A successful login clears the user's failures (not the address's). */
  succeed(user: string): void {
    this.failures.delete(`user:${user}`);
  }
}

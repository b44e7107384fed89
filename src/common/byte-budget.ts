// A counting semaphore over bytes: bounds how much data is in flight between
// pipeline stages. The caller decides what to do when it does not fit
// (typically: free something, then wait for the next release). One request
// larger than the whole budget fits when nothing else is held.

export class ByteBudget {
  private used = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.used;
  }

  tryAcquire(n: number): boolean {
    if (this.used !== 0 && this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }

  /** Resolves at the next release. */
  nextRelease(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Swaps `from` held bytes for `to` (memory that changed form); never waits. */
  exchange(from: number, to: number): void {
    this.used += to;
    this.release(from);
  }

  release(n: number): void {
    this.used -= n;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

// A counting semaphore over bytes: bounds how much data is in flight between
// pipeline stages. One request larger than the whole budget is let through
// when nothing else is in flight, so it can never deadlock.

export class ByteBudget {
  private used = 0;
  private readonly waiters: Array<{ n: number; resolve: () => void }> = [];

  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.used;
  }

  async acquire(n: number): Promise<void> {
    if (this.fits(n) && this.waiters.length === 0) {
      this.used += n;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push({ n, resolve }));
  }

  release(n: number): void {
    this.used -= n;
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.n)) {
      const w = this.waiters.shift()!;
      this.used += w.n;
      w.resolve();
    }
  }

  private fits(n: number): boolean {
    return this.used === 0 || this.used + n <= this.limit;
  }
}

// A byte rate over a sliding window of samples (progress lines, the job
// registry's ETA), so a stall shows quickly.

/** Rate over a sliding window of samples, so a stall shows quickly. */
export class RateMeter {
  private samples: Array<{ t: number; bytes: number }> = [];

  constructor(
    private readonly windowMs = 5000,
    private readonly minSpanMs = 500,
  ) {}

  add(t: number, bytes: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last && bytes < last.bytes) this.samples = []; // a new phase restarted the count
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - (this.samples[1]?.t ?? t) >= this.windowMs) this.samples.shift();
  }

  reset(): void {
    this.samples = [];
  }

  rate(): number | null {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.t - first.t < this.minSpanMs) return null;
    return ((last.bytes - first.bytes) * 1000) / (last.t - first.t);
  }
}

// Turns byte counts into throttled ProgressEvents for a job's listener.

import type { OnProgress, ProgressEvent } from './types.js';

export class ProgressMeter {
  private bytesDone = 0;
  private itemsDone = 0;
  private last = 0;

  constructor(
    private readonly phase: ProgressEvent['phase'],
    private bytesTotal: number | null,
    private readonly listener: OnProgress | undefined,
    private readonly intervalMs = 200,
  ) {}

  /** Sets the total once it is known (an estimate that answers after the job started). */
  setTotal(bytes: number | null): void {
    this.bytesTotal = bytes;
  }

  add(bytes: number, items = 0): void {
    this.bytesDone += bytes;
    this.itemsDone += items;
    const now = Date.now();
    if (this.listener && now - this.last >= this.intervalMs) {
      this.last = now;
      this.emit();
    }
  }

  done(): void {
    this.emit();
  }

  private emit(): void {
    this.listener?.({ phase: this.phase, bytesDone: this.bytesDone, bytesTotal: this.bytesTotal, itemsDone: this.itemsDone, itemsTotal: null });
  }
}

// The checksum (stream-checksum.ts) of a whole table's COPY stream when its
// parts (key ranges) are read or written in parallel. It cannot be computed
// piecewise, so the bytes are hashed in stream order: the part at the head is
// hashed as it flows; a later part's pieces are held until every earlier part
// has ended.
// Held bytes are bounded by a budget shared by every table: a part that is
// not at the head waits when the budget is full (its connection is then
// simply not read: TCP backpressure). That cannot deadlock as long as parts
// are started in order: the head part has started, never waits, and its end
// releases what the next one held.

import { CHECKSUM_ALGORITHM, streamChecksum, type ChecksumAlgorithm, type RecordedChecksum, type StreamChecksum } from '../../content/stream-checksum.js';
import { ArcaError } from '../../errors.js';

/** Bytes of not-yet-hashed pieces all OrderedHash instances may hold together. */
export class HeldBytes {
  held = 0;
  private waiters: Array<() => void> = [];
  private failure: unknown;

  constructor(readonly limit: number) {}

  /** Resolves when held bytes drop or the budget fails. */
  async changed(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.failure !== undefined) throw this.failure;
  }

  take(n: number): void {
    this.held += n;
  }

  release(n: number): void {
    this.held -= n;
    this.wake();
  }

  /** Wakes every waiter with `err` (after a failure elsewhere, so no part waits forever). */
  fail(err: unknown): void {
    this.failure ??= err ?? new ArcaError('ABORTED', 'aborted');
    this.wake();
  }

  wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

export class OrderedHash {
  private readonly hash: StreamChecksum;
  private head = 0;
  private readonly ended: boolean[];
  private readonly queued: Buffer[][];

  constructor(
    readonly parts: number,
    private readonly budget: HeldBytes,
    algorithm: ChecksumAlgorithm = CHECKSUM_ALGORITHM,
  ) {
    this.hash = streamChecksum(algorithm);
    this.ended = new Array<boolean>(parts).fill(false);
    this.queued = Array.from({ length: parts }, () => []);
  }

  /**
   * Adds the next piece of part `i`. Hashes it at once when `i` is the head;
   * otherwise holds it and, while the shared budget is over its limit, waits
   * (for the head to move on or for others to release bytes). A held piece is
   * copied, so the caller may reuse `piece` once this resolves.
   */
  async add(i: number, piece: Buffer): Promise<void> {
    if (i === this.head) {
      this.hash.update(piece);
      return;
    }
    this.queued[i]!.push(Buffer.from(piece));
    this.budget.take(piece.length);
    while (i !== this.head && this.budget.held > this.budget.limit) await this.budget.changed();
  }

  /** Part `i` has no more pieces; hashes what later parts held as the head moves on. */
  end(i: number): void {
    this.ended[i] = true;
    while (this.head < this.parts && this.ended[this.head]) {
      this.head++;
      if (this.head < this.parts) this.drain(this.head);
    }
    this.budget.wake();
  }

  private drain(i: number): void {
    const q = this.queued[i]!;
    let n = 0;
    for (const piece of q) {
      this.hash.update(piece);
      n += piece.length;
    }
    q.length = 0;
    if (n > 0) this.budget.release(n);
  }

  /** Hex checksum of all parts in order; only once every part has ended. */
  digest(): string {
    if (this.head !== this.parts) throw new ArcaError('INTERNAL', `ordered hash: ${this.parts - this.head} part(s) not ended`);
    return this.hash.digest();
  }

  /** The checksum as stats record it (see digest). */
  record(): RecordedChecksum {
    this.digest();
    return this.hash.record();
  }
}

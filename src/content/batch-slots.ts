// Shared memory between the blob pool and one worker: a few slots, each a
// request area the main thread fills in place (the batch's blobs, copied
// once) and a reply area the worker writes (ids, sealed blobs, opened
// plaintext). Only small descriptors travel by postMessage; a slot's
// SharedArrayBuffers are sent once, and again only when one had to grow for
// an unusually large batch. The main thread owns which slots are free: a slot
// is busy from the moment its batch is posted until the reply has been
// consumed, so neither side ever writes memory the other is reading.

import { ArcaError } from '../errors.js';

/** A slot's areas as sent to the worker: only the ones that are new or grew. */
export interface SlotAttach {
  request?: SharedArrayBuffer;
  reply?: SharedArrayBuffer;
}

interface Slot {
  request: SharedArrayBuffer;
  reply: SharedArrayBuffer;
  requestView: Buffer;
  replyView: Buffer;
  /** Areas not yet sent to the worker. */
  unsent: SlotAttach;
  busy: boolean;
}

const viewOf = (sab: SharedArrayBuffer): Buffer => Buffer.from(sab);

/** Rounds up to a multiple of 64 KiB, so growth does not happen by a few bytes at a time. */
const roundUp = (n: number): number => Math.ceil(Math.max(n, 1) / 65536) * 65536;

/** The main thread's side: which slots are free, and their areas. */
export class BatchSlots {
  private readonly slots: Slot[] = [];

  constructor(count: number, requestBytes: number, replyBytes: number) {
    if (!Number.isInteger(count) || count < 1) throw new ArcaError('INTERNAL', `batch slots: need at least one slot, got ${count}`);
    for (let i = 0; i < count; i++) {
      const request = new SharedArrayBuffer(roundUp(requestBytes));
      const reply = new SharedArrayBuffer(roundUp(replyBytes));
      this.slots.push({ request, reply, requestView: viewOf(request), replyView: viewOf(reply), unsent: { request, reply }, busy: false });
    }
  }

  get count(): number {
    return this.slots.length;
  }

  /** Slots now busy. */
  get busy(): number {
    let n = 0;
    for (const s of this.slots) if (s.busy) n++;
    return n;
  }

  /** Takes a free slot, or returns -1 when all are busy. */
  acquire(): number {
    const i = this.slots.findIndex((s) => !s.busy);
    if (i >= 0) this.slots[i]!.busy = true;
    return i;
  }

  /** Gives a slot back once its reply has been consumed. */
  release(i: number): void {
    const s = this.slot(i);
    if (!s.busy) throw new ArcaError('INTERNAL', `batch slot ${i} released twice`);
    s.busy = false;
  }

  /**
   * Makes a busy slot's areas at least this large (growing replaces an area:
   * its old bytes are not kept) and returns the request area to fill.
   */
  prepare(i: number, requestBytes: number, replyBytes: number): Buffer {
    const s = this.slot(i);
    if (!s.busy) throw new ArcaError('INTERNAL', `batch slot ${i} is not taken`);
    if (s.request.byteLength < requestBytes) {
      s.request = new SharedArrayBuffer(roundUp(requestBytes));
      s.requestView = viewOf(s.request);
      s.unsent.request = s.request;
    }
    if (s.reply.byteLength < replyBytes) {
      s.reply = new SharedArrayBuffer(roundUp(replyBytes));
      s.replyView = viewOf(s.reply);
      s.unsent.reply = s.reply;
    }
    return s.requestView;
  }

  /** The areas the worker does not have yet (to post with the batch); clears the record. */
  takeUnsent(i: number): SlotAttach {
    const s = this.slot(i);
    const out = s.unsent;
    s.unsent = {};
    return out;
  }

  /** The reply area of a slot (valid while the slot is busy). */
  reply(i: number): Buffer {
    return this.slot(i).replyView;
  }

  private slot(i: number): Slot {
    const s = this.slots[i];
    if (!s) throw new ArcaError('INTERNAL', `no batch slot ${i}`);
    return s;
  }
}

/** The worker's side: the areas of each slot, as last sent. */
export class SlotViews {
  private readonly requests: Buffer[] = [];
  private readonly replies: Buffer[] = [];

  attach(i: number, a: SlotAttach): void {
    if (a.request) this.requests[i] = viewOf(a.request);
    if (a.reply) this.replies[i] = viewOf(a.reply);
  }

  request(i: number): Buffer {
    const v = this.requests[i];
    if (!v) throw new ArcaError('INTERNAL', `worker has no request area for slot ${i}`);
    return v;
  }

  reply(i: number): Buffer {
    const v = this.replies[i];
    if (!v) throw new ArcaError('INTERNAL', `worker has no reply area for slot ${i}`);
    return v;
  }
}

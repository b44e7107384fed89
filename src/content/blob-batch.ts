// The wire format between the blob pool and its workers: a batch of requests
// lives in a shared-memory slot (batch-slots.ts) the main thread filled in
// place, and the worker writes its results into the same slot's reply area;
// postMessage carries only the small descriptors below (and a slot's
// SharedArrayBuffers the first time, or after one grew), because moving
// buffers costs tens of microseconds of main-thread time per message.

import type { ErrorCode } from '../errors.js';
import { BLOB_ID_BYTES, sealedBlobBound } from './blob-codec.js';
import type { SlotAttach } from './batch-slots.js';

/**
 * One request; its bytes are request[off, off+len), or — for a `store` with
 * `shared` — bytes [off, off+len) of the shared buffer with that number (a
 * chunk slab, read where the chunk was cut: no copy into the slot).
 * - `store`: compute the blob id; seal the blob unless the shared known-id set
 *   (if any) says the volume holds it.
 * - `open`: decrypt and verify; the blob id is request[idOff, idOff+32).
 */
export type BatchItem =
  | { seq: number; op: 'store'; off: number; len: number; shared?: number }
  | { seq: number; op: 'open'; off: number; len: number; idOff: number; rawLength: number };

export interface BatchRequest {
  slot: number;
  items: BatchItem[];
  /** The slot's areas, when the worker does not have them yet. */
  attach: SlotAttach;
  /** Shared buffers items refer to that the worker has not seen yet, by number (kept until the worker ends). */
  share?: Array<{ id: number; buffer: SharedArrayBuffer }>;
}

/**
 * A reply, in the slot's reply area. For `store`: the id is reply[idOff,
 * idOff+32) and the sealed blob reply[off, off+len), or len = -1 when the
 * known-id set said "already stored". For `open`: the plaintext is
 * reply[off, off+len).
 */
export type ReplyItem =
  | { seq: number; ok: true; off: number; len: number; idOff: number }
  | { seq: number; ok: false; code: ErrorCode; message: string };

export interface BatchReply {
  slot: number;
  items: ReplyItem[];
}

/** Control messages to a worker, outside batches. */
export type ControlMessage = { control: 'known-ids'; buffer: SharedArrayBuffer | null };

/** Request-area bytes an item takes (its bytes, and an open's id). */
export function requestBytesOf(op: 'store' | 'open', len: number): number {
  return op === 'store' ? len : len + BLOB_ID_BYTES;
}

/** Reply-area bytes an item may need: id + sealed bound for a store, the plaintext for an open. */
export function replyBytesOf(op: 'store' | 'open', len: number, rawLength: number): number {
  return op === 'store' ? BLOB_ID_BYTES + sealedBlobBound(len) : rawLength;
}

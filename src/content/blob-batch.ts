// The wire format between the blob pool and its workers: a batch of requests
// (or replies) travels as ONE ArrayBuffer plus small descriptors, because each
// transferred buffer costs tens of microseconds on the main thread — more than
// sealing a 16 KiB chunk's share of the work.

import type { ErrorCode } from '../errors.js';

/**
 * One request; its bytes are data[off, off+len).
 * - `store`: compute the blob id; seal the blob unless the shared known-id set
 *   (if any) says the volume holds it.
 * - `open`: decrypt and verify; the blob id is data[idOff, idOff+32).
 */
export type BatchItem =
  | { seq: number; op: 'store'; off: number; len: number }
  | { seq: number; op: 'open'; off: number; len: number; idOff: number; rawLength: number };

export interface BatchRequest {
  items: BatchItem[];
  data: ArrayBuffer;
}

/**
 * A reply. For `store`: the id is data[idOff, idOff+32) and the sealed blob
 * data[off, off+len), or len = -1 when the known-id set said "already stored".
 * For `open`: the plaintext is data[off, off+len).
 */
export type ReplyItem =
  | { seq: number; ok: true; off: number; len: number; idOff: number }
  | { seq: number; ok: false; code: ErrorCode; message: string };

export interface BatchReply {
  items: ReplyItem[];
  data: ArrayBuffer;
}

/** Control messages to a worker, outside batches. */
export type ControlMessage = { control: 'known-ids'; buffer: SharedArrayBuffer | null };

/** Packs buffers into one fresh ArrayBuffer; returns it and each part's offset. */
export function packBuffers(parts: readonly Uint8Array[]): { data: ArrayBuffer; offsets: number[] } {
  let total = 0;
  for (const p of parts) total += p.byteLength;
  const data = new ArrayBuffer(total);
  const view = new Uint8Array(data);
  const offsets: number[] = [];
  let at = 0;
  for (const p of parts) {
    offsets.push(at);
    view.set(p, at);
    at += p.byteLength;
  }
  return { data, offsets };
}

// Worker-thread body of the blob pool: for batches of blobs in a shared slot
// (batch-slots.ts), computes ids and seals (compression + encryption) what the
// volume may not hold yet, or opens (decryption + decompression + id check),
// writing the results into the slot's reply area — all off the main thread.

import { parentPort, workerData } from 'node:worker_threads';
import { ArcaError, isArcaError } from '../errors.js';
import { BLOB_ID_BYTES, BlobCodec } from './blob-codec.js';
import { KnownIds } from './known-ids.js';
import { lowerCurrentThread } from '../common/priority.js';
import { SlotViews } from './batch-slots.js';
import type { BatchItem, BatchReply, BatchRequest, ControlMessage, ReplyItem } from './blob-batch.js';

interface Init {
  encKey: Uint8Array;
  idKey: Uint8Array;
  zstdLevel: number;
  /** Renice this thread to this value (the server's jobs: common/priority.ts); null: keep the creator's. */
  nice: number | null;
}

const init = workerData as Init;
if (init.nice !== null) lowerCurrentThread(init.nice);
const codec = new BlobCodec({ encKey: Buffer.from(init.encKey), idKey: Buffer.from(init.idKey) }, init.zstdLevel);
const slots = new SlotViews();
/** Shared buffers (chunk slabs) that store items read in place, by number. */
const shared = new Map<number, Buffer>();
let known: KnownIds | undefined;

/** Runs one item, writing its results into `out` from `at`; returns the reply and the next free offset. */
function runItem(item: BatchItem, data: Buffer, out: Buffer, at: number): [ReplyItem, number] {
  const bytes = sourceOf(item, data).subarray(item.off, item.off + item.len);
  if (item.op === 'store') {
    if (at + BLOB_ID_BYTES > out.length) throw new ArcaError('INTERNAL', 'blob id does not fit the reply area');
    codec.idInto(bytes, out, at);
    if (known?.has(out.subarray(at, at + BLOB_ID_BYTES))) return [{ seq: item.seq, ok: true, idOff: at, off: 0, len: -1 }, at + BLOB_ID_BYTES];
    const len = codec.sealInto(bytes, out, at + BLOB_ID_BYTES);
    return [{ seq: item.seq, ok: true, idOff: at, off: at + BLOB_ID_BYTES, len }, at + BLOB_ID_BYTES + len];
  }
  const plain = codec.open(data.subarray(item.idOff, item.idOff + BLOB_ID_BYTES), bytes, item.rawLength);
  if (at + plain.length > out.length) throw new ArcaError('INTERNAL', 'opened blob does not fit the reply area');
  out.set(plain, at);
  return [{ seq: item.seq, ok: true, idOff: -1, off: at, len: plain.length }, at + plain.length];
}

/** The memory an item's off/len refer to: a shared buffer, or the slot's request area. */
function sourceOf(item: BatchItem, data: Buffer): Buffer {
  if (item.op !== 'store' || item.shared === undefined) return data;
  const buf = shared.get(item.shared);
  if (!buf) throw new ArcaError('INTERNAL', `worker has no shared buffer ${item.shared}`);
  return buf;
}

function onBatch(req: BatchRequest): void {
  slots.attach(req.slot, req.attach);
  for (const { id, buffer } of req.share ?? []) shared.set(id, Buffer.from(buffer));
  const data = slots.request(req.slot);
  const out = slots.reply(req.slot);
  const items: ReplyItem[] = [];
  let at = 0;
  for (const item of req.items) {
    try {
      const [reply, next] = runItem(item, data, out, at);
      items.push(reply);
      at = next;
    } catch (err) {
      const code = isArcaError(err) ? err.code : 'INTERNAL';
      items.push({ seq: item.seq, ok: false, code, message: err instanceof Error ? err.message : String(err) });
    }
  }
  const reply: BatchReply = { slot: req.slot, items };
  parentPort?.postMessage(reply);
}

parentPort?.on('message', (msg: BatchRequest | ControlMessage) => {
  if ('control' in msg) {
    known = msg.buffer ? KnownIds.attach(msg.buffer) : undefined;
    return;
  }
  onBatch(msg);
});

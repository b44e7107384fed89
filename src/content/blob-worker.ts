// Worker-thread body of the blob pool: for batches of blobs, computes ids and
// seals (compression + encryption) what the volume may not hold yet, or opens
// (decryption + decompression + id check) — all off the main thread.

import { parentPort, workerData } from 'node:worker_threads';
import { isArcaError } from '../errors.js';
import { blobId, openBlob, sealBlob } from './blob-codec.js';
import { KnownIds } from './known-ids.js';
import { packBuffers, type BatchReply, type BatchRequest, type ControlMessage, type ReplyItem } from './blob-batch.js';

interface Init {
  encKey: Uint8Array;
  idKey: Uint8Array;
  zstdLevel: number;
}

const init = workerData as Init;
const keys = { encKey: Buffer.from(init.encKey), idKey: Buffer.from(init.idKey) };
let known: KnownIds | undefined;

function onBatch(req: BatchRequest): void {
  const data = Buffer.from(req.data);
  const parts: Buffer[] = [];
  const items: Array<ReplyItem | { seq: number; ok: true; part: number; idPart: number; skipped: boolean }> = [];
  for (const item of req.items) {
    try {
      const bytes = data.subarray(item.off, item.off + item.len);
      if (item.op === 'store') {
        const id = blobId(keys.idKey, bytes);
        const skipped = known?.has(id) ?? false;
        parts.push(id, skipped ? Buffer.alloc(0) : sealBlob(keys.encKey, bytes, init.zstdLevel));
        items.push({ seq: item.seq, ok: true, idPart: parts.length - 2, part: parts.length - 1, skipped });
      } else {
        parts.push(openBlob(keys, data.subarray(item.idOff, item.idOff + 32), bytes, item.rawLength));
        items.push({ seq: item.seq, ok: true, idPart: -1, part: parts.length - 1, skipped: false });
      }
    } catch (err) {
      const code = isArcaError(err) ? err.code : 'INTERNAL';
      items.push({ seq: item.seq, ok: false, code, message: err instanceof Error ? err.message : String(err) });
    }
  }
  const packed = packBuffers(parts);
  const reply: BatchReply = {
    data: packed.data,
    items: items.map((it) => {
      if (!it.ok || !('part' in it)) return it;
      const len = it.skipped ? -1 : parts[it.part]!.length;
      return { seq: it.seq, ok: true, off: packed.offsets[it.part]!, len, idOff: it.idPart >= 0 ? packed.offsets[it.idPart]! : -1 };
    }),
  };
  parentPort?.postMessage(reply, [packed.data]);
}

parentPort?.on('message', (msg: BatchRequest | ControlMessage) => {
  if ('control' in msg) {
    known = msg.buffer ? KnownIds.attach(msg.buffer) : undefined;
    return;
  }
  onBatch(msg);
});

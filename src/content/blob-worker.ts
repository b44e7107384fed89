// Worker-thread body of the blob pool: seals and opens blobs off the main
// thread (compression + encryption, decryption + decompression + id check).

import { parentPort, workerData } from 'node:worker_threads';
import { isArcaError } from '../errors.js';
import { openBlob, sealBlob } from './blob-codec.js';
import type { WorkerReply, WorkerRequest } from './blob-pool.js';

interface Init {
  encKey: Uint8Array;
  idKey: Uint8Array;
  zstdLevel: number;
}

const init = workerData as Init;
const keys = { encKey: Buffer.from(init.encKey), idKey: Buffer.from(init.idKey) };

function handle(req: WorkerRequest): WorkerReply {
  try {
    if (req.op === 'seal') {
      const out = sealBlob(keys.encKey, req.plaintext, init.zstdLevel);
      return { seq: req.seq, ok: true, data: out };
    }
    const plain = openBlob(keys, req.id, req.sealed, req.rawLength);
    return { seq: req.seq, ok: true, data: plain };
  } catch (err) {
    const code = isArcaError(err) ? err.code : 'INTERNAL';
    return { seq: req.seq, ok: false, code, message: err instanceof Error ? err.message : String(err) };
  }
}

parentPort?.on('message', (batch: WorkerRequest[]) => {
  const replies = batch.map(handle);
  // Move result memory back when a buffer owns its whole ArrayBuffer; others are copied.
  const transfer: ArrayBuffer[] = [];
  for (const r of replies) {
    if (!r.ok) continue;
    const d = r.data;
    if (d.byteOffset === 0 && d.byteLength === d.buffer.byteLength && d.buffer instanceof ArrayBuffer) transfer.push(d.buffer);
  }
  parentPort?.postMessage(replies, transfer);
});

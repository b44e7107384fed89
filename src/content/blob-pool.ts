// A pool of worker threads that store (hash, then compress + encrypt unless
// the volume holds the blob) and open (decrypt + decompress + verify) blobs,
// so both cores stay busy and the main thread only chunks and routes. Callers
// bound their own in-flight work; the pool queues FIFO and never drops a request.
// Batches travel through shared-memory slots (batch-slots.ts): the blobs are
// copied once into a slot, the worker writes its results back into the slot.
// A blob to store that already lives in shared memory (a chunk cut into a
// chunk slab) is not copied: the worker reads it in place, by the shared
// buffer's number (sent to each worker once).

import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ArcaError } from '../errors.js';
import type { ContentKeys } from './keys.js';
import { blobId, openBlob, sealBlob } from './blob-codec.js';
import { KnownIds } from './known-ids.js';
import { BatchSlots } from './batch-slots.js';
import { replyBytesOf, requestBytesOf, type BatchItem, type BatchReply, type BatchRequest, type ControlMessage } from './blob-batch.js';
import { jobThreadNice } from '../common/priority.js';

/**
 * What `store` learned: the blob's id, and its sealed bytes unless the
 * known-id set said the volume holds it. With worker threads both are views
 * into shared memory that is reused from the next macrotask turn on: copy
 * what you keep, before awaiting anything else.
 */
export interface StoreResult {
  id: Buffer;
  sealed: Buffer | null;
}

interface Pending {
  resolve: (r: StoreResult | Buffer) => void;
  reject: (e: Error) => void;
  /** Where an opened blob's plaintext goes (open's `into`); else a Buffer of its own. */
  into?: Buffer;
}

type RequestBody =
  | { op: 'store'; plaintext: Uint8Array }
  | { op: 'open'; id: Uint8Array; sealed: Uint8Array; rawLength: number };

/**
 * How to start a worker: the compiled .js next to this file, or — when running
 * from TypeScript sources (tests, tsx) — a tiny bootstrap that registers tsx's
 * loader inside the worker and then imports the .ts worker.
 */
function workerSpec(): { entry: string | URL; eval: boolean } {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return { entry: new URL('./blob-worker.js', self), eval: false };
  // tsx's ESM entry sits beside the CommonJS one that require.resolve finds.
  const tsxApi = pathToFileURL(createRequire(self).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const worker = new URL('./blob-worker.ts', self).href;
  const code = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(worker)}); });`;
  return { entry: code, eval: true };
}

/** Batches (slots) in flight per worker. */
const PIPELINE_DEPTH = 4;
/** A batch's blob bytes (one larger blob gets a batch of its own, and its slot grows). */
const BATCH_BYTES = 1 << 20;
const BATCH_ITEMS = 64;
const REPLY_BYTES = BATCH_BYTES + BATCH_ITEMS * 64;

export interface BlobPoolOptions {
  /** Number of worker threads; 0 runs everything on the calling thread. Default: CPU count. */
  threads?: number;
  zstdLevel: number;
}

/** True when `bytes` lives in shared memory a worker can read in place. */
function isShared(bytes: Uint8Array): bytes is Uint8Array & { buffer: SharedArrayBuffer } {
  return bytes.buffer instanceof SharedArrayBuffer;
}

export class BlobPool {
  private readonly workers: Worker[] = [];
  private readonly queue: Array<{ seq: number; body: RequestBody }> = [];
  private readonly pending = new Map<number, Pending>();
  /** Each worker's shared-memory slots; a busy slot is a batch in flight. */
  private readonly slots = new Map<Worker, BatchSlots>();
  private seq = 0;
  private queuedBytes = 0;
  /** Numbers of the shared buffers store items refer to, and which each worker has been sent. */
  private readonly sharedIds = new WeakMap<SharedArrayBuffer, number>();
  private readonly sharedSent = new Map<Worker, WeakSet<SharedArrayBuffer>>();
  private nextSharedId = 0;
  private flushScheduled = false;
  private closed = false;
  private failure: Error | undefined;
  private known: KnownIds | null = null;

  constructor(
    private readonly keys: ContentKeys,
    private readonly opts: BlobPoolOptions,
  ) {
    const n = opts.threads ?? Math.max(1, Math.min(availableParallelism(), 8));
    const spec = workerSpec();
    for (let i = 0; i < n; i++) {
      const w = new Worker(spec.entry, {
        eval: spec.eval,
        workerData: { encKey: keys.encKey, idKey: keys.idKey, zstdLevel: opts.zstdLevel, nice: jobThreadNice() },
      });
      w.on('message', (reply: BatchReply) => this.onReplies(w, reply));
      w.on('error', (err) => this.onCrash(err));
      w.on('exit', (code) => {
        if (!this.closed) this.onCrash(new Error(`blob worker exited with code ${code}`));
      });
      this.workers.push(w);
      this.slots.set(w, new BatchSlots(PIPELINE_DEPTH, BATCH_BYTES, REPLY_BYTES));
      this.sharedSent.set(w, new WeakSet());
    }
  }

  get threads(): number {
    return this.workers.length;
  }

  /**
   * Tells the workers which blob ids the volume holds (a hint for `store`), or
   * null to seal everything. Applies to requests submitted after this call.
   */
  setKnownIds(known: KnownIds | null): void {
    this.known = known;
    const msg: ControlMessage = { control: 'known-ids', buffer: known ? known.buffer : null };
    for (const w of this.workers) w.postMessage(msg);
  }

  /**
   * Computes a blob's id and, unless the known-id set says the volume holds
   * it, compresses (when it pays) and encrypts it. The bytes are copied into
   * the next batch's slot; results are views into the slot (see StoreResult).
   */
  store(plaintext: Uint8Array): Promise<StoreResult> {
    if (this.workers.length === 0) {
      return this.inline(() => {
        const id = blobId(this.keys.idKey, plaintext);
        return { id, sealed: this.known?.has(id) ? null : sealBlob(this.keys.encKey, plaintext, this.opts.zstdLevel) };
      });
    }
    return this.submit({ op: 'store', plaintext }) as Promise<StoreResult>;
  }

  /**
   * Decrypts, decompresses and verifies one blob against its id. With `into`
   * (exactly rawLength bytes), the plaintext is written there and `into` is
   * the result: a reader that puts many blobs side by side (a run of a
   * stream) then allocates one buffer, not one per blob and another to join
   * them (each ~1 GB per GB restored, and V8 collects for external memory).
   */
  open(id: Uint8Array, sealed: Uint8Array, rawLength: number, into?: Buffer): Promise<Buffer> {
    if (into !== undefined && into.length !== rawLength) return Promise.reject(new ArcaError('INTERNAL', `open: ${into.length} bytes to write ${rawLength} into`));
    if (this.workers.length === 0) {
      return this.inline(() => {
        const plain = openBlob(this.keys, id, sealed, rawLength);
        if (!into) return plain;
        into.set(plain);
        return into;
      });
    }
    return this.submit({ op: 'open', id, sealed, rawLength }, into) as Promise<Buffer>;
  }

  async close(): Promise<void> {
    this.closed = true;
    const err = new ArcaError('ABORTED', 'blob pool closed');
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.queue.length = 0;
    this.queuedBytes = 0;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private inline<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private submit(body: RequestBody, into?: Buffer): Promise<StoreResult | Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new ArcaError('ABORTED', 'blob pool closed'));
    const seq = ++this.seq;
    return new Promise<StoreResult | Buffer>((resolve, reject) => {
      this.pending.set(seq, into ? { resolve, reject, into } : { resolve, reject });
      this.queue.push({ seq, body });
      this.queuedBytes += body.op === 'store' ? body.plaintext.byteLength : body.sealed.byteLength;
      this.pump();
    });
  }

  /**
   * Posts queued requests in batches, up to PIPELINE_DEPTH batches per worker:
   * a worker keeps working from its own message queue even while the main
   * thread is busy in a long run of microtasks and cannot take replies, and
   * batching keeps the per-message cost off the main thread. Only full
   * batches are posted at once; a partial one waits for the next macrotask
   * turn (`force`), even when a worker is idle: posting each blob to an idle
   * worker as it came made batches of one blob when the workers kept up, and
   * cost ~35 µs of main-thread time per blob (2 s per GB, decision 0006).
   */
  private pump(force = false): void {
    while (this.queue.length > 0) {
      let w: Worker | undefined;
      let least = PIPELINE_DEPTH;
      for (const cand of this.workers) {
        const d = this.slots.get(cand)!.busy;
        if (d < least) {
          least = d;
          w = cand;
        }
      }
      if (!w) return;
      const full = this.queuedBytes >= BATCH_BYTES || this.queue.length >= BATCH_ITEMS;
      if (!full && !force) {
        this.scheduleFlush();
        return;
      }
      const slots = this.slots.get(w)!;
      const slot = slots.acquire();
      const taken: Array<{ seq: number; body: RequestBody }> = [];
      let bytes = 0;
      let requestBytes = 0;
      let replyBytes = 0;
      while (this.queue.length > 0 && taken.length < BATCH_ITEMS) {
        const { body } = this.queue[0]!;
        const len = body.op === 'store' ? body.plaintext.byteLength : body.sealed.byteLength;
        if (taken.length > 0 && bytes + len > BATCH_BYTES) break;
        taken.push(this.queue.shift()!);
        bytes += len;
        if (!(body.op === 'store' && isShared(body.plaintext))) requestBytes += requestBytesOf(body.op, len);
        replyBytes += replyBytesOf(body.op, len, body.op === 'open' ? body.rawLength : 0);
      }
      // The bytes are copied once, into the slot the worker reads.
      const area = slots.prepare(slot, requestBytes, replyBytes);
      const items: BatchItem[] = [];
      const share: Array<{ id: number; buffer: SharedArrayBuffer }> = [];
      let at = 0;
      for (const { seq, body } of taken) {
        if (body.op === 'store' && isShared(body.plaintext)) {
          const shared = this.shareWith(w, body.plaintext.buffer, share);
          items.push({ seq, op: 'store', off: body.plaintext.byteOffset, len: body.plaintext.byteLength, shared });
        } else if (body.op === 'store') {
          area.set(body.plaintext, at);
          items.push({ seq, op: 'store', off: at, len: body.plaintext.byteLength });
          at += body.plaintext.byteLength;
        } else {
          area.set(body.sealed, at);
          area.set(body.id, at + body.sealed.byteLength);
          items.push({ seq, op: 'open', off: at, len: body.sealed.byteLength, idOff: at + body.sealed.byteLength, rawLength: body.rawLength });
          at += body.sealed.byteLength + body.id.byteLength;
        }
      }
      this.queuedBytes -= bytes;
      const request: BatchRequest = { slot, items, attach: slots.takeUnsent(slot), ...(share.length > 0 ? { share } : {}) };
      w.postMessage(request);
    }
  }

  /** The number of a shared buffer; added to `share` when worker `w` has not been sent it yet. */
  private shareWith(w: Worker, buffer: SharedArrayBuffer, share: Array<{ id: number; buffer: SharedArrayBuffer }>): number {
    let id = this.sharedIds.get(buffer);
    if (id === undefined) {
      id = this.nextSharedId++;
      this.sharedIds.set(buffer, id);
    }
    const sent = this.sharedSent.get(w)!;
    if (!sent.has(buffer)) {
      sent.add(buffer);
      share.push({ id, buffer });
    }
    return id;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.pump(true);
    });
  }

  private onReplies(w: Worker, reply: BatchReply): void {
    const slots = this.slots.get(w)!;
    const data = slots.reply(reply.slot);
    for (const item of reply.items) {
      const p = this.pending.get(item.seq);
      this.pending.delete(item.seq);
      if (!p) continue;
      if (!item.ok) p.reject(new ArcaError(item.code, item.message));
      // Opened plaintext is kept by readers: copied out of the slot (the worker checked its length).
      else if (item.idOff < 0) {
        const plain = data.subarray(item.off, item.off + item.len);
        if (!p.into) p.resolve(Buffer.from(plain));
        else if (plain.length !== p.into.length) p.reject(new ArcaError('INTERNAL', `opened ${plain.length} bytes for ${p.into.length}`));
        else {
          p.into.set(plain);
          p.resolve(p.into);
        }
      }
      else p.resolve({ id: data.subarray(item.idOff, item.idOff + 32), sealed: item.len < 0 ? null : data.subarray(item.off, item.off + item.len) });
    }
    // The results above are views into the slot: it is reused only after the
    // callers' promise reactions (microtasks) have run.
    setImmediate(() => {
      slots.release(reply.slot);
      this.pump();
    });
  }

  private onCrash(err: Error): void {
    if (this.closed) return;
    this.failure = new ArcaError('INTERNAL', `a blob worker failed: ${err.message}`, { cause: err });
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
    this.queue.length = 0;
  }
}

// A pool of worker threads that seal (compress + encrypt) and open (decrypt +
// decompress + verify) blobs, so both cores stay busy. Callers bound their own
// in-flight work; the pool queues FIFO and never drops a request.

import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ArcaError, type ErrorCode } from '../errors.js';
import type { ContentKeys } from './keys.js';
import { openBlob, sealBlob } from './blob-codec.js';

export type WorkerRequest =
  | { seq: number; op: 'seal'; plaintext: Uint8Array }
  | { seq: number; op: 'open'; id: Uint8Array; sealed: Uint8Array; rawLength: number };

export type WorkerReply =
  | { seq: number; ok: true; data: Uint8Array }
  | { seq: number; ok: false; code: ErrorCode | 'INTERNAL'; message: string };

interface Pending {
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
}

type RequestBody =
  | { op: 'seal'; plaintext: Uint8Array }
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

function ownsBuffer(d: Uint8Array): boolean {
  return d.byteOffset === 0 && d.byteLength === d.buffer.byteLength && d.buffer instanceof ArrayBuffer;
}

const PIPELINE_DEPTH = 4;
const BATCH_BYTES = 1 << 20;
const BATCH_ITEMS = 64;

export interface BlobPoolOptions {
  /** Number of worker threads; 0 runs everything on the calling thread. Default: CPU count. */
  threads?: number;
  zstdLevel: number;
}

export class BlobPool {
  private readonly workers: Worker[] = [];
  private readonly queue: Array<{ seq: number; body: RequestBody }> = [];
  private readonly pending = new Map<number, Pending>();
  /** Requests posted to each worker and not yet answered. */
  private readonly depth = new Map<Worker, number>();
  private seq = 0;
  private queuedBytes = 0;
  private flushScheduled = false;
  private closed = false;
  private failure: Error | undefined;

  constructor(
    private readonly keys: ContentKeys,
    private readonly opts: BlobPoolOptions,
  ) {
    const n = opts.threads ?? Math.max(1, Math.min(availableParallelism(), 8));
    const spec = workerSpec();
    for (let i = 0; i < n; i++) {
      const w = new Worker(spec.entry, {
        eval: spec.eval,
        workerData: { encKey: keys.encKey, idKey: keys.idKey, zstdLevel: opts.zstdLevel },
      });
      w.on('message', (replies: WorkerReply[]) => this.onReplies(w, replies));
      w.on('error', (err) => this.onCrash(err));
      w.on('exit', (code) => {
        if (!this.closed) this.onCrash(new Error(`blob worker exited with code ${code}`));
      });
      this.workers.push(w);
      this.depth.set(w, 0);
    }
  }

  get threads(): number {
    return this.workers.length;
  }

  /**
   * Compresses (when it pays) and encrypts one blob. The pool takes ownership
   * of `plaintext`: when it owns its whole ArrayBuffer, that memory is moved to
   * the worker (no copy) and the caller must not touch it again. (`open` moves
   * `sealed` the same way.)
   */
  seal(plaintext: Uint8Array): Promise<Buffer> {
    if (this.workers.length === 0) return this.inline(() => sealBlob(this.keys.encKey, plaintext, this.opts.zstdLevel));
    return this.submit({ op: 'seal', plaintext });
  }

  /** Decrypts, decompresses and verifies one blob against its id. */
  open(id: Uint8Array, sealed: Uint8Array, rawLength: number): Promise<Buffer> {
    if (this.workers.length === 0) return this.inline(() => openBlob(this.keys, id, sealed, rawLength));
    return this.submit({ op: 'open', id, sealed, rawLength });
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

  private inline(fn: () => Buffer): Promise<Buffer> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private submit(body: RequestBody): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new ArcaError('ABORTED', 'blob pool closed'));
    const seq = ++this.seq;
    return new Promise<Buffer>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.queue.push({ seq, body });
      this.queuedBytes += body.op === 'seal' ? body.plaintext.byteLength : body.sealed.byteLength;
      this.pump();
    });
  }

  /**
   * Posts queued requests in batches, up to PIPELINE_DEPTH batches per worker:
   * a worker keeps working from its own message queue even while the main
   * thread is busy in a long run of microtasks and cannot take replies, and
   * batching keeps the per-message cost off the main thread. A small batch is
   * posted at once only to an idle worker; otherwise it waits for the queue to
   * fill or for the next macrotask turn.
   */
  private pump(force = false): void {
    while (this.queue.length > 0) {
      let w: Worker | undefined;
      let least = PIPELINE_DEPTH;
      for (const cand of this.workers) {
        const d = this.depth.get(cand)!;
        if (d < least) {
          least = d;
          w = cand;
        }
      }
      if (!w) return;
      const full = this.queuedBytes >= BATCH_BYTES || this.queue.length >= BATCH_ITEMS;
      if (!full && !force && least > 0) {
        this.scheduleFlush();
        return;
      }
      const batch: WorkerRequest[] = [];
      const transfer: ArrayBuffer[] = [];
      let bytes = 0;
      while (this.queue.length > 0 && bytes < BATCH_BYTES && batch.length < BATCH_ITEMS) {
        const { seq, body } = this.queue.shift()!;
        const data = body.op === 'seal' ? body.plaintext : body.sealed;
        bytes += data.byteLength;
        // Structured clone copies a view's WHOLE ArrayBuffer (a 16 MiB pack for
        // one blob read from it), so a view that does not own its memory is
        // copied down to its own bytes first; owned memory is moved, not copied.
        const owned = ownsBuffer(data) ? data : new Uint8Array(data); // a copy (Buffer#slice would be a view)
        transfer.push(owned.buffer as ArrayBuffer);
        batch.push(body.op === 'seal' ? { seq, op: 'seal', plaintext: owned } : { seq, op: 'open', id: body.id, sealed: owned, rawLength: body.rawLength });
      }
      this.queuedBytes -= bytes;
      this.depth.set(w, least + 1);
      w.postMessage(batch, transfer);
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.pump(true);
    });
  }

  private onReplies(w: Worker, replies: WorkerReply[]): void {
    this.depth.set(w, this.depth.get(w)! - 1);
    for (const reply of replies) {
      const p = this.pending.get(reply.seq);
      this.pending.delete(reply.seq);
      if (!p) continue;
      if (reply.ok) p.resolve(Buffer.from(reply.data.buffer, reply.data.byteOffset, reply.data.byteLength));
      else p.reject(new ArcaError(reply.code, reply.message));
    }
    this.pump();
  }

  private onCrash(err: Error): void {
    if (this.closed) return;
    this.failure = new ArcaError('INTERNAL', `a blob worker failed: ${err.message}`, { cause: err });
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
    this.queue.length = 0;
  }
}

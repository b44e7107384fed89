// A writer's session on a volume: deduplicates blobs against the index, seals
// them in the worker pool, groups them into packs by type, uploads packs, and
// writes index objects after the packs they name (format §6, §7, §9). Memory is
// bounded by a byte budget that covers a blob's raw bytes while it is sealed,
// then its sealed bytes until its pack is stored. Write order: packs → index → manifest.

import { sealBlob } from '../content/blob-codec.js';
import type { BlobPool } from '../content/blob-pool.js';
import { KnownIds } from '../content/known-ids.js';
import { AAD, SEAL_OVERHEAD } from '../content/seal.js';
import { ArcaError } from '../errors.js';
import { ByteBudget } from '../common/byte-budget.js';
import { BlobType } from './pack/pack-footer.js';
import { PackBuilder, type FinishedPack } from './pack/pack-builder.js';
import { encodeIndexObject } from './index/index-object.js';
import { indexKey, packKey, snapshotKey } from './object-keys.js';
import type { Repository } from './repository.js';
import type { Manifest } from './manifest.js';
import { SessionLease } from './session-lease.js';
import { BlobIndex } from './index/blob-index.js';

const NO_PACK = Buffer.alloc(32);
/** Pack buffers kept for reuse once their packs are stored (each about a pack's size). */
const SPARE_PACK_BUFFERS = 2;

export interface WriteSessionOptions {
  purpose: string;
  pool: BlobPool;
  signal?: AbortSignal;
  /** `--rate-limit`: awaited with the size of each piece of source data before it is stored. */
  throttle?: (n: number) => Promise<void>;
  /** Bytes of blobs in flight (sealing, in open packs, uploading). Default 2 packs. */
  budgetBytes?: number;
}

interface OpenPack {
  builder: PackBuilder;
  reserved: number;
}

export class WriteSession {
  /** Bytes newly written to the volume by this session (packs, index, manifest). */
  bytesAdded = 0;
  blobsAdded = 0;
  blobsReused = 0;
  private readonly lease: SessionLease;
  private readonly budget: ByteBudget;
  private readonly open = new Map<BlobType, OpenPack>();
  /** Every blob this session submitted (a compact set: no string per chunk). */
  private readonly submitted = new BlobIndex();
  private readonly pending = new Set<Promise<void>>();
  private unindexed: FinishedPack[] = [];
  /** Buffers of stored packs, for the next packs (the backend let go of them when put() resolved). */
  private readonly spareBuffers: Buffer[] = [];
  /** Free chunk slabs, shared by the streams this session saves (stream-saver.ts, ChunkSlabs). */
  readonly freeSlabs: Buffer[] = [];
  private indexChain: Promise<void> = Promise.resolve();
  private failure: unknown;
  private sealing = 0;
  private sealWaiters: Array<() => void> = [];
  private ended = false;

  constructor(
    readonly repo: Repository,
    private readonly opts: WriteSessionOptions,
  ) {
    this.lease = new SessionLease(repo.backend, repo.keys.encKey, opts.purpose);
    this.budget = new ByteBudget(opts.budgetBytes ?? 2 * repo.config.packSize);
  }

  get throttle(): ((n: number) => Promise<void>) | undefined {
    return this.opts.throttle;
  }

  get sessionId(): string {
    return this.lease.idHex;
  }

  /**
   * Stores the lease, THEN loads the index and tombstones (format §10): a
   * prune that does not see this lease listed its sessions before the lease
   * existed, so its tombstone was already stored and this load sees it.
   */
  async start(): Promise<void> {
    await this.lease.start();
    try {
      await this.repo.loadIndex();
    } catch (err) {
      await this.end().catch(() => undefined);
      throw err;
    }
    // Workers skip sealing blobs the volume already holds (a hint they share).
    const index = this.repo.index;
    const tombstoned = this.repo.tombstonedPacks;
    this.opts.pool.setKnownIds(
      KnownIds.build(index.size, (add) => index.forEach((id, loc) => (tombstoned.has(loc.packIdHex) ? undefined : add(id)))),
    );
  }

  /** True when the volume holds the blob in a pack no tombstone names (so this session may reference it). */
  has(id: Uint8Array): boolean {
    const loc = this.repo.index.get(id);
    return loc !== undefined && !this.repo.tombstonedPacks.has(loc.packIdHex);
  }

  /** True when a tombstone named packs at start: reused ids (a parent's) must then be checked with has(). */
  get hasTombstones(): boolean {
    return this.repo.tombstonedPacks.size > 0;
  }

  /**
   * Stores a blob unless the volume already has it. Resolves once the blob is
   * admitted (memory budget), with a promise of its id (wrapped, as promises flatten): hashing and sealing
   * happen in the worker pool, so a caller with many blobs (a stream) submits
   * them all and awaits the ids at the end. Takes ownership of `plaintext`.
   */
  async submit(type: BlobType, plaintext: Buffer): Promise<{ id: Promise<Buffer> }> {
    this.throwIfStopped();
    const rawLength = plaintext.length;
    await this.reserve(rawLength);
    this.throwIfStopped();
    this.sealing++;
    const id = this.opts.pool
      .store(plaintext)
      .then(({ id, sealed }) => {
        if (this.has(id) || !this.submitted.add(id, NO_PACK, type, 0, 0, 0)) {
          this.blobsReused++;
          this.budget.release(rawLength);
          return Buffer.from(id);
        }
        // A known-id hint the real index does not confirm (a fingerprint collision): seal here.
        const bytes = sealed ?? sealBlob(this.repo.keys.encKey, plaintext, this.repo.config.compression.level);
        const kept = this.addSealed(type, Buffer.from(id), bytes, rawLength);
        this.budget.exchange(rawLength, kept ? bytes.length : 0);
        return Buffer.from(id);
      })
      .catch((err: unknown) => {
        this.fail(err);
        this.budget.release(rawLength);
        throw err;
      })
      .finally(() => {
        this.sealing--;
        const waiters = this.sealWaiters;
        this.sealWaiters = [];
        for (const w of waiters) w();
      });
    this.track(id.then(() => undefined, () => undefined));
    return { id };
  }

  /** Stores a blob unless the volume already has it; resolves to its id. */
  async putBlob(type: BlobType, plaintext: Buffer): Promise<Buffer> {
    return (await this.submit(type, plaintext)).id;
  }

  /**
   * Waits until `n` bytes fit in the budget. Budget comes back when packs are
   * stored; if nothing is sealing and the budget is all in open packs (data
   * that compressed well fills a pack slowly), those packs are closed now.
   */
  private async reserve(n: number): Promise<void> {
    while (!this.budget.tryAcquire(n)) {
      const released = this.budget.nextRelease();
      if (this.sealing === 0) for (const type of [...this.open.keys()]) this.closePack(type);
      await Promise.race([released, this.sealed()]);
      this.throwIfStopped();
    }
  }

  /** Resolves when any blob now sealing has been added to a pack. */
  private sealed(): Promise<void> {
    return new Promise((resolve) => this.sealWaiters.push(resolve));
  }

  /** Seals and stores everything submitted so far; writes the final index object. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    this.throwIfStopped();
    for (const type of [...this.open.keys()]) this.closePack(type);
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    this.throwIfStopped();
    await this.queueIndexFlush(true);
    this.throwIfStopped();
  }

  /** Flushes, writes the manifest (the backup now exists), and ends the session. */
  async commit(manifest: Omit<Manifest, 'bytesAdded' | 'session'>): Promise<Manifest> {
    await this.flush();
    const full: Manifest = { ...manifest, session: this.sessionId, bytesAdded: this.bytesAdded };
    // bytesAdded includes the manifest's own sealed size, which depends on the
    // digits of bytesAdded: iterate to the fixed point (two rounds at most).
    for (;;) {
      const total = this.bytesAdded + Buffer.byteLength(JSON.stringify(full)) + SEAL_OVERHEAD;
      if (total === full.bytesAdded) break;
      full.bytesAdded = total;
    }
    this.throwIfStopped();
    this.lease.assertFresh();
    const size = await this.repo.putSealedJson(snapshotKey(manifest.id), AAD.manifest, full);
    this.bytesAdded += size;
    await this.end();
    return full;
  }

  /**
   * Stops the session. Packs already stored get an index object (best effort),
   * so the next backup reuses them; the rest is garbage for prune.
   */
  async abort(): Promise<void> {
    this.failure ??= new ArcaError('ABORTED', 'backup aborted');
    await Promise.allSettled([...this.pending]);
    await this.indexChain.catch(() => undefined);
    await this.writeIndex().catch(() => undefined);
    await this.end();
  }

  private async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.lease.end();
  }

  /** Adds a sealed blob to its type's open pack; false when the session already failed. */
  private addSealed(type: BlobType, id: Buffer, sealed: Buffer, rawLength: number): boolean {
    if (this.failure) return false;
    let open = this.open.get(type);
    if (!open) {
      const hint = type === BlobType.data ? this.repo.config.packSize + (1 << 20) : 1 << 20;
      const spare = this.spareBuffers.findIndex((b) => b.length >= hint);
      const reuse = spare >= 0 ? this.spareBuffers.splice(spare, 1)[0] : undefined;
      open = { builder: new PackBuilder(type, hint, reuse), reserved: 0 };
      this.open.set(type, open);
    }
    open.builder.add(id, sealed, rawLength);
    open.reserved += sealed.length;
    if (open.builder.byteLength >= this.repo.config.packSize) this.closePack(type);
    return true;
  }

  private closePack(type: BlobType): void {
    const open = this.open.get(type);
    this.open.delete(type);
    if (!open || open.builder.count === 0) return;
    const pack = open.builder.finish(this.repo.keys.encKey);
    const task = this.repo.backend
      .put(packKey(pack.idHex), pack.bytes)
      .then(() => {
        this.bytesAdded += pack.bytes.length;
        this.blobsAdded += pack.entries.length;
        for (const e of pack.entries) {
          this.repo.index.add(e.id, pack.id, e.type, e.offset, e.length, e.rawLength);
        }
        pack.bytes = Buffer.alloc(0);
        if (this.spareBuffers.length < SPARE_PACK_BUFFERS) this.spareBuffers.push(open.builder.buffer);
        this.unindexed.push(pack);
        // Index every stored pack at once, so a killed backup loses at most the
        // packs in flight; index writes are chained, so packs stored while one
        // is written share the next index object. (Prune compacts index objects.)
        void this.queueIndexFlush(false);
      })
      .catch((err: unknown) => this.fail(err))
      .finally(() => this.budget.release(open.reserved));
    this.track(task);
  }

  /** Index objects are written one at a time, each naming only stored packs. */
  private queueIndexFlush(final: boolean): Promise<void> {
    const run = async () => {
      if (this.failure && !final) return;
      await this.writeIndex();
    };
    this.indexChain = this.indexChain.then(run).catch((err: unknown) => this.fail(err));
    return this.indexChain;
  }

  private async writeIndex(): Promise<void> {
    const packs = this.unindexed;
    if (packs.length === 0) return;
    this.unindexed = [];
    const plain = encodeIndexObject({ sessionId: this.lease.id, superseded: [], packs: packs.map((p) => ({ id: p.id, entries: p.entries })) });
    const stored = await this.repo.putSealedContent(indexKey, AAD.index, plain);
    this.bytesAdded += stored.size;
  }

  private track(task: Promise<void>): void {
    this.pending.add(task);
    void task.finally(() => this.pending.delete(task));
  }

  private fail(err: unknown): void {
    this.failure ??= err;
  }

  private throwIfStopped(): void {
    if (this.opts.signal?.aborted) this.failure ??= new ArcaError('ABORTED', 'backup aborted');
    if (this.failure) throw this.failure;
  }
}

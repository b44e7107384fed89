// Every index entry prune needs, in growable typed arrays (about 60 bytes an
// entry): unlike the reader's BlobIndex it keeps a blob that is stored in
// several packs once per pack, and remembers which index object named it, so
// prune can tell which packs hold what and rewrite the index without them.

import { BlobIndex } from '../index/blob-index.js';
import type { BlobType, PackEntry } from '../pack/pack-footer.js';

export interface TableObject {
  key: string;
  hashHex: string;
  /** Hex id of the session that wrote it. */
  session: string;
  superseded: string[];
  size: number;
}

export class EntryTable {
  readonly objects: TableObject[] = [];
  readonly packHex: string[] = [];
  private readonly packNo = new Map<string, number>();
  /** The index object whose entries count for each pack (the first live one that lists it). */
  private packSource = new Int32Array(0);
  private readonly supersededHashes = new Set<string>();
  private n = 0;
  private cap = 0;
  private ids = new Uint8Array(0);
  private pack = new Uint32Array(0);
  private obj = new Uint32Array(0);
  private offset = new Uint32Array(0);
  private length = new Uint32Array(0);
  private raw = new Uint32Array(0);
  private type = new Uint8Array(0);
  /** Entry numbers grouped by pack (built by seal()). */
  private byPackStart = new Uint32Array(0);
  private byPack = new Uint32Array(0);

  constructor() {
    this.grow(1024);
  }

  get size(): number {
    return this.n;
  }

  addObject(o: TableObject, packs: ReadonlyArray<{ id: Buffer; entries: readonly PackEntry[] }>): void {
    const objNo = this.objects.length;
    this.objects.push(o);
    for (const p of packs) {
      const pn = this.intern(p.id.toString('hex'));
      for (const e of p.entries) {
        if (this.n === this.cap) this.grow(this.cap * 2);
        const i = this.n++;
        this.ids.set(e.id, i * 32);
        this.pack[i] = pn;
        this.obj[i] = objNo;
        this.offset[i] = e.offset;
        this.length[i] = e.length;
        this.raw[i] = e.rawLength;
        this.type[i] = e.type;
      }
    }
  }

  /**
   * Call once all objects are in: drops entries of superseded objects and
   * duplicates of a pack listed by two objects, and groups entries by pack.
   */
  seal(): void {
    const superseded = this.supersededHashes;
    for (const o of this.objects) for (const h of o.superseded) superseded.add(h);
    this.packSource = new Int32Array(this.packHex.length).fill(-1);
    for (let i = 0; i < this.n; i++) {
      const p = this.pack[i]!;
      const o = this.obj[i]!;
      if (this.packSource[p] === -1 && !superseded.has(this.objects[o]!.hashHex)) this.packSource[p] = o;
    }
    const counts = new Uint32Array(this.packHex.length + 1);
    for (let i = 0; i < this.n; i++) if (this.counts(i)) counts[this.pack[i]! + 1]!++;
    for (let p = 0; p < this.packHex.length; p++) counts[p + 1]! += counts[p]!;
    this.byPackStart = counts.slice();
    this.byPack = new Uint32Array(counts[this.packHex.length]!);
    const fill = counts.slice(0, this.packHex.length);
    for (let i = 0; i < this.n; i++) if (this.counts(i)) this.byPack[fill[this.pack[i]!]!++] = i;
  }

  /** True when index object `objNo` is superseded by another one (readers ignore it). */
  isSuperseded(objNo: number): boolean {
    return this.supersededHashes.has(this.objects[objNo]!.hashHex);
  }

  /** Packs with at least one entry that counts (hex ids). */
  indexedPacks(): string[] {
    return this.packHex.filter((_h, p) => this.packSource[p]! >= 0);
  }

  /** The entries that count for a pack, as entry numbers. */
  entriesOf(packHex: string): Uint32Array {
    const p = this.packNo.get(packHex);
    if (p === undefined || this.packSource[p]! < 0) return new Uint32Array(0);
    return this.byPack.subarray(this.byPackStart[p]!, this.byPackStart[p + 1]!);
  }

  /** Sessions (hex) of the objects that list a pack (live ones protect it). */
  sessionsOf(packHex: string, into: Set<string>): void {
    const p = this.packNo.get(packHex);
    if (p === undefined) return;
    const src = this.packSource[p]!;
    if (src >= 0) into.add(this.objects[src]!.session);
  }

  /** The object whose entries count for a pack, or -1. */
  sourceOf(packHex: string): number {
    const p = this.packNo.get(packHex);
    return p === undefined ? -1 : this.packSource[p]!;
  }

  /** The reader's index of the same entries (tombstoned packs last, as Repository.loadIndex does). */
  toBlobIndex(tombstoned: ReadonlySet<string>): BlobIndex {
    const index = new BlobIndex(Math.max(1024, this.n));
    for (const last of [false, true]) {
      this.packHex.forEach((hex, p) => {
        if (this.packSource[p]! < 0 || tombstoned.has(hex) !== last) return;
        const packId = Buffer.from(hex, 'hex');
        for (const i of this.entriesOf(hex)) index.add(this.id(i), packId, this.type[i] as BlobType, this.offset[i]!, this.length[i]!, this.raw[i]!);
      });
    }
    return index;
  }

  id(i: number): Uint8Array {
    return this.ids.subarray(i * 32, i * 32 + 32);
  }

  entry(i: number): PackEntry {
    return { id: Buffer.from(this.id(i)), type: this.type[i] as BlobType, offset: this.offset[i]!, length: this.length[i]!, rawLength: this.raw[i]! };
  }

  lengthOf(i: number): number {
    return this.length[i]!;
  }

  private counts(i: number): boolean {
    return this.packSource[this.pack[i]!] === this.obj[i];
  }

  private intern(hex: string): number {
    let p = this.packNo.get(hex);
    if (p === undefined) {
      p = this.packHex.length;
      this.packHex.push(hex);
      this.packNo.set(hex, p);
    }
    return p;
  }

  private grow(cap: number): void {
    const copy = <T extends Uint8Array | Uint32Array>(old: T, make: (k: number) => T, width = 1): T => {
      const a = make(cap * width);
      a.set(old.subarray(0, this.n * width));
      return a;
    };
    this.ids = copy(this.ids, (k) => new Uint8Array(k), 32);
    this.pack = copy(this.pack, (k) => new Uint32Array(k));
    this.obj = copy(this.obj, (k) => new Uint32Array(k));
    this.offset = copy(this.offset, (k) => new Uint32Array(k));
    this.length = copy(this.length, (k) => new Uint32Array(k));
    this.raw = copy(this.raw, (k) => new Uint32Array(k));
    this.type = copy(this.type, (k) => new Uint8Array(k));
    this.cap = cap;
  }
}

// The in-memory index: blob id → (pack, offset, length, rawLength, type), kept in
// growable typed arrays with an open-addressing hash table over the ids (about
// 60 bytes per blob, not a Map of hex strings). Blob ids are HMACs, so their
// first 4 bytes are already a uniform hash.

import type { BlobType } from '../pack/pack-footer.js';

export interface BlobLocation {
  packId: Buffer;
  packIdHex: string;
  type: BlobType;
  offset: number;
  length: number;
  rawLength: number;
}

export class BlobIndex {
  private cap = 0;
  private n = 0;
  private ids = new Uint8Array(0);
  private pack = new Uint32Array(0);
  private offset = new Uint32Array(0);
  private length = new Uint32Array(0);
  private rawLength = new Uint32Array(0);
  private type = new Uint8Array(0);
  private table = new Int32Array(0); // entry index + 1; 0 = empty
  private readonly packIds: Buffer[] = [];
  private readonly packHex: string[] = [];
  private readonly packNo = new Map<string, number>();

  constructor(initialCapacity = 1024) {
    this.grow(Math.max(16, initialCapacity));
  }

  get size(): number {
    return this.n;
  }

  get packCount(): number {
    return this.packIds.length;
  }

  /** Adds a location for `id` unless one is already known; returns true when added. */
  add(id: Uint8Array, packId: Buffer, type: BlobType, offset: number, length: number, rawLength: number): boolean {
    if (this.find(id) >= 0) return false;
    if ((this.n + 1) * 2 > this.table.length || this.n + 1 > this.cap) this.grow(this.cap * 2);
    const i = this.n++;
    this.ids.set(id, i * 32);
    this.pack[i] = this.internPack(packId);
    this.offset[i] = offset;
    this.length[i] = length;
    this.rawLength[i] = rawLength;
    this.type[i] = type;
    this.insertSlot(i);
    return true;
  }

  has(id: Uint8Array): boolean {
    return this.find(id) >= 0;
  }

  get(id: Uint8Array): BlobLocation | undefined {
    const i = this.find(id);
    if (i < 0) return undefined;
    const p = this.pack[i]!;
    return {
      packId: this.packIds[p]!,
      packIdHex: this.packHex[p]!,
      type: this.type[i] as BlobType,
      offset: this.offset[i]!,
      length: this.length[i]!,
      rawLength: this.rawLength[i]!,
    };
  }

  /** Every pack id (hex) the index points into. */
  packs(): string[] {
    return [...this.packHex];
  }

  /** Calls `fn` for every entry (id is a view valid only during the call). */
  forEach(fn: (id: Uint8Array, loc: BlobLocation) => void): void {
    for (let i = 0; i < this.n; i++) {
      const id = this.ids.subarray(i * 32, i * 32 + 32);
      const p = this.pack[i]!;
      fn(id, {
        packId: this.packIds[p]!,
        packIdHex: this.packHex[p]!,
        type: this.type[i] as BlobType,
        offset: this.offset[i]!,
        length: this.length[i]!,
        rawLength: this.rawLength[i]!,
      });
    }
  }

  private internPack(packId: Buffer): number {
    const hex = packId.toString('hex');
    let p = this.packNo.get(hex);
    if (p === undefined) {
      p = this.packIds.length;
      this.packIds.push(packId);
      this.packHex.push(hex);
      this.packNo.set(hex, p);
    }
    return p;
  }

  private hash(id: Uint8Array): number {
    return (id[0]! | (id[1]! << 8) | (id[2]! << 16) | (id[3]! << 24)) >>> 0;
  }

  private find(id: Uint8Array): number {
    const mask = this.table.length - 1;
    for (let s = this.hash(id) & mask; ; s = (s + 1) & mask) {
      const e = this.table[s]!;
      if (e === 0) return -1;
      const i = e - 1;
      if (this.idEquals(i, id)) return i;
    }
  }

  private idEquals(i: number, id: Uint8Array): boolean {
    const base = i * 32;
    for (let k = 0; k < 32; k++) if (this.ids[base + k] !== id[k]) return false;
    return true;
  }

  private insertSlot(i: number): void {
    const mask = this.table.length - 1;
    const id = this.ids.subarray(i * 32, i * 32 + 32);
    let s = this.hash(id) & mask;
    while (this.table[s] !== 0) s = (s + 1) & mask;
    this.table[s] = i + 1;
  }

  private grow(cap: number): void {
    const copy = <T extends Uint8Array | Uint32Array>(old: T, make: (n: number) => T, width = 1): T => {
      const a = make(cap * width);
      a.set(old.subarray(0, this.n * width));
      return a;
    };
    this.ids = copy(this.ids, (k) => new Uint8Array(k), 32);
    this.pack = copy(this.pack, (k) => new Uint32Array(k));
    this.offset = copy(this.offset, (k) => new Uint32Array(k));
    this.length = copy(this.length, (k) => new Uint32Array(k));
    this.rawLength = copy(this.rawLength, (k) => new Uint32Array(k));
    this.type = copy(this.type, (k) => new Uint8Array(k));
    this.cap = cap;
    let tableSize = 16;
    while (tableSize < cap * 2) tableSize *= 2;
    this.table = new Int32Array(tableSize);
    for (let i = 0; i < this.n; i++) this.insertSlot(i);
  }
}

// A read-only set of blob-id fingerprints in shared memory, built once per
// write session from the volume's index, so worker threads can skip sealing
// blobs the volume already holds. A hit is only a hint: the main thread checks
// the full id against the real index before trusting it (a false hit costs a
// second round trip, never a wrong backup).

/** 64-bit fingerprints (the id's first 8 bytes) in an open-addressing table. */
export class KnownIds {
  private readonly slots: Uint32Array;
  private readonly mask: number;

  private constructor(readonly buffer: SharedArrayBuffer) {
    this.slots = new Uint32Array(buffer);
    this.mask = this.slots.length / 2 - 1;
  }

  /** Builds the set from ids given one by one (views are read at once). */
  static build(count: number, each: (add: (id: Uint8Array) => void) => void): KnownIds {
    let size = 16;
    while (size < count * 2) size *= 2;
    const set = new KnownIds(new SharedArrayBuffer(size * 8));
    each((id) => set.insert(id));
    return set;
  }

  /** The same set in another thread. */
  static attach(buffer: SharedArrayBuffer): KnownIds {
    return new KnownIds(buffer);
  }

  has(id: Uint8Array): boolean {
    const [a, b] = fingerprint(id);
    for (let s = a & this.mask; ; s = (s + 1) & this.mask) {
      const x = this.slots[s * 2]!;
      const y = this.slots[s * 2 + 1]!;
      if (x === 0 && y === 0) return false;
      if (x === a && y === b) return true;
    }
  }

  private insert(id: Uint8Array): void {
    const [a, b] = fingerprint(id);
    let s = a & this.mask;
    for (;;) {
      const x = this.slots[s * 2]!;
      const y = this.slots[s * 2 + 1]!;
      if (x === 0 && y === 0) break;
      if (x === a && y === b) return;
      s = (s + 1) & this.mask;
    }
    this.slots[s * 2] = a;
    this.slots[s * 2 + 1] = b;
  }
}

function fingerprint(id: Uint8Array): [number, number] {
  const a = (id[0]! | (id[1]! << 8) | (id[2]! << 16) | (id[3]! << 24)) >>> 0;
  const b = (id[4]! | (id[5]! << 8) | (id[6]! << 16) | (id[7]! << 24)) >>> 0;
  return a === 0 && b === 0 ? [1, 0] : [a, b];
}

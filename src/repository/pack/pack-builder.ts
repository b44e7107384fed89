// Builds one pack in memory: sealed blobs appended, then the sealed footer and
// its length (format §6). The pack id is the SHA-256 of the finished bytes.
// Blobs are copied into one growing buffer as they come, so a finished pack
// is held once (no parts + concatenation at the end). The buffer may be a
// reused one (a write session keeps a few once their packs are stored).

import { createHash } from 'node:crypto';
import { AAD, seal } from '../../content/seal.js';
import { encodeFooter, type BlobType, type PackEntry } from './pack-footer.js';

export interface FinishedPack {
  id: Buffer;
  idHex: string;
  bytes: Buffer;
  entries: PackEntry[];
}

export class PackBuilder {
  private buf: Buffer;
  private readonly entries: PackEntry[] = [];
  private size = 0;

  /** `reuse`: a buffer to build in (its old bytes are overwritten), used when it holds at least `capacityHint`. */
  constructor(
    readonly type: BlobType,
    capacityHint = 1 << 20,
    reuse?: Buffer,
  ) {
    this.buf = reuse && reuse.length >= capacityHint ? reuse : Buffer.allocUnsafeSlow(capacityHint);
  }

  /** The whole buffer the pack is built in (the finished bytes are its start), for reuse once they are stored. */
  get buffer(): Buffer {
    return this.buf;
  }

  get byteLength(): number {
    return this.size;
  }

  get count(): number {
    return this.entries.length;
  }

  add(id: Buffer, sealed: Uint8Array, rawLength: number): void {
    this.entries.push({ type: this.type, id, offset: this.size, length: sealed.length, rawLength });
    this.append(sealed);
  }

  finish(encKey: Buffer): FinishedPack {
    const footer = seal(encKey, AAD.packFooter, encodeFooter(this.entries));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(footer.length, 0);
    this.append(footer);
    this.append(len);
    const bytes = this.buf.subarray(0, this.size);
    const id = createHash('sha256').update(bytes).digest();
    return { id, idHex: id.toString('hex'), bytes, entries: this.entries };
  }

  private append(data: Uint8Array): void {
    if (this.size + data.length > this.buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.size + data.length));
      this.buf.copy(bigger, 0, 0, this.size);
      this.buf = bigger;
    }
    this.buf.set(data, this.size);
    this.size += data.length;
  }
}

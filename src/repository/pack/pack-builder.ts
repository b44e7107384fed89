// Builds one pack in memory: sealed blobs appended, then the sealed footer and
// its length (format §6). The pack id is the SHA-256 of the finished bytes.

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
  private readonly parts: Buffer[] = [];
  private readonly entries: PackEntry[] = [];
  private size = 0;

  constructor(readonly type: BlobType) {}

  get byteLength(): number {
    return this.size;
  }

  get count(): number {
    return this.entries.length;
  }

  add(id: Buffer, sealed: Buffer, rawLength: number): void {
    this.entries.push({ type: this.type, id, offset: this.size, length: sealed.length, rawLength });
    this.parts.push(sealed);
    this.size += sealed.length;
  }

  finish(encKey: Buffer): FinishedPack {
    const footer = seal(encKey, AAD.packFooter, encodeFooter(this.entries));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(footer.length, 0);
    const bytes = Buffer.concat([...this.parts, footer, len]);
    const id = createHash('sha256').update(bytes).digest();
    return { id, idHex: id.toString('hex'), bytes, entries: this.entries };
  }
}

// The footer of a pack: the list of blobs it holds (format §6). Encoded here,
// sealed by the caller.

import { ArcaError } from '../../errors.js';

export const BlobType = { data: 0, tree: 1 } as const;
export type BlobType = (typeof BlobType)[keyof typeof BlobType];

export interface PackEntry {
  type: BlobType;
  id: Buffer; // 32 bytes
  offset: number;
  length: number;
  rawLength: number;
}

const MAGIC = Buffer.from('APK1', 'ascii');
const ENTRY_BYTES = 1 + 32 + 4 + 4 + 4;

export function encodeFooter(entries: readonly PackEntry[]): Buffer {
  const out = Buffer.alloc(8 + entries.length * ENTRY_BYTES);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(entries.length, 4);
  let p = 8;
  for (const e of entries) {
    out[p] = e.type;
    e.id.copy(out, p + 1);
    out.writeUInt32LE(e.offset, p + 33);
    out.writeUInt32LE(e.length, p + 37);
    out.writeUInt32LE(e.rawLength, p + 41);
    p += ENTRY_BYTES;
  }
  return out;
}

export function decodeFooter(buf: Buffer, what: string): PackEntry[] {
  if (buf.length < 8 || !buf.subarray(0, 4).equals(MAGIC)) throw new ArcaError('CORRUPT', `${what}: footer is not a pack footer`);
  const n = buf.readUInt32LE(4);
  if (buf.length !== 8 + n * ENTRY_BYTES) throw new ArcaError('CORRUPT', `${what}: footer has the wrong length`);
  const entries: PackEntry[] = [];
  for (let i = 0, p = 8; i < n; i++, p += ENTRY_BYTES) {
    const type = buf[p];
    if (type !== BlobType.data && type !== BlobType.tree) throw new ArcaError('CORRUPT', `${what}: unknown blob type ${String(type)}`);
    entries.push({
      type,
      id: Buffer.from(buf.subarray(p + 1, p + 33)),
      offset: buf.readUInt32LE(p + 33),
      length: buf.readUInt32LE(p + 37),
      rawLength: buf.readUInt32LE(p + 41),
    });
  }
  return entries;
}

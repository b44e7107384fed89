// Encoding of index objects (format §7): which blobs live where, written by a
// session after the packs it names are stored.

import { ArcaError } from '../../errors.js';
import type { BlobType, PackEntry } from '../pack/pack-footer.js';

const MAGIC = Buffer.from('AIX1', 'ascii');
const ENTRY_BYTES = 32 + 4 + 1 + 4 + 4 + 4;

export interface IndexPack {
  id: Buffer;
  entries: PackEntry[];
}

export interface IndexObject {
  sessionId: Buffer; // 16 bytes
  superseded: Buffer[]; // hashes of index objects this one replaces
  packs: IndexPack[];
}

export function encodeIndexObject(obj: IndexObject): Buffer {
  const entryCount = obj.packs.reduce((s, p) => s + p.entries.length, 0);
  const size = 4 + 16 + 4 + obj.superseded.length * 32 + 4 + obj.packs.length * 32 + 4 + entryCount * ENTRY_BYTES;
  const out = Buffer.alloc(size);
  let p = 0;
  MAGIC.copy(out, p);
  p += 4;
  obj.sessionId.copy(out, p);
  p += 16;
  out.writeUInt32LE(obj.superseded.length, p);
  p += 4;
  for (const h of obj.superseded) p += h.copy(out, p);
  out.writeUInt32LE(obj.packs.length, p);
  p += 4;
  for (const pk of obj.packs) p += pk.id.copy(out, p);
  out.writeUInt32LE(entryCount, p);
  p += 4;
  obj.packs.forEach((pk, packIndex) => {
    for (const e of pk.entries) {
      e.id.copy(out, p);
      out.writeUInt32LE(packIndex, p + 32);
      out[p + 36] = e.type;
      out.writeUInt32LE(e.offset, p + 37);
      out.writeUInt32LE(e.length, p + 41);
      out.writeUInt32LE(e.rawLength, p + 45);
      p += ENTRY_BYTES;
    }
  });
  return out;
}

export function decodeIndexObject(buf: Buffer, what: string): IndexObject {
  const bad = (why: string) => new ArcaError('CORRUPT', `${what} is damaged: ${why}`);
  if (buf.length < 32 || !buf.subarray(0, 4).equals(MAGIC)) throw bad('not an index object');
  let p = 4;
  const need = (n: number) => {
    if (p + n > buf.length) throw bad('truncated');
  };
  const sessionId = Buffer.from(buf.subarray(p, p + 16));
  p += 16;
  need(4);
  const ns = buf.readUInt32LE(p);
  p += 4;
  need(ns * 32);
  const superseded: Buffer[] = [];
  for (let i = 0; i < ns; i++, p += 32) superseded.push(Buffer.from(buf.subarray(p, p + 32)));
  need(4);
  const np = buf.readUInt32LE(p);
  p += 4;
  need(np * 32);
  const packs: IndexPack[] = [];
  for (let i = 0; i < np; i++, p += 32) packs.push({ id: Buffer.from(buf.subarray(p, p + 32)), entries: [] });
  need(4);
  const ne = buf.readUInt32LE(p);
  p += 4;
  if (p + ne * ENTRY_BYTES !== buf.length) throw bad('wrong length');
  for (let i = 0; i < ne; i++, p += ENTRY_BYTES) {
    const packIndex = buf.readUInt32LE(p + 32);
    const pack = packs[packIndex];
    if (!pack) throw bad('entry names a pack that is not listed');
    pack.entries.push({
      id: Buffer.from(buf.subarray(p, p + 32)),
      type: buf[p + 36] as BlobType,
      offset: buf.readUInt32LE(p + 37),
      length: buf.readUInt32LE(p + 41),
      rawLength: buf.readUInt32LE(p + 45),
    });
  }
  return { sessionId, superseded, packs };
}

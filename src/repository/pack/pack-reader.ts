// Reads a pack's footer back: the last 4 bytes give the sealed footer's
// length; the footer lists the blobs. Used by check and (later) repair.

import type { Backend } from '../../backend/backend.js';
import { ArcaError } from '../../errors.js';
import { AAD, openSealed } from '../../content/seal.js';
import { decodeFooter, type PackEntry } from './pack-footer.js';

export function footerFromPackBytes(bytes: Buffer, encKey: Buffer, what: string): PackEntry[] {
  if (bytes.length < 4) throw new ArcaError('CORRUPT', `${what}: too short to be a pack`);
  const len = bytes.readUInt32LE(bytes.length - 4);
  if (len + 4 > bytes.length) throw new ArcaError('CORRUPT', `${what}: footer length is out of range`);
  const sealed = bytes.subarray(bytes.length - 4 - len, bytes.length - 4);
  const entries = decodeFooter(openSealed(encKey, AAD.packFooter, sealed, `${what} footer`), what);
  const bodyEnd = bytes.length - 4 - len;
  for (const e of entries) {
    if (e.offset + e.length > bodyEnd) throw new ArcaError('CORRUPT', `${what}: footer points past the pack body`);
  }
  return entries;
}

export async function readPackFooter(backend: Backend, key: string, size: number, encKey: Buffer): Promise<PackEntry[]> {
  const tail = await backend.get(key, { offset: size - 4, length: 4 });
  const len = tail.readUInt32LE(0);
  if (len + 4 > size) throw new ArcaError('CORRUPT', `${key}: footer length is out of range`);
  const sealed = await backend.get(key, { offset: size - 4 - len, length: len });
  return decodeFooter(openSealed(encKey, AAD.packFooter, sealed, `${key} footer`), key);
}

// Integrity of uploads: every PUT and UploadPart carries Content-MD5, which
// AWS and every S3-compatible store verify (a body corrupted on the way is
// refused with BadDigest instead of being stored), and, when the SDK's
// checksum setting is WHEN_SUPPORTED (its default; AWS_REQUEST_CHECKSUM_CALCULATION
// or request_checksum_calculation in the shared config changes it), the
// flexible-checksum CRC32 that AWS expects by default. Both are computed here
// with Node's native code; the SDK then skips its own (JavaScript) CRC32.

import { createHash } from 'node:crypto';
import zlib from 'node:zlib';

export interface BodyChecksums {
  ContentMD5: string;
  ChecksumCRC32?: string;
}

type Crc32 = (data: Uint8Array, value?: number) => number;
/** zlib.crc32 exists from Node 20.15 / 22.2; before that the SDK computes CRC32 itself. */
const nativeCrc32: Crc32 | undefined = (zlib as unknown as { crc32?: Crc32 }).crc32;

export function md5Base64(body: Uint8Array): string {
  return createHash('md5').update(body).digest('base64');
}

/** The CRC32 of `body` as S3 wants it: the 4 big-endian bytes, base64. */
export function crc32Base64(body: Uint8Array): string | undefined {
  if (nativeCrc32 === undefined) return undefined;
  const b = Buffer.alloc(4);
  b.writeUInt32BE(nativeCrc32(body) >>> 0);
  return b.toString('base64');
}

export function bodyChecksums(body: Uint8Array, withCrc32: boolean): BodyChecksums {
  const sums: BodyChecksums = { ContentMD5: md5Base64(body) };
  if (withCrc32) {
    const crc = crc32Base64(body);
    if (crc !== undefined) sums.ChecksumCRC32 = crc;
  }
  return sums;
}

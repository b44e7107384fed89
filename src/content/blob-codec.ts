// One blob's road to and from the volume: id = HMAC-SHA256(idKey, plaintext);
// encode (zstd when it pays) then seal; and back: open, decode, re-check the id
// (format §5). Pure functions, safe to run in worker threads.

import { createHmac } from 'node:crypto';
import { compress, decompress } from 'zstd-napi';
import { ArcaError } from '../errors.js';
import { AAD, openSealed, seal } from './seal.js';

export const BLOB_ID_BYTES = 32;
const CODEC_STORED = 0;
const CODEC_ZSTD = 1;

export function blobId(idKey: Buffer, plaintext: Uint8Array): Buffer {
  return createHmac('sha256', idKey).update(plaintext).digest();
}

/** Encodes and seals a blob's plaintext. */
export function sealBlob(encKey: Buffer, plaintext: Uint8Array, zstdLevel: number): Buffer {
  if (zstdLevel > 0 && plaintext.length >= 64) {
    const packed = compress(plaintext, { compressionLevel: zstdLevel });
    if (packed.length <= plaintext.length - (plaintext.length >> 5)) {
      return seal(encKey, AAD.blob, Uint8Array.of(CODEC_ZSTD), packed);
    }
  }
  return seal(encKey, AAD.blob, Uint8Array.of(CODEC_STORED), plaintext);
}

/** Opens a sealed blob and proves it is the blob `id` names; throws CORRUPT otherwise. */
export function openBlob(keys: { encKey: Buffer; idKey: Buffer }, id: Uint8Array, sealed: Uint8Array, rawLength: number): Buffer {
  const idHex = Buffer.from(id).toString('hex');
  const encoded = openSealed(keys.encKey, AAD.blob, sealed, `blob ${idHex}`);
  let plain: Buffer;
  const codec = encoded[0];
  if (codec === CODEC_STORED) plain = encoded.subarray(1);
  else if (codec === CODEC_ZSTD) {
    try {
      plain = decompress(encoded.subarray(1));
    } catch (err) {
      throw new ArcaError('CORRUPT', `blob ${idHex} is damaged: cannot decompress`, { cause: err });
    }
  } else throw new ArcaError('CORRUPT', `blob ${idHex} is damaged: unknown codec ${String(codec)}`);
  if (plain.length !== rawLength || !blobId(keys.idKey, plain).equals(id)) {
    throw new ArcaError('CORRUPT', `blob ${idHex} is damaged: content does not match its id`);
  }
  return plain;
}

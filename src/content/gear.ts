// The chunker's gear table (format §4 "Chunker"): 256 secret 32-bit values
// derived from the volume's gearKey, so chunk boundaries depend on a key and do
// not leak fingerprints of known content.

import { createCipheriv } from 'node:crypto';
import { ArcaError } from '../errors.js';

export const GEAR_KEY_BYTES = 32;

/**
 * The 256-entry gear table for `gearKey` (32 bytes): the first 1024 bytes of
 * the AES-256-CTR keystream under `gearKey` with an all-zero 16-byte IV
 * (= AES-256-CTR encryption of 1024 zero bytes), read as 256 little-endian
 * uint32 values. Part of the volume format: never change it.
 */
export function gearTable(gearKey: Buffer): Uint32Array {
  if (!(gearKey instanceof Uint8Array) || gearKey.length !== GEAR_KEY_BYTES) {
    throw new ArcaError('USAGE', `gear key must be ${GEAR_KEY_BYTES} bytes`);
  }
  const cipher = createCipheriv('aes-256-ctr', gearKey, Buffer.alloc(16));
  const stream = Buffer.concat([cipher.update(Buffer.alloc(1024)), cipher.final()]);
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) table[i] = stream.readUInt32LE(i * 4);
  return table;
}

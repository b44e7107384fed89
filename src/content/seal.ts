// Sealing: AES-256-GCM with a random 96-bit nonce and a context string as AAD
// (format §2). The only place that encrypts or decrypts.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ArcaError } from '../errors.js';

export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;

/** Seals `parts` (concatenated) under `key` with AAD `context`. */
export function seal(key: Buffer, context: string, ...parts: Uint8Array[]): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(context, 'ascii'));
  const out: Buffer[] = [nonce];
  for (const p of parts) out.push(cipher.update(p));
  out.push(cipher.final(), cipher.getAuthTag());
  return Buffer.concat(out);
}

/** Opens a sealed item; throws ArcaError CORRUPT when it does not authenticate. */
export function openSealed(key: Buffer, context: string, sealed: Uint8Array, what = 'object'): Buffer {
  if (sealed.length < SEAL_OVERHEAD) throw new ArcaError('CORRUPT', `${what} is damaged: too short to be encrypted data`);
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const nonce = buf.subarray(0, NONCE_BYTES);
  const tag = buf.subarray(buf.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(Buffer.from(context, 'ascii'));
  decipher.setAuthTag(tag);
  try {
    const body = decipher.update(buf.subarray(NONCE_BYTES, buf.length - TAG_BYTES));
    decipher.final();
    return body;
  } catch {
    throw new ArcaError('CORRUPT', `${what} is damaged: authentication failed`);
  }
}

export const AAD = {
  blob: 'arca/v1/blob',
  packFooter: 'arca/v1/pack-footer',
  index: 'arca/v1/index',
  manifest: 'arca/v1/manifest',
  config: 'arca/v1/config',
  session: 'arca/v1/session',
  note: 'arca/v1/note',
  tombstone: 'arca/v1/tombstone',
} as const;

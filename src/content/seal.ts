// Sealing: AES-256-GCM with a random 96-bit nonce and a context string as AAD
// (format §2). The only place that encrypts or decrypts: with Node's crypto,
// or — for the many small blobs of a backup — with the native addon's
// AES-GCM (KeyedSealer), which keeps one key schedule per thread instead of
// building a cipher object per blob. Both write the same format.

import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { ArcaError } from '../errors.js';
import { nativeContent, type NativeContent, type NativeHandle } from './native.js';

export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;

// Nonces come from the CSPRNG in bulk: one randomFillSync per 1024 nonces
// instead of one call (~5 µs) per sealed blob. Each nonce is used once.
const NONCE_POOL = Buffer.allocUnsafeSlow(NONCE_BYTES * 1024);
let noncesUsed = NONCE_POOL.length;

// The AAD bytes of each context string, made once (a handful of contexts, one per object kind).
const AAD_BYTES = new Map<string, Buffer>();

function aadOf(context: string): Buffer {
  let bytes = AAD_BYTES.get(context);
  if (bytes === undefined) {
    bytes = Buffer.from(context, 'ascii');
    if (AAD_BYTES.size < 64) AAD_BYTES.set(context, bytes);
  }
  return bytes;
}

/** A fresh random nonce (a view valid until the next call: use it at once). */
function nextNonce(): Buffer {
  if (noncesUsed + NONCE_BYTES > NONCE_POOL.length) {
    randomFillSync(NONCE_POOL);
    noncesUsed = 0;
  }
  const nonce = NONCE_POOL.subarray(noncesUsed, noncesUsed + NONCE_BYTES);
  noncesUsed += NONCE_BYTES;
  return nonce;
}

/** Seals `parts` (concatenated) under `key` with AAD `context`. */
export function seal(key: Buffer, context: string, ...parts: Uint8Array[]): Buffer {
  const nonce = Buffer.from(nextNonce());
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aadOf(context));
  const out: Buffer[] = [nonce];
  for (const p of parts) out.push(cipher.update(p));
  out.push(cipher.final(), cipher.getAuthTag());
  return Buffer.concat(out);
}

/** Throws INTERNAL unless `parts` sealed (nonce and tag added) fit `out` from `at`. */
function checkRoom(out: Uint8Array, at: number, parts: Uint8Array[]): void {
  let need = SEAL_OVERHEAD;
  for (const p of parts) need += p.byteLength;
  if (at < 0 || at + need > out.length) throw new ArcaError('INTERNAL', `sealed item of ${need} bytes does not fit its buffer`);
}

const tooShort = (what: string): ArcaError => new ArcaError('CORRUPT', `${what} is damaged: too short to be encrypted data`);
const notAuthentic = (what: string): ArcaError => new ArcaError('CORRUPT', `${what} is damaged: authentication failed`);

/**
 * Seals like seal() but writes nonce ‖ ciphertext ‖ tag into `out` at `at`
 * (no intermediate buffers joined); returns the bytes written. Throws
 * INTERNAL when they would not fit.
 */
export function sealInto(key: Buffer, context: string, out: Buffer, at: number, ...parts: Uint8Array[]): number {
  checkRoom(out, at, parts);
  const nonce = nextNonce();
  out.set(nonce, at);
  let pos = at + NONCE_BYTES;
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aadOf(context));
  for (const p of parts) {
    const c = cipher.update(p);
    out.set(c, pos);
    pos += c.length;
  }
  const last = cipher.final();
  out.set(last, pos);
  pos += last.length;
  out.set(cipher.getAuthTag(), pos);
  return pos + TAG_BYTES - at;
}

/** Opens a sealed item; throws ArcaError CORRUPT when it does not authenticate. */
export function openSealed(key: Buffer, context: string, sealed: Uint8Array, what = 'object'): Buffer {
  if (sealed.length < SEAL_OVERHEAD) throw tooShort(what);
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const nonce = buf.subarray(0, NONCE_BYTES);
  const tag = buf.subarray(buf.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(aadOf(context));
  decipher.setAuthTag(tag);
  try {
    const body = decipher.update(buf.subarray(NONCE_BYTES, buf.length - TAG_BYTES));
    decipher.final();
    return body;
  } catch {
    throw notAuthentic(what);
  }
}

/**
 * Seals and opens under one key, many times: the native addon's AES-256-GCM
 * when it is loaded (the key set once), else the functions above. Same bytes
 * either way. One per thread: the addon's handle is not shared.
 */
export class KeyedSealer {
  private readonly handle: NativeHandle | null;

  constructor(
    private readonly key: Buffer,
    private readonly native: NativeContent | null = nativeContent(),
  ) {
    this.handle = native ? native.gcmKey(key) : null;
  }

  /** As sealInto(): nonce ‖ ciphertext of head ‖ body ‖ tag at out[at]; returns the bytes written. */
  sealInto(context: string, out: Buffer, at: number, head: Uint8Array, body: Uint8Array): number {
    if (!this.native || !this.handle) return sealInto(this.key, context, out, at, head, body);
    checkRoom(out, at, [head, body]);
    return this.native.gcmSealInto(this.handle, nextNonce(), aadOf(context), head, body, out, at);
  }

  /** As openSealed(): the plaintext, or CORRUPT when the item does not authenticate. */
  open(context: string, sealed: Uint8Array, what = 'object'): Buffer {
    if (!this.native || !this.handle) return openSealed(this.key, context, sealed, what);
    if (sealed.length < SEAL_OVERHEAD) throw tooShort(what);
    const plain = Buffer.allocUnsafe(sealed.length - SEAL_OVERHEAD);
    const n = this.native.gcmOpenInto(this.handle, aadOf(context), sealed, plain, 0);
    if (n !== plain.length) throw notAuthentic(what);
    return plain;
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

// Loads the content layer's native addon (native/README.md): the FastCDC scan,
// blob ids (HMAC-SHA256) and AES-256-GCM sealing in C, on OpenSSL, for the
// write path's per-byte work (and copyFrames, which PostgreSQL's COPY OUT
// parser uses to copy rows out of the socket's buffer in one call per read). The JavaScript code beside it (chunker.ts,
// blob-codec.ts, seal.ts) is the reference and the fallback: both produce the
// same bytes, and the tests compare them.
//
// ARCA_NATIVE=off uses the JavaScript code; ARCA_NATIVE=require fails when
// the addon cannot be loaded (CI sets it, so a broken build is never measured
// or tested as if it were the native one). Otherwise the addon is used when
// it is there.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArcaError } from '../errors.js';

/** A key held by the addon for one thread (an opaque N-API external). */
export type NativeHandle = { readonly __nativeHandle: unique symbol };

/** The addon's functions; contracts in native/src/arca_native.c. */
export interface NativeContent {
  /** One Chunker.feed: state = [h, pending] (updated), params = [min, avg, max, maskS, maskL]; returns the number of cuts written. */
  chunkerFeed(gear: Int32Array, state: Int32Array, params: Int32Array, data: Uint8Array, cuts: Uint32Array): number;
  hmacKey(key: Uint8Array): NativeHandle;
  /** Writes HMAC-SHA256(key, data) (32 bytes) at out[at]. */
  hmacInto(handle: NativeHandle, data: Uint8Array, out: Uint8Array, at: number): void;
  gcmKey(key: Uint8Array): NativeHandle;
  /** Writes nonce ‖ AES-256-GCM(head ‖ body) ‖ tag at out[at]; returns its length. */
  gcmSealInto(handle: NativeHandle, nonce: Uint8Array, aad: Uint8Array, head: Uint8Array, body: Uint8Array, out: Uint8Array, at: number): number;
  /** Writes the plaintext of nonce ‖ ciphertext ‖ tag at out[at]; returns its length, or -1 when it does not authenticate. */
  gcmOpenInto(handle: NativeHandle, aad: Uint8Array, sealed: Uint8Array, out: Uint8Array, at: number): number;
  /**
   * Copies the bodies of whole frames ([type u8][length u32 BE incl. itself][body]) of `type`
   * from src[at] into out at fill[0], stopping before any other frame, a partial one, a length
   * below 4, or a body that would fill out; returns where it stopped in src (fill[0] updated).
   */
  copyFrames(src: Uint8Array, at: number, type: number, out: Uint8Array, fill: Int32Array): number;
}

const ADDON = path.join('native', 'build', 'Release', 'arca_native.node');

/** The addon's path: in the nearest folder above this file that has it (the package root: 2 levels up from src/, 3 from dist/). */
function addonPath(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
    const candidate = path.join(dir, ADDON);
    if (existsSync(candidate)) return candidate;
  }
}

let loaded: NativeContent | null | undefined;
let loadError = '';

function load(): NativeContent | null {
  const mode = (process.env['ARCA_NATIVE'] ?? '').toLowerCase();
  if (mode === 'off' || mode === '0') {
    loadError = 'turned off by ARCA_NATIVE';
    return null;
  }
  const file = addonPath();
  let addon: NativeContent | null = null;
  if (!file) loadError = `${ADDON} is not built (run npm ci, or npm run build:native)`;
  else {
    try {
      addon = createRequire(import.meta.url)(file) as NativeContent;
    } catch (err) {
      loadError = `${file} does not load: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  if (!addon && mode === 'require') throw new ArcaError('INTERNAL', `the native addon is required (ARCA_NATIVE=require) but ${loadError}`);
  return addon;
}

/** The addon, or null when the JavaScript code is to be used (see the module comment). */
export function nativeContent(): NativeContent | null {
  if (loaded === undefined) loaded = load();
  return loaded;
}

/** Why nativeContent() is null ('' when the addon is in use). */
export function nativeContentProblem(): string {
  return nativeContent() ? '' : loadError;
}

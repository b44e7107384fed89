// One blob's road to and from the volume: id = HMAC-SHA256(idKey, plaintext);
// encode (zstd when it pays) then seal; and back: open, decode, re-check the id
// (format §5). Pure functions, safe to run in worker threads; BlobCodec does
// the same with its keys set up once, on the native addon when it is loaded
// (the blob workers' path: one call per step, no objects per blob).

import { createHmac } from 'node:crypto';
import { Compressor, decompress } from 'zstd-napi';
import { ArcaError } from '../errors.js';
import { nativeContent, type NativeContent, type NativeHandle } from './native.js';
import { AAD, KeyedSealer, SEAL_OVERHEAD, openSealed, seal, sealInto } from './seal.js';

export const BLOB_ID_BYTES = 32;
const CODEC_STORED = 0;
const CODEC_ZSTD = 1;
const CODEC_STORED_BYTE = Uint8Array.of(CODEC_STORED);
const CODEC_ZSTD_BYTE = Uint8Array.of(CODEC_ZSTD);

export function blobId(idKey: Buffer, plaintext: Uint8Array): Buffer {
  return createHmac('sha256', idKey).update(plaintext).digest();
}

/** Encodes and seals a blob's plaintext. */
export function sealBlob(encKey: Buffer, plaintext: Uint8Array, zstdLevel: number): Buffer {
  return seal(encKey, AAD.blob, ...encodeBlob(plaintext, zstdLevel));
}

/** The most bytes sealBlob can produce for `rawLength` bytes of plaintext. */
export function sealedBlobBound(rawLength: number): number {
  return rawLength + 1 + SEAL_OVERHEAD;
}

// One compressor per thread, its level set once (setting parameters on every
// call cost ~3 % of a worker's time); same output as zstd-napi's compress().
let compressor: Compressor | undefined;
let compressorLevel = 0;

function compress(plaintext: Uint8Array, level: number): Buffer {
  if (!compressor || compressorLevel !== level) {
    compressor = new Compressor();
    compressor.setParameters({ compressionLevel: level });
    compressorLevel = level;
  }
  return compressor.compress(plaintext);
}

/** The encoding sealBlob uses: the codec byte and the body (zstd output when it pays). */
function encodeBlob(plaintext: Uint8Array, zstdLevel: number): [Uint8Array, Uint8Array] {
  if (zstdLevel > 0 && plaintext.length >= 64) {
    const packed = compress(plaintext, zstdLevel);
    if (packed.length <= plaintext.length - (plaintext.length >> 5)) return [CODEC_ZSTD_BYTE, packed];
  }
  return [CODEC_STORED_BYTE, plaintext];
}

/** Encodes and seals like sealBlob, writing into `out` at `at` (room: sealedBlobBound); returns the sealed length. */
export function sealBlobInto(encKey: Buffer, plaintext: Uint8Array, zstdLevel: number, out: Buffer, at: number): number {
  const [codec, body] = encodeBlob(plaintext, zstdLevel);
  return sealInto(encKey, AAD.blob, out, at, codec, body);
}

/** Opens a sealed blob and proves it is the blob `id` names; throws CORRUPT otherwise. */
export function openBlob(keys: { encKey: Buffer; idKey: Buffer }, id: Uint8Array, sealed: Uint8Array, rawLength: number): Buffer {
  const idHex = Buffer.from(id).toString('hex');
  const plain = decodeBlob(openSealed(keys.encKey, AAD.blob, sealed, `blob ${idHex}`), idHex);
  return checkedPlain(plain, rawLength, id, idHex, () => blobId(keys.idKey, plain));
}

/** `plain` when it has the recorded length and its id (`idOf`, computed only then) is `id`; CORRUPT otherwise. */
function checkedPlain(plain: Buffer, rawLength: number, id: Uint8Array, idHex: string, idOf: () => Uint8Array): Buffer {
  if (plain.length !== rawLength || !Buffer.from(idOf()).equals(id)) {
    throw new ArcaError('CORRUPT', `blob ${idHex} is damaged: content does not match its id`);
  }
  return plain;
}

/** The plaintext of an opened blob's encoding (codec byte, body). */
function decodeBlob(encoded: Buffer, idHex: string): Buffer {
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
  return plain;
}

/**
 * blobId, sealBlobInto and openBlob for one volume's keys, set up once: the
 * blob workers' codec. Same bytes as the functions above (tested), with the
 * native addon's HMAC and AES-GCM when it is loaded. One per thread.
 */
export class BlobCodec {
  private readonly hmac: NativeHandle | null;
  private readonly sealer: KeyedSealer;
  private readonly idCheck = Buffer.alloc(BLOB_ID_BYTES);

  constructor(
    private readonly keys: { encKey: Buffer; idKey: Buffer },
    private readonly zstdLevel: number,
    private readonly native: NativeContent | null = nativeContent(),
  ) {
    this.hmac = native ? native.hmacKey(keys.idKey) : null;
    this.sealer = new KeyedSealer(keys.encKey, native);
  }

  /** Writes the blob's id (BLOB_ID_BYTES) at out[at]. */
  idInto(plaintext: Uint8Array, out: Uint8Array, at: number): void {
    if (this.native && this.hmac) this.native.hmacInto(this.hmac, plaintext, out, at);
    else out.set(blobId(this.keys.idKey, plaintext), at);
  }

  /** As sealBlobInto: encodes and seals at out[at] (room: sealedBlobBound); returns the sealed length. */
  sealInto(plaintext: Uint8Array, out: Buffer, at: number): number {
    const [codec, body] = encodeBlob(plaintext, this.zstdLevel);
    return this.sealer.sealInto(AAD.blob, out, at, codec, body);
  }

  /** As openBlob. */
  open(id: Uint8Array, sealed: Uint8Array, rawLength: number): Buffer {
    const idHex = Buffer.from(id).toString('hex');
    const plain = decodeBlob(this.sealer.open(AAD.blob, sealed, `blob ${idHex}`), idHex);
    return checkedPlain(plain, rawLength, id, idHex, () => {
      this.idInto(plain, this.idCheck, 0);
      return this.idCheck;
    });
  }
}

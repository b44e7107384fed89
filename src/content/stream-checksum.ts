// The checksum a backup records for each table's data stream (its manifest's
// per-table stats), and the one a restore computes again to prove it loaded
// the bytes the backup read. New backups record BLAKE3 (field `blake3`);
// backups made before decision 0008 recorded SHA-256 (field `sha256`) and
// are still checked with it. BLAKE3 because the checksum runs over every byte
// on the backup's busiest thread: 0.17 s per GB here against SHA-256's 0.59
// (decision 0008). Both are cryptographic and independent of chunking, so a
// table dumped whole or in key-range parts has the same checksum.

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { ArcaError, errorMessage } from '../errors.js';

export type ChecksumAlgorithm = 'blake3' | 'sha256';

/** What new backups record. */
export const CHECKSUM_ALGORITHM: ChecksumAlgorithm = 'blake3';

/** A table's recorded checksum: one of the fields, hex; none in stats that recorded no checksum. */
export interface RecordedChecksum {
  blake3?: string;
  sha256?: string;
}

export interface StreamChecksum {
  readonly algorithm: ChecksumAlgorithm;
  update(bytes: Uint8Array): void;
  /** Hex digest of everything given to update(); nothing may be added afterwards. */
  digest(): string;
  /** The digest as the field stats record it. */
  record(): RecordedChecksum;
}

interface Blake3Hasher {
  update(input: Uint8Array): unknown;
  digest(format: 'hex'): string;
}

let blake3: (new () => Blake3Hasher) | undefined;

/** Loaded on first use, so commands that hash nothing do not load the native module. */
function newBlake3(): Blake3Hasher {
  if (!blake3) {
    try {
      blake3 = (createRequire(import.meta.url)('@napi-rs/blake-hash') as { Blake3Hasher: new () => Blake3Hasher }).Blake3Hasher;
    } catch (err) {
      throw new ArcaError('INTERNAL', `BLAKE3 (@napi-rs/blake-hash) does not load on this platform (${errorMessage(err)}); reinstall with npm ci`, { cause: err });
    }
  }
  return new blake3();
}

/** A fresh checksum of `algorithm` (default: what new backups record). */
export function streamChecksum(algorithm: ChecksumAlgorithm = CHECKSUM_ALGORITHM): StreamChecksum {
  const h = algorithm === 'blake3' ? newBlake3() : createHash('sha256');
  let hex: string | undefined;
  const digest = (): string => (hex ??= h.digest('hex'));
  return {
    algorithm,
    update: (bytes) => void h.update(bytes),
    digest,
    record: () => (algorithm === 'blake3' ? { blake3: digest() } : { sha256: digest() }),
  };
}

/** The algorithm `recorded` was taken with, so a restore hashes the same way (new backups' when nothing is recorded). */
export function recordedAlgorithm(recorded: RecordedChecksum | undefined): ChecksumAlgorithm {
  return recorded?.blake3 === undefined && recorded?.sha256 !== undefined ? 'sha256' : CHECKSUM_ALGORITHM;
}

/**
 * True when there are no recorded stats (nothing to check against), or when
 * they record a checksum equal to `digest` (hex, taken with
 * recordedAlgorithm(recorded)). Stats that record neither field do not match:
 * every version of Arca has recorded one, so its absence is damage.
 */
export function matchesRecorded(recorded: RecordedChecksum | undefined, digest: string): boolean {
  if (recorded === undefined) return true;
  return recorded[recordedAlgorithm(recorded)] === digest;
}

/** Throws CORRUPT (`<what>: the data does not match …`) unless matchesRecorded(recorded, digest). */
export function assertMatchesRecorded(recorded: RecordedChecksum | undefined, digest: string, what: string): void {
  if (!matchesRecorded(recorded, digest)) throw new ArcaError('CORRUPT', `${what}: the data does not match the checksum recorded at backup time`);
}

// Byte-range checks shared by every backend, so "past the end" and "not a
// range" look the same everywhere (both permanent, never short data).

import { BackendError, type ByteRange } from './backend.js';

/** Throws a permanent BackendError unless offset and length are non-negative safe integers. */
export function assertValidRange(range: ByteRange, key: string): void {
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new BackendError(`invalid byte range (offset ${String(offset)}, length ${String(length)}) for object ${key}`, {
      permanent: true,
      key,
    });
  }
}

/**
 * Checks `range` against an object of `size` bytes and returns the span to read
 * (the whole object when no range is given). A range past the end is a
 * permanent error.
 */
export function resolveRange(
  range: ByteRange | undefined,
  size: number,
  key: string,
  location: string,
): { offset: number; length: number } {
  if (range === undefined) return { offset: 0, length: size };
  assertValidRange(range, key);
  if (range.offset + range.length > size) {
    throw new BackendError(
      `volume ${location}: byte range ${range.offset}+${range.length} is past the end of object ${key} (${size} bytes)`,
      { permanent: true, pastEnd: true, key },
    );
  }
  return { offset: range.offset, length: range.length };
}

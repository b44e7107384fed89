// MemoryBackend: objects in a Map, for tests and dry runs. Bytes are copied
// in and out, so no caller can change what is stored; corrupt() flips a
// stored byte on purpose to test the layers above.

import {
  assertValidKey,
  assertValidPrefix,
  BackendError,
  type Backend,
  type ByteRange,
  type ObjectInfo,
} from '../backend.js';
import { resolveRange } from '../range.js';

export class MemoryBackend implements Backend {
  readonly location: string;
  private readonly objects = new Map<string, Buffer>();

  constructor(location = 'memory') {
    this.location = location;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    assertValidKey(key);
    this.objects.set(key, Buffer.from(data)); // a copy
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    assertValidKey(key);
    const obj = this.objects.get(key);
    if (obj === undefined) {
      throw new BackendError(`volume ${this.location}: object ${key} not found`, { permanent: true, notFound: true, key });
    }
    const span = resolveRange(range, obj.length, key, this.location);
    return Buffer.from(obj.subarray(span.offset, span.offset + span.length)); // a copy
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    const obj = this.objects.get(key);
    return obj === undefined ? undefined : { key, size: obj.length };
  }

  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    assertValidPrefix(prefix);
    // A snapshot taken when listing starts: later puts and deletes do not disturb it.
    const found: ObjectInfo[] = [];
    for (const [key, obj] of this.objects) {
      if (key.startsWith(prefix)) found.push({ key, size: obj.length });
    }
    yield* found;
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    this.objects.delete(key);
  }

  async close(): Promise<void> {
    // Nothing to release; the objects stay readable.
  }

  /** Flips every bit of the byte at `offset` of a stored object (a test helper). */
  corrupt(key: string, offset: number): void {
    const obj = this.objects.get(key);
    if (obj === undefined) throw new Error(`MemoryBackend.corrupt: no object ${key}`);
    if (!Number.isInteger(offset) || offset < 0 || offset >= obj.length) {
      throw new Error(`MemoryBackend.corrupt: offset ${offset} outside object ${key} (${obj.length} bytes)`);
    }
    obj[offset] = (obj[offset] ?? 0) ^ 0xff;
  }

  /** Every stored key, sorted. */
  keys(): string[] {
    return [...this.objects.keys()].sort();
  }

  /** The total size of all stored objects in bytes. */
  totalBytes(): number {
    let total = 0;
    for (const obj of this.objects.values()) total += obj.length;
    return total;
  }
}

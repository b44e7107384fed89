// The Backend contract suite (see src/backend/backend.ts): every backend and
// every wrapper runs it with runBackendContract(name, make) in a few lines.
// `make` returns a fresh, empty backend for each test and its cleanup.

import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackendError, type Backend, type ObjectInfo } from '../../../src/backend/backend.js';

export type MakeBackend = () => Promise<{ backend: Backend; cleanup: () => Promise<void> }>;

export async function collect(iter: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of iter) out.push(info);
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Awaits `p` and returns the BackendError it rejected with (fails the test otherwise). */
export async function backendError(p: Promise<unknown>): Promise<BackendError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(BackendError);
    return err as BackendError;
  }
  throw new Error('expected a BackendError, but the call succeeded');
}

const INVALID_KEYS = ['', '.', '..', '/a', 'a/', 'a//b', 'a/../b', 'a/./b', 'a b', 'a\\b', 'ä', 'a\nb', 'x'.repeat(1025)];

export function runBackendContract(name: string, make: MakeBackend): void {
  describe(`Backend contract: ${name}`, () => {
    let backend: Backend;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ backend, cleanup } = await make());
    });
    afterEach(async () => {
      await backend.close();
      await cleanup();
    });

    it('has a human-readable location', () => {
      expect(typeof backend.location).toBe('string');
      expect(backend.location.length).toBeGreaterThan(0);
    });

    describe('put and get', () => {
      it('round-trips small, empty and multi-MiB objects', async () => {
        const small = Buffer.from('hello, arca');
        const big = randomBytes(3 * 1024 * 1024 + 17);
        await backend.put('config', small);
        await backend.put('empty', new Uint8Array(0));
        await backend.put('data/ab/big', big);
        const got = await backend.get('config');
        expect(Buffer.isBuffer(got)).toBe(true);
        expect(got.equals(small)).toBe(true);
        expect((await backend.get('empty')).length).toBe(0);
        expect((await backend.get('data/ab/big')).equals(big)).toBe(true);
      });

      it('accepts a plain Uint8Array and a Buffer view into a larger buffer', async () => {
        await backend.put('u8', new Uint8Array([1, 2, 3]));
        const whole = Buffer.from('0123456789');
        await backend.put('view', whole.subarray(3, 6));
        expect([...(await backend.get('u8'))]).toEqual([1, 2, 3]);
        expect((await backend.get('view')).toString()).toBe('345');
      });

      it('replaces an existing object', async () => {
        await backend.put('snapshots/x', Buffer.from('first version, longer'));
        await backend.put('snapshots/x', Buffer.from('second'));
        expect((await backend.get('snapshots/x')).toString()).toBe('second');
        expect(await backend.stat('snapshots/x')).toEqual({ key: 'snapshots/x', size: 6 });
        expect(await collect(backend.list('snapshots/'))).toEqual([{ key: 'snapshots/x', size: 6 }]);
      });

      it('keeps stored bytes safe from the caller mutating its buffers', async () => {
        const data = Buffer.from('immutable');
        await backend.put('k', data);
        data.fill(0);
        const got = await backend.get('k');
        expect(got.toString()).toBe('immutable');
        got.fill(0);
        expect((await backend.get('k')).toString()).toBe('immutable');
        const part = await backend.get('k', { offset: 0, length: 2 });
        part.fill(0);
        expect((await backend.get('k')).toString()).toBe('immutable');
      });

      it('accepts every valid key character and deep paths', async () => {
        const keys = ['A-Z_a.z-09', 'x/y/z/w/v', '...', 'a/.hidden', 'keys/0123456789abcdef'];
        for (const key of keys) await backend.put(key, Buffer.from(key));
        for (const key of keys) expect((await backend.get(key)).toString()).toBe(key);
      });
    });

    describe('get with a byte range', () => {
      const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
      beforeEach(async () => {
        await backend.put('data/00/r', data);
      });

      it('reads the start, the middle, the end and the whole object', async () => {
        expect((await backend.get('data/00/r', { offset: 0, length: 10 })).equals(data.subarray(0, 10))).toBe(true);
        expect((await backend.get('data/00/r', { offset: 400, length: 123 })).equals(data.subarray(400, 523))).toBe(true);
        expect((await backend.get('data/00/r', { offset: 990, length: 10 })).equals(data.subarray(990))).toBe(true);
        expect((await backend.get('data/00/r', { offset: 0, length: 1000 })).equals(data)).toBe(true);
      });

      it('reads zero bytes at the start, inside and at the very end', async () => {
        for (const offset of [0, 500, 1000]) {
          const got = await backend.get('data/00/r', { offset, length: 0 });
          expect(Buffer.isBuffer(got)).toBe(true);
          expect(got.length).toBe(0);
        }
      });

      it('fails permanently (never short data) for a range past the end', async () => {
        for (const range of [
          { offset: 995, length: 10 },
          { offset: 1000, length: 1 },
          { offset: 2000, length: 0 },
          { offset: 0, length: 1001 },
        ]) {
          const err = await backendError(backend.get('data/00/r', range));
          expect(err.permanent).toBe(true);
          expect(err.notFound).toBe(false);
          expect(err.pastEnd).toBe(true);
        }
      });

      it('rejects negative and fractional ranges as permanent errors', async () => {
        for (const range of [
          { offset: -1, length: 1 },
          { offset: 0, length: -1 },
          { offset: 1.5, length: 1 },
          { offset: Number.NaN, length: 1 },
        ]) {
          expect((await backendError(backend.get('data/00/r', range))).permanent).toBe(true);
        }
      });

      it('reads a range of an empty object only when it is empty', async () => {
        await backend.put('e', new Uint8Array(0));
        expect((await backend.get('e', { offset: 0, length: 0 })).length).toBe(0);
        expect((await backendError(backend.get('e', { offset: 0, length: 1 }))).permanent).toBe(true);
      });
    });

    describe('missing objects', () => {
      it('get throws a permanent not-found BackendError naming the key', async () => {
        const err = await backendError(backend.get('snapshots/missing'));
        expect(err.notFound).toBe(true);
        expect(err.permanent).toBe(true);
        expect(err.code).toBe('NOT_FOUND');
        expect(err.key).toBe('snapshots/missing');
        expect(err.message).toContain('snapshots/missing');
      });

      it('get with a range on a missing object is not-found too', async () => {
        const err = await backendError(backend.get('missing', { offset: 0, length: 1 }));
        expect(err.notFound).toBe(true);
        expect(err.permanent).toBe(true);
      });

      it('stat returns undefined', async () => {
        expect(await backend.stat('missing')).toBeUndefined();
      });

      it('a "folder" of other keys is not an object', async () => {
        await backend.put('data/ab/cd', Buffer.from('x'));
        expect(await backend.stat('data')).toBeUndefined();
        expect(await backend.stat('data/ab')).toBeUndefined();
        expect((await backendError(backend.get('data/ab'))).notFound).toBe(true);
        await backend.delete('data/ab'); // no such object: succeeds, removes nothing
        expect((await backend.get('data/ab/cd')).toString()).toBe('x');
      });

      it('a key below an object is not an object', async () => {
        await backend.put('config', Buffer.from('x'));
        expect(await backend.stat('config/x')).toBeUndefined();
        expect((await backendError(backend.get('config/x'))).notFound).toBe(true);
        await backend.delete('config/x');
      });
    });

    describe('stat', () => {
      it('returns key and size', async () => {
        await backend.put('index/abc', randomBytes(4321));
        await backend.put('empty', new Uint8Array(0));
        expect(await backend.stat('index/abc')).toEqual({ key: 'index/abc', size: 4321 });
        expect(await backend.stat('empty')).toEqual({ key: 'empty', size: 0 });
      });
    });

    describe('list', () => {
      const objects: Record<string, number> = {
        config: 7,
        'data/00/aa': 10,
        'data/00/ab': 0,
        'data/ff/cc': 300,
        'data2/x': 1,
        datafile: 2,
        'index/i1': 5,
        'snapshots/abc1': 3,
        'snapshots/abc2': 4,
        'snapshots/bcd': 5,
        'keys/k/deep/er': 6,
      };
      beforeEach(async () => {
        await Promise.all(Object.entries(objects).map(([key, size]) => backend.put(key, randomBytes(size))));
      });
      const expected = (pred: (key: string) => boolean): ObjectInfo[] =>
        Object.entries(objects)
          .filter(([key]) => pred(key))
          .map(([key, size]) => ({ key, size }))
          .sort((a, b) => (a.key < b.key ? -1 : 1));

      it('lists everything with "" and each folder with its prefix, with sizes', async () => {
        expect(await collect(backend.list(''))).toEqual(expected(() => true));
        expect(await collect(backend.list('data/'))).toEqual(expected((k) => k.startsWith('data/')));
        expect(await collect(backend.list('data/00/'))).toEqual(expected((k) => k.startsWith('data/00/')));
        expect(await collect(backend.list('keys/'))).toEqual([{ key: 'keys/k/deep/er', size: 6 }]);
      });

      it('matches prefixes that are not whole folder names', async () => {
        expect(await collect(backend.list('snapshots/abc'))).toEqual(expected((k) => k.startsWith('snapshots/abc')));
        expect(await collect(backend.list('data'))).toEqual(expected((k) => k.startsWith('data')));
        expect(await collect(backend.list('config'))).toEqual([{ key: 'config', size: 7 }]);
      });

      it('yields nothing for a prefix with no objects', async () => {
        expect(await collect(backend.list('nothing/'))).toEqual([]);
        expect(await collect(backend.list('snapshots/z'))).toEqual([]);
        expect(await collect(backend.list('config/'))).toEqual([]);
      });

      it('rejects an invalid prefix as a permanent error', async () => {
        for (const prefix of ['../', '/data', 'a//', 'a b/']) {
          expect((await backendError(collect(backend.list(prefix)))).permanent).toBe(true);
        }
      });

      it('does not list deleted objects', async () => {
        await backend.delete('snapshots/abc1');
        expect(await collect(backend.list('snapshots/'))).toEqual(
          expected((k) => k.startsWith('snapshots/') && k !== 'snapshots/abc1'),
        );
      });
    });

    describe('delete', () => {
      it('removes an object and is idempotent', async () => {
        await backend.put('sessions/s1', Buffer.from('lease'));
        await backend.delete('sessions/s1');
        expect(await backend.stat('sessions/s1')).toBeUndefined();
        expect((await backendError(backend.get('sessions/s1'))).notFound).toBe(true);
        expect(await collect(backend.list('sessions/'))).toEqual([]);
        await backend.delete('sessions/s1');
        await backend.delete('never/existed');
      });

      it('allows putting the key again afterwards', async () => {
        await backend.put('k', Buffer.from('one'));
        await backend.delete('k');
        await backend.put('k', Buffer.from('two'));
        expect((await backend.get('k')).toString()).toBe('two');
      });
    });

    describe('invalid keys', () => {
      it.each(INVALID_KEYS.map((k) => [JSON.stringify(k).slice(0, 40), k]))('rejects %s everywhere', async (_, key) => {
        for (const call of [
          () => backend.put(key, Buffer.from('x')),
          () => backend.get(key),
          () => backend.stat(key),
          () => backend.delete(key),
        ]) {
          const err = await backendError(call());
          expect(err.permanent).toBe(true);
          expect(err.notFound).toBe(false);
          expect(err.pastEnd).toBe(false);
        }
      });

      it('stores nothing for a rejected put', async () => {
        for (const key of INVALID_KEYS) await backend.put(key, Buffer.from('x')).catch(() => undefined);
        expect(await collect(backend.list(''))).toEqual([]);
      });
    });

    describe('concurrency', () => {
      it('stores many keys put at once', async () => {
        const items = Array.from({ length: 100 }, (_, i) => ({
          key: `data/${(i % 16).toString(16).padStart(2, '0')}/obj${i}`,
          data: randomBytes(1 + i * 37),
        }));
        await Promise.all(items.map(({ key, data }) => backend.put(key, data)));
        const listed = await collect(backend.list('data/'));
        expect(listed).toHaveLength(items.length);
        const got = await Promise.all(items.map(({ key }) => backend.get(key)));
        items.forEach(({ data }, i) => expect(got[i]?.equals(data)).toBe(true));
      });

      it('stores one whole object when the same key is put at once with the same bytes', async () => {
        const data = randomBytes(256 * 1024);
        await Promise.all(Array.from({ length: 20 }, () => backend.put('data/aa/same', data)));
        expect((await backend.get('data/aa/same')).equals(data)).toBe(true);
        expect(await collect(backend.list(''))).toEqual([{ key: 'data/aa/same', size: data.length }]);
      });

      it('lets reads run beside a replacing put and always see a whole object', async () => {
        const a = Buffer.alloc(128 * 1024, 1);
        const b = Buffer.alloc(64 * 1024, 2);
        await backend.put('k', a);
        const reads = Array.from({ length: 20 }, () => backend.get('k'));
        await backend.put('k', b);
        for (const got of await Promise.all(reads)) expect(got.equals(a) || got.equals(b)).toBe(true);
      });
    });

    it('close resolves', async () => {
      await expect(backend.close()).resolves.toBeUndefined();
    });
  });
}

import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/backend/memory/memory-backend.js';
import { runBackendContract } from './contract.js';

runBackendContract('MemoryBackend', async () => ({ backend: new MemoryBackend(), cleanup: async () => undefined }));

describe('MemoryBackend extras', () => {
  it('corrupt flips one stored byte', async () => {
    const m = new MemoryBackend();
    await m.put('k', Buffer.from([0x00, 0x0f]));
    m.corrupt('k', 1);
    expect([...(await m.get('k'))]).toEqual([0x00, 0xf0]);
    expect(() => m.corrupt('k', 2)).toThrow(/outside/);
    expect(() => m.corrupt('nope', 0)).toThrow(/no object/);
  });

  it('keys and totalBytes describe what is stored', async () => {
    const m = new MemoryBackend('mem:test');
    await m.put('b/1', Buffer.alloc(3));
    await m.put('a', Buffer.alloc(4));
    expect(m.keys()).toEqual(['a', 'b/1']);
    expect(m.totalBytes()).toBe(7);
    expect(m.location).toBe('mem:test');
  });

  it('a list is a snapshot taken when it starts', async () => {
    const m = new MemoryBackend();
    await m.put('a/1', Buffer.alloc(1));
    await m.put('a/2', Buffer.alloc(1));
    const seen: string[] = [];
    for await (const { key } of m.list('a/')) {
      seen.push(key);
      await m.put(`a/new-${key.slice(2)}`, Buffer.alloc(1));
      await m.delete('a/2');
    }
    expect(seen.sort()).toEqual(['a/1', 'a/2']);
  });
});

// LocalBackend against real failures: a full disk and a read-only file system
// (small tmpfs mounts; the tests run as root) and a writer killed with SIGKILL
// in the middle of puts.
import { execFileSync, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBackend, TEMP_DIR } from '../../../src/backend/local/local-backend.js';
import { objectBytes } from './fixtures/crash-writer.js';
import { backendError, collect } from './contract.js';

let dir: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'arca-disk-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

/** Mounts a tmpfs of `size` at a new folder; returns undefined (with the reason logged) if not permitted. */
function mountTmpfs(name: string, size: string): string | undefined {
  const at = path.join(dir, name);
  execFileSync('mkdir', ['-p', at]);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', at], { stdio: 'pipe' });
    return at;
  } catch (err) {
    console.warn(`skipping: cannot mount a tmpfs here (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
    return undefined;
  }
}

function unmount(at: string): void {
  execFileSync('umount', [at], { stdio: 'pipe' });
}

describe('LocalBackend on a real disk', () => {
  it('a put on a full disk fails permanently, leaves nothing behind, and frees its space', async ({ skip }) => {
    const at = mountTmpfs('full', '1m');
    if (at === undefined) return skip('mount not permitted');
    try {
      const b = await LocalBackend.create(path.join(at, 'vol'));
      const err = await backendError(b.put('data/ab/big', Buffer.alloc(2 * 1024 * 1024, 7)));
      expect(err.permanent).toBe(true);
      expect(err.message).toBe(`volume ${b.root}: disk full (ENOSPC) while writing data/ab/big`);
      expect(await collect(b.list(''))).toEqual([]);
      expect(await fsp.readdir(path.join(b.root, TEMP_DIR))).toEqual([]);
      await b.put('data/ab/small', Buffer.alloc(512 * 1024, 1)); // the failed put's space came back
      expect(await b.stat('data/ab/small')).toEqual({ key: 'data/ab/small', size: 512 * 1024 });
    } finally {
      unmount(at);
    }
  });

  it('on a read-only file system puts and deletes fail permanently (EROFS), reads still work', async ({ skip }) => {
    const at = mountTmpfs('ro', '1m');
    if (at === undefined) return skip('mount not permitted');
    try {
      const b = await LocalBackend.create(path.join(at, 'vol'));
      await b.put('config', Buffer.from('cfg'));
      execFileSync('mount', ['-o', 'remount,ro', at], { stdio: 'pipe' });
      const put = await backendError(b.put('snapshots/s', Buffer.from('x')));
      expect(put.permanent).toBe(true);
      expect(put.message).toBe(`volume ${b.root}: read-only file system (EROFS) while writing snapshots/s`);
      const del = await backendError(b.delete('config'));
      expect(del.permanent).toBe(true);
      expect(del.message).toContain('(EROFS) while deleting config');
      expect((await b.get('config')).toString()).toBe('cfg');
      expect((await backendError(b.get('missing'))).notFound).toBe(true);
    } finally {
      unmount(at);
    }
  });

  it('a writer killed with SIGKILL mid-put never leaves a partial object', async ({ skip }) => {
    let tsxAvailable = true;
    try {
      createRequire(import.meta.url).resolve('tsx');
    } catch {
      tsxAvailable = false;
    }
    if (!tsxAvailable) return skip('tsx is not installed, cannot run the TypeScript writer in a child process');
    const writer = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
    const b = await LocalBackend.create(path.join(dir, 'crash'));
    let leftovers = 0;
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', writer, b.root], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      // Kill at a varying moment after the writer has stored a few objects.
      await new Promise<void>((resolve) => {
        let lines = 0;
        child.stdout.on('data', (chunk: Buffer) => {
          lines += chunk.toString().split('\n').length - 1;
          if (lines >= 3 + round) resolve();
        });
        child.on('exit', () => resolve());
      });
      await new Promise((r) => setTimeout(r, 3 + round * 7));
      child.kill('SIGKILL');
      await exited;
      leftovers += (await fsp.readdir(path.join(b.root, TEMP_DIR))).length;
      for (const { key, size } of await collect(b.list(''))) {
        const i = Number(/obj(\d+)$/.exec(key)?.[1]);
        const expected = objectBytes(i);
        expect(size, key).toBe(expected.length);
        expect((await b.get(key)).equals(expected), key).toBe(true);
      }
    }
    expect((await collect(b.list(''))).length).toBeGreaterThan(0);
    console.info(`crash test: ${leftovers} temp file(s) left by killed writers (never listed)`);
    await b.cleanupTemp(0);
  }, 60_000);
});

// Shared fixtures for the engine's unit tests: a volume on a memory (or any)
// backend with cheap key derivation, a small directory tree, and comparison.

import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, lstatSync, readlinkSync, symlinkSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../../../src/backend/backend.js';
import { MemoryBackend } from '../../../src/backend/memory/memory-backend.js';
import { Repository, type InitOptions } from '../../../src/repository/repository.js';
import type { OpenVolume } from '../../../src/jobs/volume-service.js';

export const CHEAP_KDF = { N: 1024, r: 8, p: 1 };
/** Small chunks so a few hundred KB exercise many blobs and content lists. */
export const SMALL_CHUNKS = { algorithm: 'fastcdc-gear32-v1' as const, min: 256, avg: 1024, max: 4096, normalization: 2 };

export async function makeVolume(backend: Backend = new MemoryBackend(), opts: InitOptions = {}): Promise<OpenVolume & { backend: Backend }> {
  const repo = await Repository.init(backend, 'correct horse', { scrypt: CHEAP_KDF, ...opts });
  return { ref: { name: 'test', location: backend.location }, volumeId: repo.config.id, repo, backend, close: async () => undefined };
}

/** Opens the same volume again, as a second process would (fresh index). */
export async function reopen(vol: OpenVolume & { backend: Backend }, backend: Backend = vol.backend): Promise<OpenVolume & { backend: Backend }> {
  const repo = await Repository.open(backend, 'correct horse');
  return { ...vol, repo, backend };
}

export function tempDir(prefix = 'arca-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A tree with random and compressible files, an empty file and dir, a symlink, modes and mtimes. */
export function makeSourceTree(size = 300_000): string {
  const dir = tempDir('arca-src-');
  mkdirSync(join(dir, 'docs/nested'), { recursive: true });
  mkdirSync(join(dir, 'empty-dir'));
  writeFileSync(join(dir, 'random.bin'), randomBytes(size));
  writeFileSync(join(dir, 'docs/report.txt'), 'line of a compressible report\n'.repeat(size / 30));
  writeFileSync(join(dir, 'docs/nested/empty'), '');
  writeFileSync(join(dir, 'secret.txt'), 'top secret', { mode: 0o600 });
  symlinkSync('docs/report.txt', join(dir, 'link'));
  utimesSync(join(dir, 'docs/report.txt'), 1_600_000_000.123, 1_600_000_000.123);
  utimesSync(join(dir, 'docs/nested'), 1_500_000_000, 1_500_000_000);
  return dir;
}

/** Every entry: type, mode, size, mtime (ms), content hash, link target. */
export function describeTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const p = join(root, rel, name);
      const r = join(rel, name);
      const st = lstatSync(p);
      const meta = `${(st.mode & 0o7777).toString(8)} ${Math.floor(st.mtimeMs)}`;
      if (st.isDirectory()) {
        out[r] = `dir ${meta}`;
        walk(r);
      } else if (st.isSymbolicLink()) out[r] = `link -> ${readlinkSync(p)}`;
      else out[r] = `file ${meta} ${st.size} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    }
  };
  walk('');
  return out;
}

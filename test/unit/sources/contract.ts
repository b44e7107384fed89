// The Source contract suite (see src/sources/source.ts): every driver runs it
// with a fixture that makes databases and restore targets of its kind.

import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/backend/memory/memory-backend.js';
import { listBackups, runBackup, runCheck, runRestore } from '../../../src/jobs/index.js';
import type { SourceDriver } from '../../../src/sources/source.js';
import { makeVolume, reopen } from '../repository/fixtures.js';

export interface SourceFixture {
  driver: SourceDriver;
  /** A database with content; returns its (normalized) URL. */
  create(): Promise<string>;
  /** Changes part of the database. */
  change(url: string): Promise<void>;
  /** A fresh restore target that does not exist yet. */
  freshTarget(): Promise<string>;
  /** A restore target that already holds data. */
  occupiedTarget(): Promise<string>;
  /** A comparable description of a database or restored target. */
  describe(urlOrTarget: string): Promise<unknown>;
}

export function runSourceContract(name: string, fixture: () => SourceFixture): void {
  describe(`Source contract: ${name}`, () => {
    const setup = async () => {
      const f = fixture();
      const backend = new MemoryBackend();
      const vol = await makeVolume(backend, { packSize: 32 * 1024 });
      const url = await f.create();
      return { f, vol, backend, url, database: { name: 'db', url } };
    };

    it('normalize accepts its own URLs and is idempotent', async () => {
      const { f, url } = await setup();
      expect(f.driver.handles(url)).toBe(true);
      expect(f.driver.normalize(url)).toBe(url);
    });

    it('a backup restores to what the database held', async () => {
      const { f, vol, url, database } = await setup();
      const b = await runBackup({ volume: vol, database, level: 0, expiresAt: null });
      const target = await f.freshTarget();
      await runRestore({ volume: await reopen(vol), backupId: b.id, to: target, force: false });
      expect(await f.describe(target)).toEqual(await f.describe(url));
    });

    it('an incremental after a change restores the whole changed database on its own', async () => {
      const { f, vol, url, database } = await setup();
      await runBackup({ volume: vol, database, level: 0, expiresAt: null });
      await f.change(url);
      const inc = await runBackup({ volume: await reopen(vol), database, level: 1, expiresAt: null });
      expect(inc.level).toBe(1);
      const target = await f.freshTarget();
      await runRestore({ volume: await reopen(vol), backupId: inc.id, to: target, force: false });
      expect(await f.describe(target)).toEqual(await f.describe(url));
    });

    it('honours an abort: ABORTED, nothing listed, the volume checks clean', async () => {
      const { vol, database } = await setup();
      const ac = new AbortController();
      ac.abort();
      await expect(runBackup({ volume: vol, database, level: 0, expiresAt: null, signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' });
      expect(await listBackups(await reopen(vol))).toEqual([]);
      expect((await runCheck({ volume: await reopen(vol), readDataPercent: 100 })).ok).toBe(true);
    });

    it('never overwrites an occupied target without force', async () => {
      const { f, vol, database } = await setup();
      const b = await runBackup({ volume: vol, database, level: 0, expiresAt: null });
      const target = await f.occupiedTarget();
      const before = await f.describe(target);
      await expect(runRestore({ volume: vol, backupId: b.id, to: target, force: false })).rejects.toMatchObject({ code: 'CONFLICT' });
      expect(await f.describe(target)).toEqual(before);
    });

    it('fails loudly on damaged data and leaves nothing wrong behind', async () => {
      const { f, vol, backend, url, database } = await setup();
      const b = await runBackup({ volume: vol, database, level: 0, expiresAt: null });
      for (const key of backend.keys().filter((k) => k.startsWith('data/'))) backend.corrupt(key, 40);
      const target = await f.freshTarget();
      await expect(runRestore({ volume: await reopen(vol), backupId: b.id, to: target, force: false })).rejects.toMatchObject({ code: 'CORRUPT' });
      const got = await f.describe(target).catch(() => undefined);
      if (got !== undefined) expect(got).not.toEqual(await f.describe(url)); // partial at most, never claimed complete
    });
  });
}

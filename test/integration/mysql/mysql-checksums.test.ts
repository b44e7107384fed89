// The per-table checksums a MySQL backup records (stream-checksum.ts): new
// backups record BLAKE3; a restore recomputes it and fails (CORRUPT) when the
// data it loaded does not match. Backups made before BLAKE3 recorded SHA-256:
// their manifests are made here from a new one's, each `blake3` swapped for
// the SHA-256 of the stored stream, and still restore.

import { afterAll, describe, expect, it } from 'vitest';
import { isArcaError } from '../../../src/errors.js';
import { runBackup } from '../../../src/jobs/index.js';
import type { OpenVolume } from '../../../src/jobs/volume-service.js';
import type { Manifest } from '../../../src/repository/manifest.js';
import { mysqlDriver, type MysqlExtra } from '../../../src/sources/mysql/index.js';
import { restoreManifest, streamSha256s } from '../../helpers/stored-streams.js';
import { makeVolume, reopen } from '../../unit/repository/fixtures.js';
import { createDb, describeDb, dropScratch, leftoverRestoreDbs, scratchName, urlOf } from './mysql-helpers.js';

const TABLES = `
CREATE TABLE items (id int PRIMARY KEY, v text);
INSERT INTO items SELECT seq, REPEAT(MD5(seq), 3) FROM seq_1_to_3000;
CREATE TABLE notes (id int PRIMARY KEY, note varchar(40));
INSERT INTO notes VALUES (1, 'one'), (2, 'two\\ttab'), (3, NULL);
`;

afterAll(dropScratch);

/** Restores `manifest` (possibly edited) into a new database; returns its name, and the error if it failed. */
async function restoreWith(volume: OpenVolume, manifest: Manifest): Promise<{ target: string; error?: unknown }> {
  const target = scratchName();
  return { target, error: await restoreManifest(mysqlDriver, volume, manifest, urlOf(target)) };
}

const extraOf = (m: Manifest) => (m.extra as unknown as MysqlExtra).mysql;
const withTables = (m: Manifest, tables: MysqlExtra['mysql']['tables']): Manifest => ({ ...m, extra: { ...m.extra, mysql: { ...extraOf(m), tables } } });

describe('mysql per-table checksums', () => {
  it('new backups record BLAKE3; old SHA-256 manifests restore; a wrong checksum fails the restore', async () => {
    const db = await createDb({ text: TABLES });
    const source = await describeDb(db);
    const volume = await makeVolume();
    const b = await runBackup({ volume, database: { name: 'db', url: urlOf(db) }, level: 0, expiresAt: null });
    const manifest = await (await reopen(volume)).repo.readManifest(b.id);
    const tables = extraOf(manifest).tables;
    expect(tables.map((t) => t.name)).toEqual(['items', 'notes']);
    for (const t of tables) {
      expect(t.blake3, t.name).toMatch(/^[0-9a-f]{64}$/);
      expect(t.sha256, t.name).toBeUndefined();
    }

    const sha = await streamSha256s(await reopen(volume), manifest);
    const old = withTables(
      manifest,
      tables.map(({ blake3: _dropped, ...t }) => ({ ...t, sha256: sha.get(`tables/${t.name}.tsv`)! })),
    );
    expect(extraOf(old).tables.every((t) => /^[0-9a-f]{64}$/.test(t.sha256 ?? ''))).toBe(true);
    const fromOld = await restoreWith(await reopen(volume), old);
    expect(fromOld.error).toBeUndefined();
    expect(await describeDb(fromOld.target)).toEqual(source);

    const flip = (hex: string) => (hex[0] === '0' ? '1' : '0') + hex.slice(1);
    const damaged: Array<[string, Manifest]> = [
      ['blake3', withTables(manifest, tables.map((t) => (t.name === 'items' ? { ...t, blake3: flip(t.blake3!) } : t)))],
      ['sha256', withTables(old, extraOf(old).tables.map((t) => (t.name === 'notes' ? { ...t, sha256: flip(t.sha256!) } : t)))],
    ];
    for (const [what, m] of damaged) {
      const r = await restoreWith(await reopen(volume), m);
      expect(isArcaError(r.error) && r.error.code, what).toBe('CORRUPT');
      expect(String((r.error as Error).message), what).toMatch(/does not match the checksum recorded at backup time/);
    }
    expect(await leftoverRestoreDbs()).toEqual([]); // a refused restore leaves no half-loaded database
  });
});

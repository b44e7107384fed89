// The per-table checksums a PostgreSQL backup records (stream-checksum.ts):
// new backups record BLAKE3 for every table and for the large objects; a
// restore recomputes it and refuses to finish when the data it loaded does
// not match. Backups made before BLAKE3 recorded SHA-256 (`sha256`): they
// still restore, checked with SHA-256. The old manifests are made here from a
// new backup's, with each `blake3` swapped for the SHA-256 of the stored
// stream, which is what the earlier code recorded.

import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/backend/memory/memory-backend.js';
import { isArcaError } from '../../../src/errors.js';
import { runBackup } from '../../../src/jobs/index.js';
import type { OpenVolume } from '../../../src/jobs/volume-service.js';
import type { Manifest } from '../../../src/repository/manifest.js';
import { postgresDriver } from '../../../src/sources/postgres/index.js';
import type { PostgresExtra } from '../../../src/sources/postgres/pg-backup.js';
import { LARGE_OBJECTS_NODE } from '../../../src/sources/postgres/pg-catalog.js';
import { restoreManifest, streamSha256s } from '../../helpers/stored-streams.js';
import { makeVolume, reopen } from '../../unit/repository/fixtures.js';
import { createDb, describeDb, dropScratch, leftoverRestoreDbs, scratchName, urlOf } from './pg-helpers.js';

const TABLES = `
CREATE TABLE items (id int PRIMARY KEY, v text);
INSERT INTO items SELECT i, repeat(md5(i::text), 3) FROM generate_series(1, 5000) i;
CREATE TABLE notes (id int PRIMARY KEY, note text);
INSERT INTO notes SELECT i, 'note ' || i FROM generate_series(1, 300) i;
SELECT lo_from_bytea(0, convert_to(repeat('large object ', 5000), 'UTF8'));
`;

afterAll(dropScratch);

const HEX64 = /^[0-9a-f]{64}$/;

/** Restores `manifest` (possibly edited) into a new database; returns its name, and the error if it failed. */
async function restoreWith(volume: OpenVolume, manifest: Manifest): Promise<{ target: string; error?: unknown }> {
  const target = scratchName();
  return { target, error: await restoreManifest(postgresDriver, volume, manifest, urlOf(target)) };
}

const extraOf = (m: Manifest) => (m.extra as unknown as PostgresExtra).postgres;
const withExtra = (m: Manifest, postgres: PostgresExtra['postgres']): Manifest => ({ ...m, extra: { ...(m.extra as object), postgres } });

describe('postgres per-table checksums', () => {
  it('new backups record BLAKE3; old SHA-256 manifests restore; a wrong or missing checksum fails the restore', async () => {
    const db = await createDb({ text: TABLES });
    const source = await describeDb(db);
    const volume = await makeVolume(new MemoryBackend(), { packSize: 256 * 1024 });
    const b = await runBackup({ volume, database: { name: 'db', url: urlOf(db) }, level: 0, expiresAt: null });
    const manifest = await (await reopen(volume)).repo.readManifest(b.id);
    const pg = extraOf(manifest);
    expect(pg.tables.map((t) => t.name).sort()).toEqual(['items', 'notes']);
    for (const t of pg.tables) {
      expect(t.blake3, t.name).toMatch(HEX64);
      expect(t.sha256, t.name).toBeUndefined();
    }
    expect(pg.largeObjects?.blake3).toMatch(HEX64);

    // As recorded: restores.
    const fresh = await restoreWith(await reopen(volume), manifest);
    expect(fresh.error).toBeUndefined();
    expect(await describeDb(fresh.target)).toEqual(source);

    // A manifest written before BLAKE3: SHA-256 of the same streams.
    const sha = await streamSha256s(await reopen(volume), manifest);
    const old = withExtra(manifest, {
      ...pg,
      tables: pg.tables.map(({ blake3: _dropped, ...t }) => {
        const recorded = sha.get(`tables/public.${t.name}.copy`);
        expect(recorded, t.name).toMatch(HEX64);
        return { ...t, sha256: recorded! };
      }),
      largeObjects: (({ blake3: _dropped, ...lo }) => ({ ...lo, sha256: sha.get(LARGE_OBJECTS_NODE)! }))(pg.largeObjects!),
    });
    const fromOld = await restoreWith(await reopen(volume), old);
    expect(fromOld.error).toBeUndefined();
    expect(await describeDb(fromOld.target)).toEqual(source);

    // Each wrong checksum is found: a table's BLAKE3, a table's old SHA-256, the large objects', or none at all.
    const flip = (hex: string) => (hex[0] === '0' ? '1' : '0') + hex.slice(1);
    const damaged: Array<[string, Manifest]> = [
      ['table blake3', withExtra(manifest, { ...pg, tables: pg.tables.map((t) => (t.name === 'notes' ? { ...t, blake3: flip(t.blake3!) } : t)) })],
      ['table sha256', withExtra(old, { ...extraOf(old), tables: extraOf(old).tables.map((t) => (t.name === 'items' ? { ...t, sha256: flip(t.sha256!) } : t)) })],
      ['large objects blake3', withExtra(manifest, { ...pg, largeObjects: { ...pg.largeObjects!, blake3: flip(pg.largeObjects!.blake3!) } })],
      ['no checksum', withExtra(manifest, { ...pg, tables: pg.tables.map(({ blake3: _dropped, ...t }) => t) })],
    ];
    for (const [what, m] of damaged) {
      const r = await restoreWith(await reopen(volume), m);
      expect(isArcaError(r.error) && r.error.code, what).toBe('CORRUPT');
      expect(String((r.error as Error).message), what).toMatch(/(does|do) not match the checksum recorded at backup time/);
    }
    expect(await leftoverRestoreDbs()).toEqual([]); // a refused restore leaves no half-loaded database
  });
});

// Owners and grants: kept when the roles exist on the target server; a
// backup whose roles are gone still restores (--no-owner --no-privileges).
// Also: a second backup after a small change adds little (key order), an
// existing empty database is restored into, and estimateBytes answers.

import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { runBackup, runRestore } from '../../../src/jobs/index.js';
import { postgresDriver } from '../../../src/sources/postgres/index.js';
import { makeVolume, reopen } from '../../unit/repository/fixtures.js';
import { createDb, describeDb, dropScratch, scratchName, sql, urlOf } from './pg-helpers.js';

const role = `arca_test_role_${randomBytes(4).toString('hex')}`;
const reader = `${role}_r`;

afterAll(async () => {
  await dropScratch();
  for (const r of [role, reader]) await sql('postgres', `DROP ROLE IF EXISTS ${r}`).catch(() => undefined);
});

const owned = () => `
CREATE SCHEMA app AUTHORIZATION ${role};
CREATE TABLE app.items (id int PRIMARY KEY, v text);
ALTER TABLE app.items OWNER TO ${role};
GRANT SELECT ON app.items TO ${reader};
INSERT INTO app.items VALUES (1, 'one'), (2, 'two');
SELECT lo_from_bytea(0, 'owned object');
DO $$ DECLARE o oid; BEGIN SELECT max(oid) INTO o FROM pg_largeobject_metadata;
  EXECUTE format('ALTER LARGE OBJECT %s OWNER TO ${role}', o);
  EXECUTE format('GRANT SELECT ON LARGE OBJECT %s TO ${reader}', o); END $$;
`;

async function backupOf(db: string) {
  const vol = await makeVolume();
  const b = await runBackup({ volume: vol, database: { name: db, url: urlOf(db) }, level: 0, expiresAt: null });
  return { vol, b };
}

describe('postgres owners, dedup, targets', () => {
  it('keeps owners and grants (tables and large objects) when the roles exist', async () => {
    await sql('postgres', `CREATE ROLE ${role}; CREATE ROLE ${reader}`);
    const db = await createDb({ text: owned() });
    const { vol, b } = await backupOf(db);
    const target = scratchName();
    await runRestore({ volume: await reopen(vol), backupId: b.id, to: urlOf(target), force: false });
    const d = await describeDb(target);
    expect(d).toEqual(await describeDb(db));
    expect(d.schema).toContain(`OWNER TO ${role}`);
    expect(d.largeObjects[0]).toMatch(new RegExp(`${role} .*${reader}=r/`));

    // the roles disappear: the same backup still restores, owned by the restoring user
    await sql('postgres', `DROP DATABASE ${db} WITH (FORCE)`);
    await sql('postgres', `DROP DATABASE ${target} WITH (FORCE)`);
    await sql('postgres', `DROP ROLE ${reader}; DROP ROLE ${role}`);
    const again = scratchName();
    await runRestore({ volume: await reopen(vol), backupId: b.id, to: urlOf(again), force: false });
    const d2 = await describeDb(again);
    expect(d2.schema).not.toContain(role);
    expect(d2.data['app.items']).toBe(d.data['app.items']);
  });

  it('restores into an existing empty database without --force', async () => {
    const db = await createDb({ text: 'CREATE TABLE a (x int PRIMARY KEY); INSERT INTO a VALUES (7);' });
    const empty = await createDb();
    const { vol, b } = await backupOf(db);
    await runRestore({ volume: await reopen(vol), backupId: b.id, to: urlOf(empty), force: false });
    expect((await sql(empty, 'SELECT x FROM a')).rows).toEqual([{ x: 7 }]);
  });

  it('a backup after a small change adds a small fraction of the first; estimateBytes answers', async () => {
    const db = await createDb({
      text: "CREATE TABLE big (id int PRIMARY KEY, pad text); INSERT INTO big SELECT i, md5(i::text) || repeat(md5((i * 7)::text), 3) FROM generate_series(1, 60000) i;",
    });
    expect(await postgresDriver.open(urlOf(db)).estimateBytes()).toBeGreaterThan(5_000_000);
    const vol = await makeVolume();
    const database = { name: db, url: urlOf(db) };
    const first = await runBackup({ volume: vol, database, level: 0, expiresAt: null });
    await sql(db, "UPDATE big SET pad = 'changed' WHERE id IN (100, 30000, 59000)");
    await sql(db, 'VACUUM big'); // updated rows now sit elsewhere physically; key order keeps the stream stable
    const second = await runBackup({ volume: await reopen(vol), database, level: 1, expiresAt: null });
    const [m1, m2] = [await vol.repo.readManifest(first.id), await (await reopen(vol)).repo.readManifest(second.id)];
    expect(m2.bytesAdded).toBeLessThan(m1.bytesAdded * 0.05);
  });
});

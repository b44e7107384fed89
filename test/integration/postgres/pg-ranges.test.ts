// Large tables dumped in key ranges (pg-ranges.ts, pg-table-parts.ts): the
// boundaries' stability rules, and, with a tiny part size
// (ARCA_PG_PART_BYTES), tables split into many parts that restore (in
// parallel) and export identical, whose recorded rows and SHA-256 equal an
// unsplit dump's; keys that cannot be split (text, none) still work.

import { execFileSync } from 'node:child_process';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runBackup, runExport, runRestore } from '../../../src/jobs/index.js';
import type { PostgresExtra } from '../../../src/sources/postgres/index.js';
import { HeldBytes, OrderedHash } from '../../../src/sources/postgres/pg-ordered-hash.js';
import { rangeBoundaries, rangesFrom } from '../../../src/sources/postgres/pg-ranges.js';
import { makeVolume, reopen, tempDir } from '../../unit/repository/fixtures.js';
import { createDb, describeDb, dropScratch, leftoverRestoreDbs, scratchName, sql, urlOf } from './pg-helpers.js';

const TABLES = String.raw`
CREATE TABLE big (id bigint PRIMARY KEY, t text, j jsonb, n numeric);
INSERT INTO big SELECT i * 3 - 20000, repeat(md5(i::text), 4) || E'\t\\n', jsonb_build_object('i', i), i / 7.0 FROM generate_series(1, 20000) i;
-- sparse keys: most ranges empty, one far away
INSERT INTO big VALUES (9000000000000000000, 'far', '{}', 1), (-9000000000000000000, 'far below', '{}', 2);
CREATE TABLE pair (a int, b int, v text, PRIMARY KEY (a, b));
INSERT INTO pair SELECT i / 10, i % 10, repeat(md5(i::text), 4) FROM generate_series(1, 20000) i;
CREATE TABLE small_int (id smallint PRIMARY KEY, v text);
INSERT INTO small_int SELECT i, repeat(md5(i::text), 20) FROM generate_series(-3000, 3000) i;
CREATE TABLE bytext (k text PRIMARY KEY, v text);
INSERT INTO bytext SELECT md5(i::text), repeat('x', 200) FROM generate_series(1, 8000) i;
CREATE TABLE nokey (a int, v text);
INSERT INTO nokey SELECT i % 100, repeat(md5(i::text), 4) FROM generate_series(1, 8000) i;
CREATE TABLE emptybig (id int PRIMARY KEY, v text);
ANALYZE;
`;

const setPartBytes = (n: number | undefined) => {
  if (n === undefined) delete process.env.ARCA_PG_PART_BYTES;
  else process.env.ARCA_PG_PART_BYTES = String(n);
};

afterEach(() => {
  setPartBytes(undefined);
  delete process.env.ARCA_PG_PARALLEL_PARTS;
});
afterAll(dropScratch);

async function backupWith(db: string, partBytes: number | undefined, jobs = 2) {
  setPartBytes(partBytes);
  const vol = await makeVolume();
  const b = await runBackup({ volume: vol, database: { name: db, url: urlOf(db) }, level: 0, expiresAt: null, jobs });
  setPartBytes(undefined);
  const extra = (await (await reopen(vol)).repo.readManifest(b.id)).extra as unknown as PostgresExtra;
  return { vol, b, byName: new Map(extra.postgres.tables.map((t) => [t.name, t])) };
}

describe('key range boundaries', () => {
  it('are multiples of a power-of-two step inside (min, max], at most maxParts ranges', () => {
    const b = rangeBoundaries(1n, 3_000_000n, 1_181_000_000);
    expect(b.length).toBeGreaterThan(20);
    const step = b[1]! - b[0]!;
    expect(step & (step - 1n)).toBe(0n);
    b.forEach((x) => expect(x % step).toBe(0n));
    expect(b[0]! > 1n && b.at(-1)! <= 3_000_000n).toBe(true);
    expect(rangeBoundaries(1n, 3_000_000n, 10_000_000)).toEqual([]); // small: unsplit
    expect(rangeBoundaries(-(2n ** 63n), 2n ** 63n - 1n, 1e12, { maxParts: 16 }).length).toBeLessThanOrEqual(15);
    expect(rangesFrom([10n, 20n])).toEqual([
      { from: null, to: '10' },
      { from: '10', to: '20' },
      { from: '20', to: null },
    ]);
  });

  it('stay put after a day of change: oldest rows deleted, new ones appended, the table a bit larger', () => {
    const day0 = rangeBoundaries(1n, 3_000_000n, 1_181_000_000);
    const day1 = rangeBoundaries(10_001n, 3_010_000n, 1_185_000_000);
    const common = day0.filter((x) => day1.includes(x));
    expect(common.length).toBeGreaterThanOrEqual(day0.length - 1);
    // when the density halves, the step doubles and every other boundary stays
    const sparse = rangeBoundaries(1n, 6_000_000n, 1_181_000_000);
    expect(sparse.every((x) => day0.includes(x) || x > 3_000_000n)).toBe(true);
  });
});

describe('ordered hash of parts read in parallel', () => {
  const pieces = [['a0', 'a1', 'a2'], ['b0', 'b1'], ['c0', 'c1', 'c2', 'c3']].map((p) => p.map((x) => Buffer.from(x.repeat(5))));
  const feed = async (h: OrderedHash, i: number, gate?: Promise<void>) => {
    for (const piece of pieces[i]!) {
      await h.add(i, piece);
      await gate;
    }
    h.end(i);
  };

  it.each(['blake3', 'sha256'] as const)('equals the %s of the parts concatenated, later parts waiting on a tiny budget', async (algorithm) => {
    const held = new HeldBytes(12);
    const h = new OrderedHash(3, held, algorithm);
    let open = () => undefined as void;
    const gate = new Promise<void>((r) => (open = r));
    const later = [feed(h, 2), feed(h, 1)];
    await new Promise((r) => setTimeout(r, 20));
    expect(held.held).toBeGreaterThan(12); // both later parts hold a piece and wait
    const head = feed(h, 0, gate);
    open();
    await Promise.all([head, ...later]);
    expect(held.held).toBe(0);
    const all = Buffer.concat(pieces.flat());
    const oracle = algorithm === 'sha256' ? createHash('sha256').update(all).digest('hex') : new Blake3Hasher().update(all).digest('hex');
    expect(h.digest()).toBe(oracle);
    expect(h.record()).toEqual({ [algorithm]: oracle });
  });

  it('a failure wakes the parts that wait', async () => {
    const held = new HeldBytes(1);
    const h = new OrderedHash(2, held);
    const waiting = feed(h, 1);
    await new Promise((r) => setTimeout(r, 10));
    held.fail(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
  });
});

describe('postgres tables split into key ranges', () => {
  it('restore and export identical; rows and checksum in extra equal an unsplit dump (parts on both connections)', async () => {
    process.env.ARCA_PG_PARALLEL_PARTS = '1';
    const db = await createDb({ text: TABLES });
    const whole = await backupWith(db, undefined);
    const split = await backupWith(db, 64 * 1024, 2);
    for (const name of ['big', 'pair', 'small_int']) {
      expect(whole.byName.get(name)?.parts, name).toBeUndefined();
      expect(split.byName.get(name)?.parts, name).toBeGreaterThan(2);
    }
    for (const name of ['bytext', 'nokey', 'emptybig']) expect(split.byName.get(name)?.parts, name).toBeUndefined();
    for (const [name, w] of whole.byName) {
      const s = split.byName.get(name)!;
      expect(w.blake3, name).toMatch(/^[0-9a-f]{64}$/);
      expect({ rows: s.rows, bytes: s.bytes, blake3: s.blake3 }, name).toEqual({ rows: w.rows, bytes: w.bytes, blake3: w.blake3 });
    }
    expect(whole.byName.get('big')?.rows).toBe(20002);

    const source = await describeDb(db);
    const target = scratchName();
    await runRestore({ volume: await reopen(split.vol), backupId: split.b.id, to: urlOf(target), force: false });
    expect(await describeDb(target)).toEqual(source);
    expect(await leftoverRestoreDbs()).toEqual([]);

    const dir = tempDir('arca-pg-ranges-');
    await runExport({ volume: await reopen(split.vol), backupId: split.b.id, output: 'split.sql', cwd: dir, force: false });
    const loaded = await createDb();
    execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', urlOf(loaded), '-f', join(dir, 'split.sql')], { stdio: ['ignore', 'ignore', 'pipe'] });
    expect(await describeDb(loaded)).toEqual(source);
  });

  it('parts one after the other, one connection, after a change: still the recorded hash of an unsplit dump', async () => {
    process.env.ARCA_PG_PARALLEL_PARTS = '0';
    const db = await createDb({ text: TABLES });
    await sql(db, "DELETE FROM big WHERE id < 0; INSERT INTO big SELECT i * 3, 'new', '{}', 0 FROM generate_series(20001, 21000) i; UPDATE pair SET v = 'changed' WHERE a = 5");
    const whole = await backupWith(db, undefined);
    const split = await backupWith(db, 48 * 1024, 1);
    expect(split.byName.get('big')?.parts).toBeGreaterThan(2);
    for (const [name, w] of whole.byName) {
      expect(w.blake3, name).toMatch(/^[0-9a-f]{64}$/);
      expect(split.byName.get(name)?.blake3, name).toBe(w.blake3);
    }
    const target = scratchName();
    await runRestore({ volume: await reopen(split.vol), backupId: split.b.id, to: urlOf(target), force: false });
    expect(await describeDb(target)).toEqual(await describeDb(db));
  });
});

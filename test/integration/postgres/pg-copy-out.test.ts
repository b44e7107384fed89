// CopyOut (pg-copy-out.ts) against the real server: byte-exact output versus
// psql's COPY TO STDOUT for hard values and for any buffer size (rows split
// across buffers and socket reads, rows larger than a buffer, multibyte UTF-8
// split), the row count, an empty table, an error in the middle of a copy,
// an abort in the middle, a consumer that stops early, and the connection
// staying usable after each. Everything runs on pg's own socket and on the
// recycling socket Arca's connections use (pg-socket.ts: views of one read
// buffer, no 'data' events during the copy).

import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyOut } from '../../../src/sources/postgres/pg-copy-out.js';
import { canReadRaw, pgStream } from '../../../src/sources/postgres/pg-socket.js';
import { createDb, dropScratch, urlOf } from './pg-helpers.js';

const TABLES = String.raw`
CREATE TABLE hard (id int PRIMARY KEY, t text, b bytea, j jsonb);
INSERT INTO hard VALUES
  (1, E'tab\there', '\x00ff5c09'::bytea, '{"a": "b\\c"}'),
  (2, E'new\nline\r\n', NULL, NULL),
  (3, E'back\\slash \\N', '\x'::bytea, '[]'),
  (4, NULL, NULL, NULL),
  (5, '', '\x5c'::bytea, '{}');
INSERT INTO hard SELECT 100 + i, repeat('é€😀ß', i % 50) || i, decode(repeat(md5(i::text), 3), 'hex'), jsonb_build_object('i', i)
  FROM generate_series(1, 3000) i;
-- rows far larger than the small buffer sizes below, and one larger than the default (256 KiB)
INSERT INTO hard VALUES (9000, repeat('ü😀x', 40000), NULL, NULL), (9001, repeat(E'\t\\', 200000), NULL, NULL);
CREATE TABLE empty (id int);
CREATE TABLE boom (id int PRIMARY KEY, d int);
INSERT INTO boom SELECT i, CASE WHEN i = 30000 THEN 0 ELSE 1 END FROM generate_series(1, 30000) i;
CREATE TABLE big (id int PRIMARY KEY, v text);
INSERT INTO big SELECT i, repeat(md5(i::text), 8) FROM generate_series(1, 200000) i;
`;

let db: string;
const clients: Record<'pg' | 'recycling', pg.Client | undefined> = { pg: undefined, recycling: undefined };

function psqlCopy(sql: string): Buffer {
  return execFileSync('psql', ['-X', '-q', '-d', urlOf(db), '-c', `COPY (${sql}) TO STDOUT`], { maxBuffer: 256 << 20 });
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const b of it) out.push(Buffer.from(b));
  return out;
}

beforeAll(async () => {
  db = await createDb({ text: TABLES });
  clients.pg = new pg.Client({ connectionString: urlOf(db) });
  clients.recycling = new pg.Client({ connectionString: urlOf(db), stream: pgStream });
  for (const c of Object.values(clients)) {
    await c!.connect();
    await c!.query("SET client_encoding = 'UTF8'");
  }
});

afterAll(async () => {
  for (const c of Object.values(clients)) await c?.end();
  await dropScratch();
});

const socketOf = (c: pg.Client): import('node:net').Socket => (c as unknown as { connection: { stream: import('node:net').Socket } }).connection.stream;

describe.each(['pg', 'recycling'] as const)('CopyOut on the %s socket', (kind) => {
  const HARD = 'SELECT * FROM hard ORDER BY id';
  let client: pg.Client;
  beforeAll(() => {
    client = clients[kind]!;
    expect(canReadRaw(socketOf(client))).toBe(kind === 'recycling');
  });

  it.each([
    [7, false],
    [4096, true],
    [65536, false],
    [undefined, false],
    [undefined, true],
  ])('matches psql byte for byte (buffers of %s bytes, recycled: %s)', async (chunkBytes, recycle) => {
    const want = psqlCopy(HARD);
    const copy = copyOut(client, `COPY (${HARD}) TO STDOUT`, chunkBytes === undefined ? { recycle } : { chunkBytes, recycle });
    const parts: Buffer[] = [];
    const memory = new Set<ArrayBufferLike>();
    for await (const b of copy) {
      parts.push(Buffer.from(b));
      memory.add(b.buffer);
    }
    // recycled buffers are refilled, not allocated one per yield
    if (recycle) expect(memory.size).toBeLessThan(Math.max(3, parts.length / 4));
    else expect(memory.size).toBe(parts.length);
    const got = Buffer.concat(parts);
    expect(got.equals(want)).toBe(true);
    expect(copy.rowCount).toBe(3007);
    // every buffer but the last is full
    const size = chunkBytes ?? 256 * 1024;
    for (const p of parts.slice(0, -1)) expect(p.length).toBe(size);
    expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  });

  it('yields nothing for an empty table, with a row count of 0', async () => {
    const copy = copyOut(client, 'COPY empty TO STDOUT');
    expect(await collect(copy)).toEqual([]);
    expect(copy.rowCount).toBe(0);
  });

  it('keeps up with a consumer that is slower than the socket (backpressure)', async () => {
    const want = psqlCopy('SELECT * FROM big ORDER BY id');
    const copy = copyOut(client, 'COPY (SELECT * FROM big ORDER BY id) TO STDOUT', { chunkBytes: 64 * 1024 });
    const parts: Buffer[] = [];
    for await (const b of copy) {
      parts.push(b);
      if (parts.length % 50 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    expect(Buffer.concat(parts).equals(want)).toBe(true);
    expect(copy.rowCount).toBe(200000);
  });

  it('rejects with the server message when the statement fails mid-copy, and the connection stays usable', async () => {
    const copy = copyOut(client, 'COPY (SELECT id, 1 / d FROM boom ORDER BY id) TO STDOUT', { chunkBytes: 4096 });
    let seen = 0;
    await expect(
      (async () => {
        for await (const b of copy) seen += b.length;
      })(),
    ).rejects.toThrow(/division by zero/);
    expect(seen).toBeGreaterThan(0);
    expect((await client.query('SELECT 2 AS two')).rows[0].two).toBe(2);
  });

  it('rejects a statement that is not a COPY TO', async () => {
    await expect(collect(copyOut(client, 'SELECT 1'))).rejects.toThrow(/not a COPY TO STDOUT/);
    await expect(collect(copyOut(client, 'COPY nosuch TO STDOUT'))).rejects.toThrow(/does not exist/);
    expect((await client.query('SELECT 3 AS three')).rows[0].three).toBe(3);
  });

  it('aborts mid-copy (cancel), rejecting ABORTED at once; the connection is usable afterwards', async () => {
    const ac = new AbortController();
    const sql = 'COPY (SELECT b.*, pg_sleep(CASE WHEN b.id % 20000 = 0 THEN 0.2 ELSE 0 END) FROM big b ORDER BY id) TO STDOUT';
    const copy = copyOut(client, sql, { signal: ac.signal, chunkBytes: 8192 });
    let n = 0;
    await expect(
      (async () => {
        for await (const b of copy) {
          n += b.length;
          if (n > 100_000) ac.abort();
        }
      })(),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    const started = Date.now();
    expect((await client.query('SELECT 4 AS four')).rows[0].four).toBe(4);
    expect(Date.now() - started).toBeLessThan(3000); // cancelled, not run to the end
  });

  it('cancels when the consumer stops early; an abort before its turn sends nothing', async () => {
    const copy = copyOut(client, 'COPY (SELECT * FROM big ORDER BY id) TO STDOUT', { chunkBytes: 8192 });
    for await (const b of copy) {
      expect(b.length).toBe(8192);
      break;
    }
    expect((await client.query('SELECT 5 AS five')).rows[0].five).toBe(5);
    const ac = new AbortController();
    ac.abort();
    await expect(collect(copyOut(client, 'COPY big TO STDOUT', { signal: ac.signal }))).rejects.toMatchObject({ code: 'ABORTED' });
    expect((await client.query('SELECT 6 AS six')).rows[0].six).toBe(6);
  });

  it('fails when the connection is lost mid-copy', async () => {
    const c = new pg.Client({ connectionString: urlOf(db), ...(kind === 'recycling' ? { stream: pgStream } : {}) });
    c.on('error', () => undefined);
    await c.connect();
    const copy = copyOut(c, 'COPY (SELECT * FROM big ORDER BY id) TO STDOUT', { chunkBytes: 8192 });
    const stream = (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream;
    await expect(
      (async () => {
        let k = 0;
        for await (const _ of copy) if (++k === 3) stream.destroy();
      })(),
    ).rejects.toThrow(/terminated|closed|ended/i);
    await c.end().catch(() => undefined);
  });
});

// (On pg's own socket a second 'data' listener is refused: CopyOut swaps pg's one out.)
describe('the recycling socket', () => {
  let client: pg.Client;
  beforeAll(() => {
    client = clients.recycling!;
  });

  it('sends no data event during a copy, and pg its replies as before', async () => {
    let events = 0;
    const count = () => events++;
    socketOf(client).on('data', count);
    const copy = copyOut(client, 'COPY (SELECT * FROM big ORDER BY id) TO STDOUT');
    let bytes = 0;
    for await (const b of copy) bytes += b.length;
    const duringCopy = events;
    const { rows } = await client.query<{ n: string; s: string }>('SELECT count(*) AS n, sum(length(v)) AS s FROM big');
    socketOf(client).off('data', count);
    expect(rows[0]).toEqual({ n: '200000', s: String(200000 * 256) });
    expect(bytes).toBeGreaterThan(200000 * 256);
    expect(duringCopy).toBeLessThanOrEqual(1); // at most the read that ends the copy
    expect(events).toBeGreaterThan(duringCopy);
  });
});

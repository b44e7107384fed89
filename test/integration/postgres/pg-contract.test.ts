// The PostgreSQL driver runs the Source contract against the local server.

import { afterAll } from 'vitest';
import { postgresDriver } from '../../../src/sources/postgres/index.js';
import { runSourceContract } from '../../unit/sources/contract.js';
import { createDb, describeDb, dropScratch, scratchName, sql, urlOf } from './pg-helpers.js';

const SMALL = `
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, note text);
INSERT INTO customers SELECT i, 'customer ' || i, CASE WHEN i % 7 = 0 THEN NULL ELSE repeat('x', i % 50) END FROM generate_series(1, 3000) i;
CREATE TABLE events (at timestamptz, what text);
INSERT INTO events SELECT '2024-01-01'::timestamptz + i * interval '1 minute', 'event ' || i FROM generate_series(1, 500) i;
CREATE TABLE orders (id serial PRIMARY KEY, customer int REFERENCES customers, total numeric(12,2));
INSERT INTO orders (customer, total) SELECT 1 + i % 3000, i * 1.25 FROM generate_series(1, 2000) i;
CREATE INDEX ON orders (customer);
`;

afterAll(dropScratch);

runSourceContract('postgres', () => ({
  driver: postgresDriver,
  create: async () => urlOf(await createDb({ text: SMALL })),
  change: async (url) => {
    const db = new URL(url).pathname.slice(1);
    await sql(db, "UPDATE customers SET note = 'changed' WHERE id % 100 = 0");
    await sql(db, 'DELETE FROM orders WHERE id < 50');
    await sql(db, 'INSERT INTO orders (customer, total) SELECT 1, 9.99 FROM generate_series(1, 30)');
  },
  freshTarget: async () => urlOf(scratchName()),
  occupiedTarget: async () => urlOf(await createDb({ text: "CREATE TABLE precious (x text); INSERT INTO precious VALUES ('keep me');" })),
  describe: (url) => describeDb(url),
}));

// The MySQL/MariaDB driver runs the Source contract against the local server.

import { afterAll } from 'vitest';
import { mysqlDriver } from '../../../src/sources/mysql/index.js';
import { runSourceContract } from '../../unit/sources/contract.js';
import { createDb, describeDb, dropScratch, scratchName, sql, urlOf } from './mysql-helpers.js';

const SMALL = `
CREATE TABLE customers (id int PRIMARY KEY, name varchar(100) NOT NULL, note text);
INSERT INTO customers SELECT seq, CONCAT('customer ', seq), IF(seq % 7 = 0, NULL, REPEAT('x', seq % 50)) FROM seq_1_to_3000;
CREATE TABLE events (at timestamp(6) NULL, what text);
INSERT INTO events SELECT TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq MINUTE, CONCAT('event ', seq) FROM seq_1_to_500;
CREATE TABLE orders (id int AUTO_INCREMENT PRIMARY KEY, customer int, total decimal(12,2), KEY (customer), FOREIGN KEY (customer) REFERENCES customers (id));
INSERT INTO orders (customer, total) SELECT 1 + seq % 3000, seq * 1.25 FROM seq_1_to_2000;
`;

afterAll(dropScratch);

runSourceContract('mysql', () => ({
  driver: mysqlDriver,
  create: async () => urlOf(await createDb({ text: SMALL })),
  change: async (url) => {
    const db = new URL(url).pathname.slice(1);
    await sql(db, "UPDATE customers SET note = 'changed' WHERE id % 100 = 0");
    await sql(db, 'DELETE FROM orders WHERE id < 50');
    await sql(db, 'INSERT INTO orders (customer, total) SELECT 1, 9.99 FROM seq_1_to_30');
  },
  freshTarget: async () => urlOf(scratchName()),
  occupiedTarget: async () => urlOf(await createDb({ text: "CREATE TABLE precious (x text); INSERT INTO precious VALUES ('keep me');" })),
  describe: (url) => describeDb(url),
}));

// The sources layer: one folder per kind of database, each a SourceDriver.
// This file picks the driver for a URL and normalizes user input.

import { ArcaError } from '../errors.js';
import { filesDriver } from './files/files-driver.js';
import { mysqlDriver } from './mysql/mysql-driver.js';
import { postgresDriver } from './postgres/postgres-driver.js';
import { sqliteDriver } from './sqlite/sqlite-driver.js';
import type { SourceDriver } from './source.js';

export * from './source.js';

const drivers: SourceDriver[] = [postgresDriver, mysqlDriver, sqliteDriver, filesDriver];

/** Canonical URL for a database given as a URL or a plain path. */
export function normalizeDatabaseUrl(input: string): string {
  for (const d of drivers) {
    const url = d.normalize(input);
    if (url !== undefined) return url;
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(input)?.[1];
  throw new ArcaError('USAGE', scheme ? `unsupported database URL scheme "${scheme}:" (supported: postgres://, postgresql://, mysql://, mariadb://, sqlite://, file://)` : `"${input}" is not a database URL or path`);
}

export function driverFor(url: string): SourceDriver {
  const d = drivers.find((x) => x.handles(url));
  if (!d) throw new ArcaError('USAGE', `no source handles ${url}`);
  return d;
}

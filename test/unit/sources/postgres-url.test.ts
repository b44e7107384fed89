// PostgreSQL URL handling without a server: normalization and redaction.

import { describe, expect, it } from 'vitest';
import { normalizeDatabaseUrl } from '../../../src/sources/index.js';
import { escapeName, tableNodeName } from '../../../src/sources/postgres/pg-catalog.js';
import { childConnection, normalizePostgresUrl, redactUrl, splitPassword } from '../../../src/sources/postgres/pg-url.js';

describe('postgres URLs', () => {
  it('normalizes postgresql:// to postgres://, keeps user, host, port, database and params, and is idempotent', () => {
    const u = normalizePostgresUrl('postgresql://app@DB.example.com:6432/shop?sslmode=require&application_name=x');
    expect(u).toBe('postgres://app@db.example.com:6432/shop?sslmode=require&application_name=x');
    expect(normalizePostgresUrl(u!)).toBe(u);
    expect(normalizeDatabaseUrl('postgres://app@localhost/shop')).toBe('postgres://app@localhost/shop');
    expect(normalizePostgresUrl('file:///tmp')).toBeUndefined();
  });

  it('rejects URLs without a database or host, without echoing the password', () => {
    expect(() => normalizePostgresUrl('postgres://u:hunter2@host')).toThrow(/names no database/);
    expect(() => normalizePostgresUrl('postgres://u:hunter2@host')).not.toThrow(/hunter2/);
    expect(() => normalizePostgresUrl('postgres:///db')).toThrow(/names no host/);
    expect(normalizePostgresUrl('postgres:///db?host=/run/postgresql')).toBe('postgres:///db?host=/run/postgresql');
  });

  it('redacts passwords in URLs and conninfo text; children get the password only in their environment', () => {
    expect(redactUrl('failed: postgres://u:p%40ss@h:5432/db and postgresql://x:y@z/w')).toBe('failed: postgres://u:***@h:5432/db and postgresql://x:***@z/w');
    expect(redactUrl("host=h password='a b' user=u")).toBe('host=h password=*** user=u');
    expect(splitPassword('postgres://u:p%40ss@h/db')).toEqual({ url: 'postgres://u@h/db', password: 'p@ss' });
    const c = childConnection('postgres://u:p%40ss@h/db?sslmode=disable');
    expect(c.dbnameArg).toBe('--dbname=postgres://u@h/db?sslmode=disable');
    expect(c.env.PGPASSWORD).toBe('p@ss');
  });

  it('escapes any identifier into a reversible node name', () => {
    expect(escapeName('plain_Name-1')).toBe('plain_Name-1');
    expect(tableNodeName('Odd Schema', 'we!rd.name/x%y')).toBe('Odd%20Schema.we%21rd%2Ename%2Fx%25y.copy');
    expect(escapeName('é')).toBe('%C3%A9');
  });
});

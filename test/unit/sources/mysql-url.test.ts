// MySQL/MariaDB URL normalization, redaction and connection options.

import { describe, expect, it } from 'vitest';
import { mysqlDriver } from '../../../src/sources/mysql/index.js';
import { connectionOptions, lockWaitSecondsOf, redactUrl, splitPassword } from '../../../src/sources/mysql/mysql-url.js';
import { normalizeDatabaseUrl } from '../../../src/sources/index.js';

describe('mysql URLs', () => {
  it('normalizes mysql:// and mariadb:// to mysql://user@host:port/db', () => {
    expect(mysqlDriver.normalize('mariadb://App@DB.Example.com/shop')).toBe('mysql://App@db.example.com:3306/shop');
    expect(mysqlDriver.normalize('MYSQL://u:p%40ss@h:3307/shop#frag')).toBe('mysql://u:p%40ss@h:3307/shop');
    expect(mysqlDriver.normalize('mysql://u@h/my%20db')).toBe('mysql://u@h:3306/my%20db');
    expect(normalizeDatabaseUrl('mariadb://u@h/x')).toBe('mysql://u@h:3306/x');
    expect(mysqlDriver.normalize('postgres://u@h/x')).toBeUndefined();
  });

  it('is idempotent and handled by the driver', () => {
    const u = mysqlDriver.normalize('mariadb://u:pw@h/x')!;
    expect(mysqlDriver.normalize(u)).toBe(u);
    expect(mysqlDriver.handles(u)).toBe(true);
  });

  it('refuses URLs without a database or host, without printing the password', () => {
    expect(() => mysqlDriver.normalize('mysql://u:s3cret@h/')).toThrow(/names no database/);
    expect(() => mysqlDriver.normalize('mysql://u:s3cret@h/')).not.toThrow(/s3cret/);
    expect(() => mysqlDriver.normalize('mysql:///db')).toThrow(/names no host/);
  });

  it('takes ?lock_wait_timeout=SECONDS (default 300) and refuses anything else at db add', () => {
    expect(lockWaitSecondsOf('mysql://u@h:3306/x')).toBe(300);
    expect(lockWaitSecondsOf(mysqlDriver.normalize('mysql://u@h/x?lock_wait_timeout=20')!)).toBe(20);
    for (const bad of ['0', '1.5', '-3', 'soon', '99999999999']) {
      expect(() => mysqlDriver.normalize(`mysql://u:s3cret@h/x?lock_wait_timeout=${bad}`)).toThrow(/whole number of seconds/);
    }
  });

  it('redacts passwords and keeps them out of the bare URL', () => {
    expect(redactUrl('failed: mysql://u:s3cret@h:3306/x')).toBe('failed: mysql://u:***@h:3306/x');
    expect(splitPassword('mysql://u:s%3Acret@h:3306/x')).toEqual({ url: 'mysql://u@h:3306/x', password: 's:cret' });
  });

  it('takes the password from the URL, else MYSQL_PWD', () => {
    expect(connectionOptions('mysql://u:pw@h:3306/x')).toMatchObject({ user: 'u', password: 'pw', host: 'h', port: 3306, database: 'x' });
    process.env.MYSQL_PWD = 'fromenv';
    try {
      expect(connectionOptions('mysql://u@h:3306/x').password).toBe('fromenv');
      expect(connectionOptions('mysql://u:pw@h:3306/x').password).toBe('pw');
    } finally {
      delete process.env.MYSQL_PWD;
    }
    expect(connectionOptions('mysql://u@h:3306/x', null).database).toBeUndefined();
  });
});

// Validation of uploaded MySQL/MariaDB scripts (no database involved): the
// headers of arca export, mariadb-dump and mysqldump are accepted; other
// files, NUL bytes and statements that create or switch a database are
// refused with a USAGE error; the client's password travels only in its
// environment.
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { isArcaError } from '../../../src/errors.js';
import { clientInvocation, scriptCharset, validateMysqlExport } from '../../../src/jobs/upload/mysql-upload.js';
import { makeScratch } from '../../helpers/index.js';

const scratch = makeScratch('mysql-upload');
afterAll(() => scratch.cleanup());

let n = 0;
function file(content: string | Buffer): string {
  const path = scratch.path(`f${n++}.sql`);
  writeFileSync(path, content);
  return path;
}

const ARCA = '-- MySQL/MariaDB export of backup 3fa2 (database shop, 2026-01-01T00:00:00Z), written by Arca.\n-- Load into an empty database: mariadb DBNAME < FILE\n\nSET NAMES utf8mb4;\nALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;\n';
const MARIADB = '/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)\n--\n-- Host: 127.0.0.1    Database: shop\n/*!40101 SET NAMES utf8mb4 */;\n';
const MYSQL = '-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n--\n-- Host: localhost    Database: shop\n/*!50503 SET NAMES utf8mb4 */;\n';

async function refusal(path: string): Promise<string> {
  try {
    await validateMysqlExport(path);
  } catch (err) {
    expect(isArcaError(err, 'USAGE')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('validateMysqlExport', () => {
  it('accepts arca export, mariadb-dump and mysqldump scripts', async () => {
    const body = "CREATE TABLE t (id int, s text);\nINSERT INTO t VALUES (1,'USE x; CREATE DATABASE y'),\n(2,'a');\n";
    for (const head of [ARCA, MARIADB, MYSQL]) expect(await validateMysqlExport(file(head + body))).toBe('mysql-sql');
    expect(await validateMysqlExport(file(`${MARIADB}/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE */;\nALTER DATABASE DEFAULT CHARACTER SET latin1;\nuser_table_row;\n`))).toBe('mysql-sql');
  });

  it('refuses files that are not such a dump', async () => {
    for (const content of ['hello world\n', 'SELECT 1;\n', '-- PostgreSQL database dump\n', Buffer.from('SQLite format 3\0'), `\n${MYSQL}`]) {
      expect(await refusal(file(content))).toMatch(/not a MySQL\/MariaDB export/);
    }
  });

  it('refuses NUL bytes anywhere, also past the first megabyte', async () => {
    expect(await refusal(file(Buffer.concat([Buffer.from(ARCA), Buffer.from([0x41, 0x00, 0x42])])))).toMatch(/NUL bytes/);
    const long = Buffer.alloc(3 << 20, 0x41);
    long[(3 << 20) - 2] = 0;
    expect(await refusal(file(Buffer.concat([Buffer.from(MARIADB), long])))).toMatch(/NUL bytes/);
  });

  it('refuses statements that create, drop, alter or switch a database, naming the line', async () => {
    const cases: Array<[string, RegExp]> = [
      ['CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop`;\n', /creates, drops or alters a database at line 6 /],
      ['USE `shop`;\n', /switches a database at line 6 /],
      ['  use other;\n', /switches a database at line 6/],
      ['/*!40000 DROP DATABASE IF EXISTS `shop`*/;\n', /line 6/],
      ['create schema x;\n', /line 6/],
      ['ALTER DATABASE `other` CHARACTER SET latin1;\n', /line 6/],
    ];
    for (const [line, message] of cases) {
      const text = await refusal(file(`${MARIADB}${line}SELECT 1;\n`));
      expect(text).toMatch(message);
      expect(text).toMatch(/without --databases\/--all-databases/);
    }
  });

  it('finds such a statement after lines longer than the read buffer', async () => {
    const longLine = `INSERT INTO t VALUES ('${'x'.repeat((1 << 20) + 123)}');\n`;
    expect(await refusal(file(`${ARCA}${longLine}${longLine}USE other;\n`))).toMatch(/switches a database at line 8 /);
  });
});

describe('the client invocation', () => {
  it('takes the character set from the script header', () => {
    expect(scriptCharset(ARCA)).toBe('utf8mb4');
    expect(scriptCharset(MYSQL.replace('utf8mb4', 'latin1'))).toBe('latin1');
    expect(scriptCharset('-- MySQL dump\n')).toBe('utf8mb4');
  });

  it('passes the password only in MYSQL_PWD and loads SQL only', () => {
    const { args, env } = clientInvocation('/usr/bin/mariadb', 'mysql://app:s3cr%2Et@db.example.com:3307/shop', 'arca_restore_x', 'utf8mb4');
    expect(args.join(' ')).not.toContain('s3cr');
    expect(env.MYSQL_PWD).toBe('s3cr.t');
    expect(args.slice(0, 2)).toEqual(['--no-defaults', '--skip-print-query-on-error']);
    expect(args).toEqual(expect.arrayContaining(['--binary-mode', '--local-infile=0', '--user=app', '--host=db.example.com', '--port=3307', '--database=arca_restore_x', '--default-character-set=utf8mb4']));
    expect(clientInvocation('mysql', 'mysql://app@localhost:3306/shop?socket=%2Frun%2Fmysqld.sock', 's', 'binary').args).toContain('--socket=/run/mysqld.sock');
  });
});

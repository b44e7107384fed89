// Validation of uploaded MySQL/MariaDB scripts (no database involved): the
// headers of arca export, mariadb-dump and mysqldump are accepted; other
// files and NUL bytes are refused with a USAGE error; the database statements
// of a `--databases` dump of ONE database (USE, CREATE/DROP DATABASE in all
// their versioned-comment forms, ALTER DATABASE <name>) are neutralised in a
// copy beside the upload, a second database name or a statement that cannot
// be isolated on its line is refused with its line number, and lines inside
// multi-line strings or comments are never rewritten; the client's password
// travels only in its environment.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { isArcaError } from '../../../src/errors.js';
import { rewriteDatabaseLine } from '../../../src/jobs/upload/mysql-script-scan.js';
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
    for (const head of [ARCA, MARIADB, MYSQL]) {
      const path = file(head + body);
      // Nothing to neutralise: the upload itself is loaded, no copy is written.
      expect(await validateMysqlExport(path)).toEqual({ format: 'mysql-sql', load: path });
      expect(existsSync(`${path}.arca-load`)).toBe(false);
    }
    const path = file(`${MARIADB}/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE */;\nALTER DATABASE DEFAULT CHARACTER SET latin1;\nuser_table_row;\n`);
    expect(await validateMysqlExport(path)).toEqual({ format: 'mysql-sql', load: path });
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

  it('refuses a file without the dump header before reading further', async () => {
    expect(await refusal(file('SELECT 1;\nUSE shop;\n'))).toMatch(/not a MySQL\/MariaDB export/);
  });
});

/** Validates `body` (latin1: one char a byte) after the mariadb-dump header; the text Arca loads (the copy, or the file itself). */
async function loaded(body: string): Promise<string> {
  const path = file(Buffer.from(MARIADB + body, 'latin1'));
  const { load } = await validateMysqlExport(path);
  expect(readFileSync(path, 'latin1')).toBe(MARIADB + body);
  return readFileSync(load, 'latin1').slice(MARIADB.length);
}

describe('a dump of one database made with --databases', () => {
  it('is loaded from a copy beside it in which its database statements are neutralised', async () => {
    // mariadb-dump 10.11 --databases --add-drop-database --routines, byte for byte (the routine's database collation differed).
    const dump = [
      '',
      '--',
      '-- Current Database: `shop`',
      '--',
      '',
      '/*!40000 DROP DATABASE IF EXISTS `shop`*/;',
      '',
      'CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci */;',
      '',
      'USE `shop`;',
      "INSERT INTO `t` VALUES (1,'USE other;\\nDROP DATABASE x;'),(2,'it\\'s'),(3,'a''b');",
      'ALTER DATABASE `shop` CHARACTER SET latin1 COLLATE latin1_swedish_ci ;',
      'CREATE PROCEDURE p() SELECT 1;',
      'ALTER DATABASE `shop` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci ;',
      '',
      '--',
      '-- Current Database: `shop`',
      '--',
      '',
      'USE `shop`;',
      '/*!50001 CREATE VIEW `v` AS select 1 AS `1` */;',
      '',
    ].join('\n');
    const path = file(MARIADB + dump);
    const result = await validateMysqlExport(path);
    expect(result).toEqual({ format: 'mysql-sql', load: `${path}.arca-load` });
    expect(readFileSync(path, 'latin1')).toBe(MARIADB + dump); // the upload itself is left as it came
    expect(readFileSync(result.load, 'latin1')).toBe(
      MARIADB +
        dump
          .replace('/*!40000 DROP DATABASE IF EXISTS `shop`*/;', '-- arca: skipped: /*!40000 DROP DATABASE IF EXISTS `shop`*/;')
          .replace('CREATE DATABASE /*!32312', '-- arca: skipped: CREATE DATABASE /*!32312')
          .replaceAll('\nUSE `shop`;', '\n-- arca: skipped: USE `shop`;')
          .replaceAll('ALTER DATABASE `shop` CHARACTER SET', 'ALTER DATABASE CHARACTER SET'),
    );
  });

  it('accepts every spelling of the one name: versioned comments, backquotes, spaces, no quotes, CRLF', async () => {
    const cases: Array<[string, string]> = [
      // mysqldump 8.0
      [
        "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `app` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci */ /*!80016 DEFAULT ENCRYPTION='N' */;\nUSE `app`;\n",
        "-- arca: skipped: CREATE DATABASE /*!32312 IF NOT EXISTS*/ `app` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci */ /*!80016 DEFAULT ENCRYPTION='N' */;\n-- arca: skipped: USE `app`;\n",
      ],
      // phpMyAdmin, hand-written: no quotes, lower case, IF [NOT] EXISTS, OR REPLACE, SCHEMA, indented, a trailing comment
      [
        'DROP DATABASE IF EXISTS app;\ncreate database if not exists app default character set utf8mb4;\n  use app; -- switch\nCREATE OR REPLACE SCHEMA `app`;\nUSE`app`;\n',
        '-- arca: skipped: DROP DATABASE IF EXISTS app;\n-- arca: skipped: create database if not exists app default character set utf8mb4;\n-- arca: skipped: use app; -- switch\n-- arca: skipped: CREATE OR REPLACE SCHEMA `app`;\n-- arca: skipped: USE`app`;\n',
      ],
      // backquoted names with spaces, doubled backquotes and UTF-8 (the same name each time)
      [
        '/*!40000 DROP DATABASE IF EXISTS `my ``odd`` café`*/;\nUSE `my ``odd`` café`;\n/*M!100000 ALTER SCHEMA `my ``odd`` café` COLLATE utf8mb4_bin */;\n',
        '-- arca: skipped: /*!40000 DROP DATABASE IF EXISTS `my ``odd`` café`*/;\n-- arca: skipped: USE `my ``odd`` café`;\n/*M!100000 ALTER SCHEMA COLLATE utf8mb4_bin */;\n',
      ],
      // CRLF line ends stay as they were
      ['USE `app`;\r\nSELECT 1;\r\nUSE app;\r\n', '-- arca: skipped: USE `app`;\r\nSELECT 1;\r\n-- arca: skipped: USE app;\r\n'],
    ];
    for (const [body, expected] of cases) expect(await loaded(Buffer.from(body, 'utf8').toString('latin1'))).toBe(Buffer.from(expected, 'utf8').toString('latin1'));
  });

  it('follows strings and comments, so that quotes in them do not hide a database statement', async () => {
    const body = [
      "INSERT INTO t VALUES ('a\\\\'),('b''c'),(\"d\\\"\"),('/*'),('--'),('#');",
      "-- it's a comment",
      "# and so is \"this",
      "/* a 'comment' */ /*!40101 SET @x='it''s;' */;",
      'USE `shop`;',
      'CREATE TABLE `q``t` (i int);',
      'USE `shop`;',
      '',
    ].join('\n');
    expect(await loaded(body)).toBe(body.replaceAll('USE `shop`;', '-- arca: skipped: USE `shop`;'));
  });

  it('refuses a second database name, naming both lines', async () => {
    const cases: Array<[string, RegExp]> = [
      // --all-databases / two --databases
      ['CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop`;\nUSE `shop`;\nSELECT 1;\nCREATE DATABASE /*!32312 IF NOT EXISTS*/ `mysql`;\n', /names two databases, `shop` \(line 6\) and `mysql` \(line 9\)/],
      // USE of another name after the first
      ['USE `shop`;\nSELECT 1;\n  use other;\n', /`shop` \(line 6\) and `other` \(line 8\)/],
      ['USE shop;\nUSE Shop;\n', /`shop` \(line 6\) and `Shop` \(line 7\)/],
      ['USE `shop`;\nDROP DATABASE `shop `;\n', /`shop` \(line 6\) and `shop ` \(line 7\)/],
      ['ALTER DATABASE `shop` CHARACTER SET latin1;\n/*!40000 DROP DATABASE IF EXISTS `a``b`*/;\n', /`shop` \(line 6\) and `a``b` \(line 7\)/],
      ['USE shop;\n\rUSE other;\n', /`shop` \(line 6\) and `other` \(line 7\)/],
    ];
    for (const [body, message] of cases) {
      const path = file(MARIADB + body);
      const text = await refusal(path);
      expect(text).toMatch(message);
      expect(text).toMatch(/an upload restores ONE database/);
      expect(existsSync(`${path}.arca-load`)).toBe(false);
    }
  });

  it('refuses database statements it cannot isolate on their line, naming the line', async () => {
    const cases: Array<[string, RegExp]> = [
      ['USE `shop`; USE `shop`;\n', /switches a database at line 6 .*another statement follows on the same line/],
      ['SELECT 1; USE other;\n', /switches a database at line 6 .*after another statement on the same line/],
      ['SELECT 1;/*!40000 DROP DATABASE other*/;\n', /creates, drops or alters a database at line 6 .*same line/],
      ['USE `shop`; DELETE FROM t;\n', /line 6 .*another statement follows on the same line/],
      ['/* why */ USE other;\n', /switches a database at line 6 .*after a comment on the same line/],
      ['/* a comment\n over lines */ CREATE DATABASE other;\n', /creates, drops or alters a database at line 7 .*after a comment on the same line/],
      ['/*!40101 */ USE other;\n', /line 6 .*which Arca cannot parse/],
      ['CREATE DATABASE shop\n  CHARACTER SET latin1;\n', /line 6 .*does not end with a ; on that line/],
      ['USE shop\n;\n', /line 6 .*does not end/],
      ["SELECT 'a;\nUSE shop;\n';\n", /switches a database at line 7 .*begins inside a quoted string or comment/],
      ['/* a comment\nCREATE DATABASE shop;\n*/\n', /line 7 .*begins inside a quoted string or comment/],
      ['SELECT 1,\nUSE shop;\n', /line 7 .*continues the statement above it/],
      ['ALTER DATABASE shop UPGRADE DATA DIRECTORY NAME;\n', /line 6 .*cannot apply to the scratch database/],
      ['USE /* x */ shop;\n', /line 6 .*without a database name/],
      ['USE shop /* x */;\n', /line 6 .*more than a database name/],
      ['USE;\n', /line 6 .*without a database name/],
      [`USE \`${'x'.repeat(5000)}\`;\n`, /line 6 .*longer than 4096 bytes/],
    ];
    for (const [body, message] of cases) {
      const text = await refusal(file(MARIADB + body));
      expect(text, body).toMatch(message);
      expect(text).toMatch(/Dump the one database again \(mariadb-dump --routines --events DBNAME > FILE\) or remove those lines/);
    }
  });

  it('finds such statements after lines longer than the read buffer, and follows strings and escapes across reads', async () => {
    const longLine = `INSERT INTO t VALUES ('${'x'.repeat((1 << 20) + 123)}');\n`;
    expect(await refusal(file(`${ARCA}${longLine}USE shop;\n${longLine}USE other;\n`))).toMatch(/`shop` \(line 7\) and `other` \(line 9\)/);
    // A backslash as the last byte of the first read escapes the quote that starts the second: the string goes on.
    const prefix = `${MARIADB}INSERT INTO t VALUES ('`;
    const escaped = `${prefix}${'y'.repeat((1 << 20) - prefix.length - 1)}\\'\nUSE shop;\n');\n`;
    expect(Buffer.from(escaped, 'latin1')[(1 << 20) - 1]).toBe(0x5c);
    expect(await refusal(file(escaped))).toMatch(/line 7 .*begins inside a quoted string/);
    // The same without the backslash: the string ends, the USE is a statement of its own.
    const ended = `${prefix}${'y'.repeat((1 << 20) - prefix.length - 1)}z');\nUSE shop;\n`;
    const { load } = await validateMysqlExport(file(ended));
    expect(readFileSync(load, 'latin1').endsWith("z');\n-- arca: skipped: USE shop;\n")).toBe(true);
  });
});

describe('rewriteDatabaseLine', () => {
  it('comments out USE, CREATE and DROP DATABASE and drops the name from ALTER DATABASE', () => {
    expect(rewriteDatabaseLine('USE `a b`;')).toEqual({ name: 'a b', text: '-- arca: skipped: USE `a b`;' });
    expect(rewriteDatabaseLine('USE `x``y`;\r')).toEqual({ name: 'x`y', text: '-- arca: skipped: USE `x``y`;' });
    expect(rewriteDatabaseLine('use app ;  ')).toEqual({ name: 'app', text: '-- arca: skipped: use app ;' });
    expect(rewriteDatabaseLine('/*!40000 DROP DATABASE IF EXISTS `app`*/;')).toEqual({ name: 'app', text: '-- arca: skipped: /*!40000 DROP DATABASE IF EXISTS `app`*/;' });
    expect(rewriteDatabaseLine('/*!40000 DROP DATABASE /*!32312 IF EXISTS*/ app */;')).toMatchObject({ name: 'app' });
    expect(rewriteDatabaseLine("CREATE SCHEMA IF NOT EXISTS `app` COMMENT 'it''s; ok';")).toMatchObject({ name: 'app' });
    expect(rewriteDatabaseLine('ALTER DATABASE `app` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci ;')).toEqual({
      name: 'app',
      text: 'ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci ;',
    });
    expect(rewriteDatabaseLine('  alter schema app`x`;')).toBe('in a form Arca cannot apply to the scratch database');
    expect(rewriteDatabaseLine('ALTER DATABASE app UPGRADE DATA DIRECTORY NAME;')).toBe('in a form Arca cannot apply to the scratch database');
  });

  it('says why it cannot rewrite a line', () => {
    expect(rewriteDatabaseLine('USE app; SELECT 1;')).toBe('and another statement follows on the same line');
    expect(rewriteDatabaseLine("CREATE DATABASE app COMMENT 'x;")).toBe('and the statement does not end with a ; on that line');
    expect(rewriteDatabaseLine('USE app -- ;')).toBe('and the statement does not end with a ; on that line');
    expect(rewriteDatabaseLine('DROP DATABASE app CASCADE;')).toBe('with more than a database name');
    expect(rewriteDatabaseLine('/*!40000 DROP DATABASE app;*/')).toBe('and another statement follows on the same line');
    expect(rewriteDatabaseLine('ALTER DATABASE app;')).toBe('in a form Arca cannot apply to the scratch database');
    expect(rewriteDatabaseLine('SELECT 1;')).toBe('which Arca cannot parse');
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

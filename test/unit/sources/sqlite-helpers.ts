// Shared helpers for the SQLite driver's tests: scratch databases (a copy of
// Chinook, a bank with an invariant), a comparable description of a database,
// and a writer child process that commits every few milliseconds.

import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { schemaOf, tableStats } from '../../../src/sources/sqlite/sqlite-stats.js';
import { sqlitePath, toSqliteUrl } from '../../../src/sources/sqlite/sqlite-url.js';
import { tempDir } from '../repository/fixtures.js';
import { datasetPath } from '../../helpers/shared.js';

export const CHINOOK = datasetPath('chinook.sqlite');
const WRITER = fileURLToPath(new URL('./sqlite-writer.mjs', import.meta.url));

export const asPath = (s: string): string => (s.startsWith('sqlite:') ? sqlitePath(s) : s);

/** A private, writable copy of Chinook; returns its path. */
export function copyChinook(name = 'chinook.db'): string {
  const path = join(tempDir('arca-sqlite-'), name);
  copyFileSync(CHINOOK, path);
  chmodSync(path, 0o644);
  return path;
}

/** Schema (sqlite_schema rows), header values and per-table ordered data hashes. */
export async function describeDb(urlOrPath: string): Promise<unknown> {
  const db = new Database(asPath(urlOrPath), { readonly: true, fileMustExist: true });
  try {
    return {
      schema: schemaOf(db),
      userVersion: db.pragma('user_version', { simple: true }),
      encoding: db.pragma('encoding', { simple: true }),
      pageSize: db.pragma('page_size', { simple: true }),
      tables: await tableStats(db),
    };
  } finally {
    db.close();
  }
}

export const ACCOUNTS = 1000;
export const TOTAL = 2 * ACCOUNTS * 1000;

/** Two account tables whose balances always sum to TOTAL, a transfer log and `fillerRows` KB of filler. */
export function makeBank(journalMode: 'wal' | 'delete', fillerRows: number): string {
  const path = join(tempDir('arca-sqlite-'), `bank-${journalMode}.db`);
  const db = new Database(path);
  db.pragma(`journal_mode = ${journalMode}`);
  db.exec(`CREATE TABLE a (id INTEGER PRIMARY KEY, bal INTEGER NOT NULL);
           CREATE TABLE b (id INTEGER PRIMARY KEY, bal INTEGER NOT NULL);
           CREATE TABLE log (id INTEGER PRIMARY KEY, src INTEGER, dst INTEGER, amount INTEGER, pad BLOB);
           CREATE TABLE filler (id INTEGER PRIMARY KEY, pad BLOB);`);
  db.transaction(() => {
    const ia = db.prepare('INSERT INTO a VALUES (?, 1000)');
    const ib = db.prepare('INSERT INTO b VALUES (?, 1000)');
    for (let i = 1; i <= ACCOUNTS; i++) {
      ia.run(i);
      ib.run(i);
    }
    const f = db.prepare('INSERT INTO filler (pad) VALUES (randomblob(1000))');
    for (let i = 0; i < fillerRows; i++) f.run();
  })();
  db.close();
  return path;
}

export function bankState(path: string): { total: number; transfers: number; integrity: string } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const r = db.prepare('SELECT (SELECT sum(bal) FROM a) + (SELECT sum(bal) FROM b) AS total, (SELECT count(*) FROM log) AS transfers').get() as {
      total: number;
      transfers: number;
    };
    return { ...r, integrity: String(db.pragma('integrity_check', { simple: true })) };
  } finally {
    db.close();
  }
}

export interface WriterReport {
  commits: number;
  maxCommitMs: number;
  errors: string[];
}

/** A child process committing transfers every `everyMs`; `hold` keeps one write transaction open instead. */
export class Writer {
  private readonly child: ChildProcess;
  private out = '';
  readonly ready: Promise<void>;

  constructor(path: string, opts: { everyMs?: number; busyMs?: number; hold?: boolean } = {}) {
    this.child = spawn(process.execPath, [WRITER, path, String(opts.everyMs ?? 2), String(opts.busyMs ?? 10_000), opts.hold ? 'hold' : 'transfer'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.ready = new Promise((resolve, reject) => {
      this.child.stdout!.on('data', (d: Buffer) => {
        this.out += d.toString();
        if (this.out.includes('ready\n')) resolve();
      });
      this.child.on('exit', () => reject(new Error(`writer exited early: ${this.out}`)));
    });
  }

  async stop(): Promise<WriterReport> {
    const done = new Promise<void>((r) => this.child.on('exit', () => r()));
    this.child.kill('SIGTERM');
    await done;
    const line = this.out.split('\n').find((l) => l.startsWith('{'));
    if (!line) throw new Error(`writer printed no report: ${this.out}`);
    return JSON.parse(line) as WriterReport;
  }
}

export { toSqliteUrl };

// Reading an uploaded MySQL/MariaDB script once, without any server, for
// what would make its load leave the scratch database: `USE`, `CREATE [OR
// REPLACE]`/`DROP DATABASE|SCHEMA` and `ALTER DATABASE <name>` (optionally
// inside a /*!…*/ comment), and NUL bytes. A dump made with `mariadb-dump
// --databases NAME` (or mysqldump, phpMyAdmin) names its database in such
// statements, and mysqldump wraps routines in `ALTER DATABASE NAME …`: when
// every one of them names the SAME database, stands alone on its line and
// that line begins a statement outside any string or comment, the scan
// returns one edit per line (USE/CREATE/DROP become `-- arca: skipped: …`
// comments; ALTER DATABASE loses its name, so it applies to the database
// being loaded) and `writeLoadCopy` (edited-copy.ts) writes the copy the client loads. Anything
// else is refused with its line number: a second database name, such a
// statement sharing its line, spanning lines or continuing another one.
// Strings and comments are followed with the client's rules ('…' and "…"
// with backslash escapes, `…`, /* */, `-- ` and # comments; /*!…*/ is code):
// a line that begins inside a multi-line string or comment is never
// rewritten, and one that looks like a database statement there is refused.
import { open, type FileHandle } from 'node:fs/promises';
import { ArcaError } from '../../errors.js';
import type { LineEdit } from './edited-copy.js';

/** A statement that creates, drops, alters by name or switches a database, optionally inside a conditional comment. */
const DATABASE_STATEMENT =
  /^[ \t\r\f\v]*(?:\/\*M?!\d*[ \t\r\f\v]*(?:\*\/[ \t\r\f\v]*)?)?(USE\b|(?:CREATE(?:\s+OR\s+REPLACE)?|DROP)\s+(?:DATABASE|SCHEMA)\b|ALTER\s+(?:DATABASE|SCHEMA)\s+(?!(?:DEFAULT|CHARACTER|CHARSET|COLLATE|COMMENT)\b))/i;
/** Bytes of a line (or of what follows a `;`) tested against DATABASE_STATEMENT. */
const LINE_PREFIX = 96;
/** A database statement line longer than this is refused (a name has at most 64 characters). */
const MAX_LINE = 4096;
/** Each read holds this much beyond what it scans, so every test of LINE_PREFIX bytes stays inside it. */
const LOOKAHEAD = LINE_PREFIX + 8;
const CHUNK = 1 << 20;
const MAX_EDITS = 100_000;


const NORMAL = 0;
const SQUOTE = 1;
const DQUOTE = 2;
const BQUOTE = 3;
const BLOCK = 4;
const LINE = 5;
const LF = 0x0a;
const SEMI = 0x3b;

/** First bytes worth testing against DATABASE_STATEMENT: blanks but the newline, '/', a, A, c, C, d, D, u, U. */
const CANDIDATE = new Uint8Array(256);
for (const c of ' \t\r\f\v/aAcCdDuU') CANDIDATE[c.charCodeAt(0)] = 1;
const isBlank = (c: number) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0c || c === 0x0b;

/** Bytes that mean nothing to the lexer outside strings and comments (numbers, names, punctuation). */
const PLAIN = new Uint8Array(256);
for (let c = 0x21; c < 256; c++) if (!'\'"`#-/;'.includes(String.fromCharCode(c))) PLAIN[c] = 1;

const isSpace = (c: number | undefined) => c === undefined || c === 0x20 || (c >= 0x09 && c <= 0x0d);

interface Hit {
  offset: number;
  line: number;
  /** The line begins inside a string or comment. */
  inside: boolean;
  /** The line does not begin a statement (the significant byte before it is no `;`). */
  continues: boolean;
  /** Found in the middle of a line, after another statement or a comment. */
  after: 'statement' | 'comment' | null;
}

/** Follows strings and comments through the script and notes every place that looks like a database statement. */
class Lexer {
  private state = NORMAL;
  private escape = false;
  private lineStart = true;
  private last = SEMI;
  private line = 1;
  hits: Hit[] = [];

  /** Scans chunk[0, limit) of the bytes at `base`; the chunk holds LOOKAHEAD bytes beyond limit unless it ends the file. Returns the bytes consumed. */
  push(chunk: Buffer, limit: number, base: number): number {
    let { state, escape, lineStart, last, line } = this;
    let nextSq = -1;
    let nextDq = -1;
    let nextBs = -1;
    let nextLf = -1;
    let i = 0;
    for (; i < limit; i++) {
      const c = chunk[i]!;
      if (lineStart) {
        lineStart = false;
        if (CANDIDATE[c] === 1 && DATABASE_STATEMENT.test(head(chunk, i))) {
          this.hits.push({ offset: base + i, line, inside: state !== NORMAL, continues: last !== SEMI, after: null });
        }
      }
      if (c === LF) {
        line++;
        lineStart = true;
        escape = false;
        if (state === LINE) state = NORMAL;
        continue;
      }
      switch (state) {
        case NORMAL:
          if (PLAIN[c] === 1) {
            let j = i + 1;
            while (j < limit && PLAIN[chunk[j]!] === 1) j++;
            last = chunk[j - 1]!;
            i = j - 1;
            break;
          }
          if (c <= 0x20) break;
          if (c === 0x27) state = SQUOTE;
          else if (c === 0x22) state = DQUOTE;
          else if (c === 0x60) state = BQUOTE;
          else if (c === 0x23) {
            state = LINE;
            break;
          } else if (c === 0x2d && chunk[i + 1] === 0x2d && isSpace(chunk[i + 2])) {
            state = LINE;
            i++;
            break;
          } else if (c === 0x2f && chunk[i + 1] === 0x2a && chunk[i + 2] !== 0x21 && !(chunk[i + 2] === 0x4d && chunk[i + 3] === 0x21)) {
            state = BLOCK; // a comment; /*!…*/ and /*M!…*/ hold code
            i++;
            break;
          } else if (c === SEMI && followedByCandidate(chunk, i + 1) && DATABASE_STATEMENT.test(head(chunk, i + 1))) {
            this.hits.push({ offset: base + i + 1, line, inside: false, continues: false, after: 'statement' });
          }
          last = c;
          break;
        case SQUOTE:
        case DQUOTE:
          if (escape) escape = false;
          else if (c === 0x5c) escape = true;
          else if (c === (state === SQUOTE ? 0x27 : 0x22)) state = NORMAL;
          else {
            // Most of a dump is string contents: jump to the next quote, backslash or newline (each found once per chunk).
            if (nextBs <= i) nextBs = found(chunk.indexOf(0x5c, i), chunk.length);
            if (nextLf <= i) nextLf = found(chunk.indexOf(LF, i), chunk.length);
            let quote: number;
            if (state === SQUOTE) quote = nextSq = nextSq <= i ? found(chunk.indexOf(0x27, i), chunk.length) : nextSq;
            else quote = nextDq = nextDq <= i ? found(chunk.indexOf(0x22, i), chunk.length) : nextDq;
            i = Math.min(quote, nextBs, nextLf, limit) - 1;
          }
          break;
        case BQUOTE:
          if (c === 0x60) state = NORMAL;
          break;
        case BLOCK:
          if (c === 0x2a && chunk[i + 1] === 0x2f) {
            state = NORMAL;
            i++;
            if (last === SEMI && followedByCandidate(chunk, i + 1) && DATABASE_STATEMENT.test(head(chunk, i + 1))) {
              this.hits.push({ offset: base + i + 1, line, inside: false, continues: false, after: 'comment' });
            }
          }
          break;
        default: // LINE: up to the newline
          if (nextLf <= i) nextLf = found(chunk.indexOf(LF, i), chunk.length);
          i = Math.min(nextLf, limit) - 1;
          break;
      }
    }
    Object.assign(this, { state, escape, lineStart, last, line });
    return i;
  }
}

const found = (at: number, none: number) => (at < 0 ? none : at);

/** Up to LINE_PREFIX bytes from `at`, up to the end of the line. */
function head(chunk: Buffer, at: number): string {
  const s = chunk.toString('latin1', at, Math.min(at + LINE_PREFIX, chunk.length));
  const nl = s.indexOf('\n');
  return nl < 0 ? s : s.slice(0, nl);
}

/** Whether the first byte after blanks at `at` (on the same line) may start a database statement. */
function followedByCandidate(chunk: Buffer, at: number): boolean {
  const end = Math.min(at + LINE_PREFIX, chunk.length);
  for (let j = at; j < end; j++) {
    const c = chunk[j]!;
    if (!isBlank(c)) return CANDIDATE[c] === 1;
  }
  return false;
}

const shown = (text: string) => JSON.stringify(text.replace(/[^\x20-\x7e]/g, '?').trim().slice(0, 60));
/** A database name as the user wrote it (UTF-8), quoted. */
const named = (name: string) => '`' + Buffer.from(name, 'latin1').toString('utf8').replace(/`/g, '``') + '`';

const HOW_TO =
  'an upload is loaded into a scratch database and swapped in, so its database statements (USE, CREATE/DROP DATABASE) may only name ' +
  'the one database of the dump, each alone on its line as mariadb-dump --databases writes them. ' +
  'Dump the one database again (mariadb-dump --routines --events DBNAME > FILE) or remove those lines';

function refusal(hit: { line: number }, text: string, why: string): ArcaError {
  const m = DATABASE_STATEMENT.exec(text);
  const verb = m && !m[1]!.toUpperCase().startsWith('USE') ? 'creates, drops or alters' : 'switches';
  return new ArcaError('USAGE', `the uploaded script ${verb} a database at line ${hit.line} (${shown(text)}), ${why}: ${HOW_TO}`);
}

const STATEMENT =
  /^([ \t\r\f\v]*(\/\*M?!\d*\s*)?(?:(USE)|(CREATE)(?:\s+OR\s+REPLACE)?\s+(?:DATABASE|SCHEMA)|(DROP)\s+(?:DATABASE|SCHEMA)|(ALTER)\s+(?:DATABASE|SCHEMA)))(?![\w$])\s*/i;
const IF_NOT_EXISTS = /^(?:IF\s+NOT\s+EXISTS|\/\*M?!\d*\s*IF\s+NOT\s+EXISTS\s*\*\/)\s*/i;
const IF_EXISTS = /^(?:IF\s+EXISTS|\/\*M?!\d*\s*IF\s+EXISTS\s*\*\/)\s*/i;
const IDENT = /^(?:`((?:[^`]|``)+)`|([0-9A-Za-z_$\x80-\xff]+))/;
const ALTER_OPTIONS = /^\s*(?:DEFAULT|CHARACTER|CHARSET|COLLATE|COMMENT)\b/i;
const TAIL = /^\s*(?:(?:--(?:\s|$)|#).*)?$/;

/** Index of the `;` that ends the statement in `s` (one line), or -1 when it does not end there. */
function statementEnd(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === ';') return i;
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      for (; j < s.length && s[j] !== c; j++) if (s[j] === '\\' && c !== '`') j++;
      if (j >= s.length) return -1;
      i = j;
    } else if (c === '#' || (c === '-' && s[i + 1] === '-' && (i + 2 >= s.length || isSpace(s.charCodeAt(i + 2))))) {
      return -1;
    } else if (c === '/' && s[i + 1] === '*' && s[i + 2] !== '!' && !(s[i + 2] === 'M' && s[i + 3] === '!')) {
      const j = s.indexOf('*/', i + 2);
      if (j < 0) return -1;
      i = j + 1;
    }
  }
  return -1;
}

/**
 * The neutral form of one line (latin1, without its line break) that holds a
 * database statement: `USE x;`, `CREATE DATABASE … x …;` and `DROP DATABASE
 * … x;` become a comment, `ALTER DATABASE x …;` loses the name. A string says
 * why the line cannot be rewritten.
 */
export function rewriteDatabaseLine(text: string): { name: string; text: string } | string {
  const line = text.replace(/\r$/, '');
  const m = STATEMENT.exec(line);
  if (!m) return 'which Arca cannot parse';
  const conditional = m[2] !== undefined;
  let pos = m[0].length;
  const optional = m[4] ? IF_NOT_EXISTS : m[5] ? IF_EXISTS : null;
  const skip = optional?.exec(line.slice(pos));
  if (skip) pos += skip[0].length;
  const id = IDENT.exec(line.slice(pos));
  if (!id || (id[2] !== undefined && /^if$/i.test(id[2]))) return 'without a database name Arca can read';
  const name = id[1] !== undefined ? id[1].replace(/``/g, '`') : id[2]!;
  const rest = line.slice(pos + id[0].length);
  const end = statementEnd(rest);
  if (end < 0) return 'and the statement does not end with a ; on that line';
  if (!TAIL.test(rest.slice(end + 1))) return 'and another statement follows on the same line';
  const body = rest.slice(0, end);
  if (m[6]) {
    // ALTER DATABASE name options: the same options for the database being loaded (a form DATABASE_STATEMENT lets pass).
    if (!ALTER_OPTIONS.test(body)) return 'in a form Arca cannot apply to the scratch database';
    return { name, text: `${line.slice(0, m[1]!.length).trimEnd()} ${line.slice(pos + id[0].length).trimStart()}` };
  }
  if (!m[4] && !(conditional ? /^\s*\*\/\s*$/ : /^\s*$/).test(body)) return 'with more than a database name';
  return { name, text: `-- arca: skipped: ${line.trim()}` };
}

/** The line at `offset` (without its line break; `whole` false when longer than MAX_LINE, then its first MAX_LINE bytes). */
async function readLine(fh: FileHandle, offset: number): Promise<{ text: string; whole: boolean }> {
  const buf = Buffer.alloc(MAX_LINE + 1);
  const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
  const nl = buf.subarray(0, bytesRead).indexOf(LF);
  if (nl < 0 && bytesRead > MAX_LINE) return { text: buf.toString('latin1', 0, MAX_LINE), whole: false };
  return { text: buf.toString('latin1', 0, nl < 0 ? bytesRead : nl), whole: true };
}

/** Reads the whole script once: no NUL byte; every database statement names the same database and can be neutralised (the edits that do it). */
export async function scanScript(file: string): Promise<LineEdit[]> {
  const lexer = new Lexer();
  const edits: LineEdit[] = [];
  let first: { name: string; line: number } | null = null;
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(CHUNK + LOOKAHEAD);
    for (let pos = 0; ; ) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      if (chunk.includes(0)) throw new ArcaError('USAGE', 'the uploaded SQL script holds NUL bytes: it is not a text dump (binary values must be escaped, as mariadb-dump and arca export write them)');
      const eof = bytesRead < buf.length;
      pos += lexer.push(chunk, eof ? bytesRead : bytesRead - LOOKAHEAD, pos);
      for (const hit of lexer.hits) {
        const { text, whole } = await readLine(fh, hit.offset);
        if (hit.after) throw refusal(hit, text, `after ${hit.after === 'statement' ? 'another statement' : 'a comment'} on the same line`);
        if (hit.inside) throw refusal(hit, text, 'on a line that begins inside a quoted string or comment spanning several lines');
        if (hit.continues) throw refusal(hit, text, 'on a line that continues the statement above it');
        if (!whole) throw refusal(hit, text, `on a line longer than ${MAX_LINE} bytes`);
        const r = rewriteDatabaseLine(text);
        if (typeof r === 'string') throw refusal(hit, text, r);
        if (first === null) first = { name: r.name, line: hit.line };
        else if (r.name !== first.name) {
          throw new ArcaError(
            'USAGE',
            `the uploaded script names two databases, ${named(first.name)} (line ${first.line}) and ${named(r.name)} (line ${hit.line}): ` +
              'an upload restores ONE database, so it must be a dump of one (made with --databases and a single name, or without --databases); ' +
              `dump that one again (mariadb-dump --routines --events --databases DBNAME > FILE) and upload that`,
          );
        }
        if (edits.length >= MAX_EDITS) throw refusal(hit, text, `the database statement number ${MAX_EDITS + 1} (more than a dump of one database holds)`);
        edits.push({ start: hit.offset, end: hit.offset + text.replace(/\r$/, '').length, text: r.text });
      }
      lexer.hits.length = 0;
      if (eof) break;
    }
  } finally {
    await fh.close();
  }
  return edits;
}

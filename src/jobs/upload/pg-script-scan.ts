// Reading an uploaded PostgreSQL SQL script once, before psql loads it.
// psql loads an upload restricted (`\restrict KEY`, a key of ours; psql
// 15.14+, 16.10+, 17.6+): SQL only, every meta-command refused, so a script
// cannot run a shell on the Arca server (`\!`), read or write its files
// (`\i`, `\o`, `\w`, `\copy`) or switch to another database (`\connect`).
// pg_dump brackets its scripts (and `arca export` each of its sections) with
// `\restrict K` … `\unrestrict K`, which an already restricted psql refuses:
// such a line, alone on its line outside COPY data, and the `\unrestrict` of
// a key seen so, become comments in the copy psql loads (edited-copy.ts;
// same line count, so psql's line numbers stay the upload's). COPY data is
// followed line by line, from a line `COPY … FROM stdin …;` to `\.`, so no
// data row is edited. A NUL byte refuses the upload (it is not a text dump).
import { open } from 'node:fs/promises';
import { ArcaError } from '../../errors.js';
import type { LineEdit } from './edited-copy.js';

const CHUNK = 1 << 20;
/** Bytes of a line kept to test it: a COPY statement (at most 1,600 columns) fits; longer lines are data. */
const KEEP = 256 * 1024;
/** A `\restrict` line is short (pg_dump's keys are 64 characters). */
const RESTRICT_MAX = 256;
const MAX_EDITS = 100_000;
const RESTRICT_LINE = /^\\(restrict|unrestrict) ([A-Za-z0-9]+)[ \t]*\r?$/;
const COPY_START = /^[ \t]*COPY\s/i;
/** Tested apart (and the line's end for a `;`), so no pattern backtracks over a long line. */
const FROM_STDIN = /\sFROM\s+STDIN\b/i;
const END_OF_DATA = /^\\\.\r?$/;
const BACKSLASH = 0x5c;

/** The `\restrict`/`\unrestrict` lines of pg_dump to turn into comments; USAGE for NUL bytes. */
export async function scanPgScript(file: string): Promise<LineEdit[]> {
  const edits: LineEdit[] = [];
  const keys = new Set<string>();
  let inCopy = false;
  let lineNo = 0;

  const finishLine = (line: Buffer, length: number, start: number): void => {
    lineNo++;
    if (inCopy) {
      if (length <= 3 && END_OF_DATA.test(line.toString('latin1'))) inCopy = false;
      return;
    }
    if (line[0] === BACKSLASH && length <= RESTRICT_MAX) {
      const text = line.toString('latin1');
      const m = RESTRICT_LINE.exec(text);
      if (!m) return; // any other meta-command: the restricted psql refuses it, with its line
      const [, command, key] = m;
      if (command === 'restrict') keys.add(key!);
      else if (!keys.has(key!)) return; // an \unrestrict of a key never restricted: psql refuses it
      if (edits.length >= MAX_EDITS) throw new ArcaError('USAGE', `the uploaded script has more than ${MAX_EDITS} \\restrict lines (line ${lineNo}): it is not a pg_dump script`);
      const bare = text.replace(/\r$/, '');
      edits.push({ start, end: start + bare.length, text: `-- arca: skipped: ${bare}` });
      return;
    }
    if (COPY_START.test(line.subarray(0, 16).toString('latin1'))) {
      if (length > KEEP) throw new ArcaError('USAGE', `the uploaded script's COPY statement on line ${lineNo} is longer than ${KEEP / 1024} KiB`);
      const text = line.toString('latin1');
      if (FROM_STDIN.test(text) && text.trimEnd().endsWith(';')) inCopy = true;
    }
  };

  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(CHUNK);
    let offset = 0; // of buf[0] in the file
    let lineStart = 0;
    let pending: Buffer[] = []; // the start of a line that began in an earlier chunk, at most KEEP bytes
    let pendingBytes = 0;
    let lineBytes = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, offset);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      if (chunk.includes(0)) throw new ArcaError('USAGE', 'the uploaded SQL script holds NUL bytes: it is not a text dump');
      let pos = 0;
      for (;;) {
        const nl = chunk.indexOf(10, pos);
        const end = nl < 0 ? chunk.length : nl;
        const segment = chunk.subarray(pos, end);
        lineBytes += segment.length;
        if (nl < 0) {
          // The line goes on in the next chunk: keep its start (copied: buf is reused).
          const room = KEEP - pendingBytes;
          if (room > 0 && segment.length > 0) {
            pending.push(Buffer.from(segment.subarray(0, room)));
            pendingBytes += Math.min(room, segment.length);
          }
          break;
        }
        const line = pendingBytes === 0 ? segment : Buffer.concat([...pending, segment.subarray(0, Math.max(0, KEEP - pendingBytes))]);
        finishLine(line, lineBytes, lineStart);
        pending = [];
        pendingBytes = 0;
        lineBytes = 0;
        lineStart = offset + nl + 1;
        pos = nl + 1;
      }
      offset += bytesRead;
    }
    if (lineBytes > 0) finishLine(Buffer.concat(pending), lineBytes, lineStart);
  } finally {
    await fh.close();
  }
  return edits;
}

// pg-script-scan.ts: which lines of an uploaded PostgreSQL script become
// comments before a restricted psql loads it. pg_dump's `\restrict K` and the
// `\unrestrict K` of a key seen so, outside COPY data, and nothing else; the
// same lines wherever the 1 MiB reads split them; NUL bytes and overlong COPY
// statements refused.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeEdited } from '../../../src/jobs/upload/edited-copy.js';
import { scanPgScript } from '../../../src/jobs/upload/pg-script-scan.js';

const dir = mkdtempSync(path.join(tmpdir(), 'arca-pg-scan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** Scans `script` and returns the edited copy's text. */
async function edited(script: string | Buffer): Promise<string> {
  const file = path.join(dir, `s${n++}.sql`);
  writeFileSync(file, script);
  const edits = await scanPgScript(file);
  await writeEdited(file, edits, `${file}.out`);
  return readFileSync(`${file}.out`, 'latin1');
}

const KEY = 'Ab3'.repeat(21) + 'x';

describe('scanPgScript', () => {
  it("comments out pg_dump's \\restrict and \\unrestrict lines and keeps the line count", async () => {
    const script = ['--', '-- PostgreSQL database dump', '--', '', `\\restrict ${KEY}`, 'SET x = 1;', `\\unrestrict ${KEY}`, ''].join('\n');
    const out = await edited(script);
    expect(out.split('\n')).toEqual(['--', '-- PostgreSQL database dump', '--', '', `-- arca: skipped: \\restrict ${KEY}`, 'SET x = 1;', `-- arca: skipped: \\unrestrict ${KEY}`, '']);
  });

  it('leaves every other psql command, and an \\unrestrict of a key never restricted, for psql to refuse', async () => {
    const script = [`\\restrict ${KEY}`, '\\! touch /tmp/x', '\\unrestrict other', '\\connect db', ' \\restrict indented', `\\restrict ${KEY} trailing words`, ''].join('\n');
    const out = await edited(script);
    expect(out.split('\n').slice(1)).toEqual(['\\! touch /tmp/x', '\\unrestrict other', '\\connect db', ' \\restrict indented', `\\restrict ${KEY} trailing words`, '']);
  });

  it('never edits COPY data, and edits again after its end', async () => {
    const script = [
      `\\restrict ${KEY}`,
      'COPY public.lines (v) FROM stdin;',
      `\\restrict ${KEY}`,
      `\\unrestrict ${KEY}`,
      '\\.',
      `\\unrestrict ${KEY}`,
      "copy t from STDIN with (format csv, delimiter ';');",
      '\\restrict zz',
      '\\.',
      '\\restrict zz',
      '',
    ].join('\n');
    const lines = (await edited(script)).split('\n');
    expect(lines[0]).toMatch(/^-- arca: skipped:/);
    expect(lines.slice(2, 5)).toEqual([`\\restrict ${KEY}`, `\\unrestrict ${KEY}`, '\\.']);
    expect(lines[5]).toMatch(/^-- arca: skipped: \\unrestrict/);
    expect(lines[7]).toBe('\\restrict zz');
    expect(lines[9]).toBe('-- arca: skipped: \\restrict zz');
  });

  it('finds the same lines wherever a 1 MiB read splits them (long COPY rows, CRLF)', async () => {
    const MiB = 1 << 20;
    for (const shift of [-40, -12, -1, 0, 1, 7]) {
      const head = `\\restrict ${KEY}\r\nCOPY t (v) FROM stdin;\r\n${'d'.repeat(MiB + 100)}\r\n\\.\r\n`;
      const pad = 'x'.repeat(2 * MiB + shift - head.length - 2);
      const script = `${head}${pad}\r\n\\unrestrict ${KEY}\r\nSELECT 1;\r\n`;
      const out = await edited(script);
      expect(out.length).toBe(script.length + 2 * '-- arca: skipped: '.length);
      expect(out.split('\r\n').filter((l) => l.startsWith('-- arca:'))).toEqual([`-- arca: skipped: \\restrict ${KEY}`, `-- arca: skipped: \\unrestrict ${KEY}`]);
      expect(out.endsWith('\r\nSELECT 1;\r\n')).toBe(true);
    }
  });

  it('handles a last line without a newline', async () => {
    expect(await edited(`\\restrict ${KEY}\nSELECT 1;\n\\unrestrict ${KEY}`)).toBe(`-- arca: skipped: \\restrict ${KEY}\nSELECT 1;\n-- arca: skipped: \\unrestrict ${KEY}`);
  });

  it('refuses NUL bytes and a COPY statement longer than it reads', async () => {
    const file = path.join(dir, 'nul.sql');
    writeFileSync(file, Buffer.concat([Buffer.from('SELECT 1;\n'), Buffer.alloc(1), Buffer.from('\n')]));
    await expect(scanPgScript(file)).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/NUL bytes/) });
    writeFileSync(file, `SELECT 1;\nCOPY t (${'c, '.repeat(100_000)}c) FROM stdin;\n\\.\n`);
    await expect(scanPgScript(file)).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/COPY statement on line 2 is longer than 256 KiB/) });
  });
});

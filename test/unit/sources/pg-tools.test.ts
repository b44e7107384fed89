// pg-tools.ts checkTool / prefetchToolVersion with a stand-in pg_dump (a
// script that counts its runs): the version asked before the volume opens is
// the one checkTool uses (one process, not two), and too old and missing
// tools get their clear errors (a tool in another folder is asked anew).

import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { checkTool, prefetchToolVersion } from '../../../src/sources/postgres/pg-tools.js';

const root = mkdtempSync(path.join(tmpdir(), 'arca-pg-tools-'));
const saved = process.env.ARCA_PG_BINDIR;

/** A folder with a pg_dump that prints `version` and appends a line to runs.log each time it runs. */
function fakeTool(name: string, version: string): { dir: string; runs: () => number } {
  const dir = path.join(root, name);
  mkdirSync(dir);
  const log = path.join(dir, 'runs.log');
  writeFileSync(log, '');
  const script = path.join(dir, 'pg_dump');
  writeFileSync(script, `#!/bin/sh\necho run >> '${log}'\necho 'pg_dump (PostgreSQL) ${version}'\n`);
  chmodSync(script, 0o755);
  return { dir, runs: () => readFileSync(log, 'utf8').split('\n').filter(Boolean).length };
}

afterEach(() => {
  if (saved === undefined) delete process.env.ARCA_PG_BINDIR;
  else process.env.ARCA_PG_BINDIR = saved;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('checkTool', () => {
  it('uses the version asked ahead of time: one run of the tool', async () => {
    const tool = fakeTool('ahead', '15.4');
    process.env.ARCA_PG_BINDIR = tool.dir;
    prefetchToolVersion('pg_dump');
    expect(await checkTool('pg_dump', 15)).toBe(15);
    expect(await checkTool('pg_dump', 14)).toBe(15);
    expect(tool.runs()).toBe(1);
  });

  it('refuses a tool older than the server, and says what is missing', async () => {
    const tool = fakeTool('old', '13.2');
    process.env.ARCA_PG_BINDIR = tool.dir;
    prefetchToolVersion('pg_dump');
    await expect(checkTool('pg_dump', 15)).rejects.toThrow(/pg_dump 13 is too old for PostgreSQL server 15/);
    process.env.ARCA_PG_BINDIR = path.join(root, 'nothing-here');
    prefetchToolVersion('pg_dump'); // a failure asked ahead is reported by checkTool, never thrown or unhandled
    await expect(checkTool('pg_dump', 15)).rejects.toMatchObject({ code: 'SOURCE', message: expect.stringMatching(/pg_dump was not found/) });
  });
});

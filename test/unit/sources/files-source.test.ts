// The files driver runs the Source contract, plus what only directories have.

import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { filesDriver } from '../../../src/sources/files/files-driver.js';
import { normalizeDatabaseUrl } from '../../../src/sources/index.js';
import { describeTree, makeSourceTree, tempDir } from '../repository/fixtures.js';
import { runSourceContract } from './contract.js';

const asPath = (s: string) => (s.startsWith('file:') ? fileURLToPath(s) : s);

runSourceContract('files', () => ({
  driver: filesDriver,
  create: async () => pathToFileURL(makeSourceTree(200_000)).href,
  change: async (url) => {
    const dir = fileURLToPath(url);
    appendFileSync(join(dir, 'docs/report.txt'), 'changed\n');
    writeFileSync(join(dir, 'new-file'), 'new');
  },
  freshTarget: async () => join(tempDir(), 'target'),
  occupiedTarget: async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'keep-me'), 'precious');
    return dir;
  },
  describe: async (s) => describeTree(asPath(s)),
}));

describe('files driver', () => {
  it('normalizes plain paths and file URLs, and rejects what is not a directory', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'a b'));
    expect(normalizeDatabaseUrl(join(dir, 'a b'))).toBe(pathToFileURL(join(dir, 'a b')).href);
    expect(normalizeDatabaseUrl(pathToFileURL(join(dir, 'a b')).href)).toBe(pathToFileURL(join(dir, 'a b')).href);
    writeFileSync(join(dir, 'f'), 'x');
    expect(() => normalizeDatabaseUrl(join(dir, 'f'))).toThrow(/not a directory/);
    expect(() => normalizeDatabaseUrl(join(dir, 'missing'))).toThrow(/does not exist/);
    expect(() => normalizeDatabaseUrl('gopher://x/y')).toThrow(/unsupported database URL scheme "gopher:"/);
  });
});

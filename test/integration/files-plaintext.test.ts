// End to end: nothing a backup reads shows up in plaintext in the volume.
// Distinctive file and folder names, symlink targets, small, compressible
// and random file content, the database name, the source path and the host
// name are all searched for in every byte of every file of the volume.

import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arcaOk,
  backup,
  compressibleText,
  dir,
  file,
  freshHome,
  makeScratch,
  makeTree,
  requireBuiltCli,
  seededBytes,
  symlink,
  treeSnapshot,
  volumeBytesContain,
  type Home,
  type Scratch,
} from '../helpers/index.js';

// Long and odd enough that none turns up by chance in 10 MB of ciphertext.
const NEEDLES = {
  dbName: 'qzv-ledger-db-81f3',
  srcDir: 'qzv-srcdir-c0ffee-7711',
  fileName: 'qzv-payroll-2026-Q3-final.xlsx',
  dirName: 'qzv-board-minutes-folder',
  unicodeName: 'qzv-Überweisung-月報.txt',
  linkTarget: 'qzv-link-target-9d2e/secret-destination',
  smallContent: 'qzv-tiny-content:hunter2-password-in-a-file',
  textMarker: 'qzv-compressible-canary-42',
  randomMarker: 'qzv-needle-in-random-data-5b7a',
  addedLater: 'qzv-added-in-the-second-backup',
};

describe('files: no plaintext in the volume', () => {
  let scratch: Scratch;
  let home: Home;

  beforeAll(async () => {
    requireBuiltCli();
    scratch = makeScratch('plaintext');
    const src = scratch.path(NEEDLES.srcDir);
    // A random file with a marker in its middle (inside some chunk).
    const random = seededBytes('plaintext-random', 3_000_000);
    Buffer.from(NEEDLES.randomMarker).copy(random, 1_500_001);
    makeTree(src, {
      [NEEDLES.fileName]: file(NEEDLES.smallContent),
      [NEEDLES.unicodeName]: file('x'),
      [NEEDLES.dirName]: dir({
        'log.txt': file(compressibleText('plaintext-log', 4_000_000, NEEDLES.textMarker)),
        'random.bin': file(random),
      }),
      link: symlink(NEEDLES.linkTarget),
    });
    home = await freshHome(scratch.root);
    await arcaOk(['db', 'add', NEEDLES.dbName, src], home.opts);
    await backup(NEEDLES.dbName, home.opts);
    // A second, incremental backup with a new file name and content.
    makeTree(`${src}/more`, { [NEEDLES.addedLater]: file(`${NEEDLES.addedLater}\n`.repeat(1000)) });
    await backup(NEEDLES.dbName, home.opts, ['--level', '1']);
    // Sanity: the needles really are in the source.
    expect(treeSnapshot(src).some((e) => e.path.includes(NEEDLES.fileName))).toBe(true);
  });

  afterAll(() => scratch?.cleanup());

  it('scans the right folder (key objects are plaintext JSON by design)', () => {
    // docs/repository-format.md §3: a key object names its KDF in the clear.
    expect(volumeBytesContain(home.volumeDir, 'scrypt').length).toBeGreaterThan(0);
  });

  for (const [what, needle] of Object.entries(NEEDLES)) {
    it(`does not store ${what} (${JSON.stringify(needle)}) in plaintext`, () => {
      expect(volumeBytesContain(home.volumeDir, needle)).toEqual([]);
    });
  }

  it('does not store the host name or the password in plaintext', () => {
    const host = hostname();
    // A very short host name could occur in ciphertext by chance.
    if (host.length >= 6) expect(volumeBytesContain(home.volumeDir, host)).toEqual([]);
    expect(volumeBytesContain(home.volumeDir, 'correct horse battery staple')).toEqual([]);
  });

  it('does not store a leading piece of compressible content (zstd keeps literals)', () => {
    // The first line of the log, as zstd would emit it as a literal run.
    const firstLine = compressibleText('plaintext-log', 200, NEEDLES.textMarker).toString('utf8').split('\n')[0] ?? '';
    expect(firstLine.length).toBeGreaterThan(40);
    expect(volumeBytesContain(home.volumeDir, firstLine)).toEqual([]);
  });
});

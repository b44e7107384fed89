// Ready-made trees and set-ups for the end-to-end tests: a "rich" tree with
// every kind of entry and odd name the files source must keep, a "bulk" tree
// of a chosen size, and a fresh ARCA_HOME with one volume.

import path from 'node:path';
import { arcaOk, type ArcaOptions } from './arca.js';
import { Prng } from './random.js';
import { dir, file, symlink, type TreeSpec } from './tree.js';

/**
 * About 4.6 MB: random (incompressible) and log-like (compressible) files,
 * empty and one-byte files, a file just past the largest chunk, duplicate
 * files, modes 0600/0755/0444 and a 0700 folder, nested and empty folders,
 * relative/absolute/dangling/folder symlinks, names with spaces, unicode (NFC
 * and NFD), a newline, a leading dash, a dot, 250 bytes, and an mtime past 2038.
 * `root` is where the tree will be made (the absolute symlink points into it).
 */
export function richTree(root: string): TreeSpec {
  return {
    'big-random.bin': file({ random: 1_500_000 }),
    'chunk-edge.bin': file({ random: 262_145 }),
    'small-random.bin': file({ random: 10_000 }),
    'app.log': file({ text: 2_000_000 }),
    'same-a.bin': file({ random: 200_000, seed: 'same-content' }),
    'same-b.bin': file({ random: 200_000, seed: 'same-content' }),
    empty: file(''),
    'one-byte': file('x'),
    'secret.key': file({ random: 64 }, { mode: 0o600 }),
    'run.sh': file('#!/bin/sh\necho hello\n', { mode: 0o755 }),
    'readonly.txt': file('do not touch\n', { mode: 0o444 }),
    'after-2038.txt': file('time after 2038\n', { mtime: 2_300_000_000.5 }),
    private: dir({ 'notes.txt': file('private notes\n', { mode: 0o600 }) }, { mode: 0o700 }),
    'empty-dir': dir(),
    nested: dir({
      a: dir({
        b: dir({
          c: dir({ 'deep.txt': file('deep\n'), 'deep.bin': file({ random: 300_000 }), 'empty-deep': dir() }),
        }),
      }),
    }),
    'with space.txt': file('spaces in the name\n'),
    'ünïcödé-名前.txt': file('unicode name\n'),
    'caf\u00e9': file('nfc name\n'),
    'cafe\u0301': file('nfd name\n'),
    'new\nline.txt': file('a newline in the name\n'),
    '-leading-dash': file('dash\n'),
    '.hidden': file('hidden\n'),
    ['n'.repeat(246) + '.txt']: file('a 250-byte name\n'),
    links: dir({
      rel: symlink('../nested/a/b/c/deep.txt'),
      abs: symlink(path.join(root, 'app.log')),
      dangling: symlink('does/not/exist'),
      'to-dir': symlink('../nested'),
    }),
  };
}

/**
 * About `totalBytes` in files of 64 KiB to 1.5 MB (nine in ten random, one in
 * ten compressible text) spread over a few folders, plus 100 small files.
 */
export function bulkTree(seed: number, totalBytes: number): TreeSpec {
  const prng = new Prng(seed);
  const spec: TreeSpec = {};
  const folders: TreeSpec[] = [];
  for (let d = 0; d < 6; d++) {
    const entries: TreeSpec = {};
    spec[`dir-${d}`] = dir(entries);
    folders.push(entries);
  }
  const small: TreeSpec = {};
  spec['small'] = dir(small);
  let bytes = 0;
  for (let i = 0; i < 100; i++) {
    const size = prng.int(0, 4000);
    small[`s-${String(i).padStart(3, '0')}.txt`] = file({ text: size });
    bytes += size;
  }
  for (let i = 0; bytes < totalBytes; i++) {
    const size = Math.min(prng.int(64 * 1024, 1_500_000), Math.max(1, totalBytes - bytes));
    const target = prng.pick(folders);
    target[`f-${String(i).padStart(4, '0')}.bin`] = i % 10 === 9 ? file({ text: size }) : file({ random: size });
    bytes += size;
  }
  return spec;
}

export interface Home {
  /** Options for runArca: ARCA_HOME and the test password. */
  opts: ArcaOptions;
  /** The local volume's folder. */
  volumeDir: string;
  volumeName: string;
}

/** A fresh ARCA_HOME under `base` with one volume `main` at `base/volume`. */
export async function freshHome(base: string, volumeName = 'main'): Promise<Home> {
  const opts: ArcaOptions = { home: path.join(base, 'home') };
  const volumeDir = path.join(base, `volume-${volumeName}`);
  await arcaOk(['volume', 'add', volumeName, volumeDir], opts);
  return { opts, volumeDir, volumeName };
}

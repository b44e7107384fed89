// Builds directory trees for end-to-end tests (makeTree) and describes trees
// so two can be compared entry by entry (treeSnapshot): bytes and metadata.
//
// Time precision. Linux filesystems (ext4, xfs, tmpfs, overlayfs) keep
// nanosecond mtimes, but Node can only *set* times as a double of seconds
// (fs.utimes/lutimes), about 0.24 µs apart near today's dates; no restore
// written in Node can reproduce an arbitrary nanosecond value. So:
//   - treeSnapshot reports `mtimeUs`, the mtime rounded to the nearest
//     microsecond, and
//   - makeTree (and setMtime) only set mtimes that are whole multiples of
//     1/64 s (MTIME_STEP): sub-second, exact in a double, and a whole number
//     of microseconds, so a restore that is off by less than 0.5 µs still
//     compares equal while any real loss (to ms or s) does not.
// Sizes and content hashes are exact; modes are the permission bits (& 0o7777);
// a symlink's own mode is not compared (always 0777 on Linux). The root folder
// itself is not part of a snapshot (restore may create it); everything below is.

import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { compressibleText, seededBytes } from './random.js';

/** Every mtime a test sets is a multiple of this (seconds). */
export const MTIME_STEP = 1 / 64;

/** File content: literal bytes/text, or generated (incompressible or compressible). */
export type Content =
  | Buffer
  | string
  | { random: number; seed?: string }
  | { text: number; seed?: string; marker?: string };

export interface FileSpec {
  type: 'file';
  content?: Content;
  /** Permission bits; default 0o644. */
  mode?: number;
  /** Seconds since the epoch, a multiple of MTIME_STEP; default: a distinct sub-second time. */
  mtime?: number;
}
export interface DirSpec {
  type: 'dir';
  entries?: TreeSpec;
  /** Default 0o755. */
  mode?: number;
  mtime?: number;
}
export interface SymlinkSpec {
  type: 'symlink';
  /** Stored as given: relative, absolute or dangling. */
  target: string;
  mtime?: number;
}
export type EntrySpec = FileSpec | DirSpec | SymlinkSpec;
export interface TreeSpec {
  [name: string]: EntrySpec;
}

export const file = (content: Content = '', opts: { mode?: number; mtime?: number } = {}): FileSpec => ({
  type: 'file',
  content,
  ...opts,
});
export const dir = (entries: TreeSpec = {}, opts: { mode?: number; mtime?: number } = {}): DirSpec => ({
  type: 'dir',
  entries,
  ...opts,
});
export const symlink = (target: string, opts: { mtime?: number } = {}): SymlinkSpec => ({ type: 'symlink', target, ...opts });

/** The bytes a Content stands for; `seed` makes generated content distinct per file. */
export function contentBytes(content: Content | undefined, seed: string): Buffer {
  if (content === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(content)) return content;
  if (typeof content === 'string') return Buffer.from(content, 'utf8');
  if ('random' in content) return seededBytes(content.seed ?? seed, content.random);
  return compressibleText(content.seed ?? seed, content.text, content.marker ?? '');
}

/** A distinct, exactly settable sub-second mtime for the n-th entry. */
export function defaultMtime(n: number): number {
  return 1_600_000_000 + n * 86_413 + ((n * 37) % 64) * MTIME_STEP;
}

function checkMtime(seconds: number): void {
  if (!Number.isInteger(seconds * 64)) {
    throw new Error(`mtime ${seconds} is not a multiple of 1/64 s; see MTIME_STEP in test/helpers/tree.ts`);
  }
}

/** Sets the mtime (and atime) of a file or folder, following no symlink. */
export function setMtime(p: string | Buffer, seconds: number): void {
  checkMtime(seconds);
  if (lstatSync(p).isSymbolicLink()) lutimesSync(p, seconds, seconds);
  else utimesSync(p, seconds, seconds);
}

/** Writes a file (replacing it) with a mode and an exact mtime. */
export function writeFileStamped(p: string, data: Buffer | string, mtime: number, mode = 0o644): void {
  writeFileSync(p, data);
  chmodSync(p, mode);
  setMtime(p, mtime);
}

export interface TreeStats {
  files: number;
  dirs: number;
  symlinks: number;
  /** Total bytes of regular files. */
  bytes: number;
}

/**
 * Creates `spec` inside `root` (created if missing; must not already hold
 * these names). Modes and mtimes are applied after all content, folders
 * last and deepest first, so creating children does not disturb them. The
 * root's own mtime is set too (to `opts.rootMtime` or a default), so a tree
 * made inside another one still compares exactly.
 */
export function makeTree(root: string, spec: TreeSpec, opts: { seed?: string; rootMtime?: number } = {}): TreeStats {
  const seed = opts.seed ?? 'tree';
  const stats: TreeStats = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  const dirs: { p: string; depth: number; mode: number; mtime: number }[] = [];
  const leaves: { p: string; mode?: number; mtime: number }[] = [];
  let n = 0;
  mkdirSync(root, { recursive: true });

  const build = (at: string, entries: TreeSpec, rel: string, depth: number): void => {
    for (const [name, entry] of Object.entries(entries)) {
      const p = path.join(at, name);
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const mtime = entry.mtime ?? defaultMtime(++n);
      checkMtime(mtime);
      if (entry.type === 'dir') {
        mkdirSync(p);
        stats.dirs++;
        build(p, entry.entries ?? {}, relPath, depth + 1);
        dirs.push({ p, depth, mode: entry.mode ?? 0o755, mtime });
      } else if (entry.type === 'file') {
        const data = contentBytes(entry.content, `${seed}/${relPath}`);
        writeFileSync(p, data);
        stats.files++;
        stats.bytes += data.length;
        leaves.push({ p, mode: entry.mode ?? 0o644, mtime });
      } else {
        symlinkSync(entry.target, p);
        stats.symlinks++;
        leaves.push({ p, mtime });
      }
    }
  };
  build(root, spec, '', 0);

  for (const leaf of leaves) {
    if (leaf.mode !== undefined) chmodSync(leaf.p, leaf.mode);
    setMtime(leaf.p, leaf.mtime);
  }
  dirs.sort((a, b) => b.depth - a.depth);
  for (const d of dirs) {
    chmodSync(d.p, d.mode);
    setMtime(d.p, d.mtime);
  }
  setMtime(root, opts.rootMtime ?? defaultMtime(++n));
  return stats;
}

/** One entry of a tree, as compared by tests. */
export interface SnapshotEntry {
  /** Relative to the root, '/'-separated; bytes that are not UTF-8 appear as \xNN. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** Permission bits (files and folders). */
  mode?: number;
  uid: number;
  gid: number;
  /** Files only. */
  size?: number;
  /** mtime rounded to the nearest microsecond (see the top of this file). */
  mtimeUs: number;
  /** Symlinks only. */
  target?: string;
  /** Files only: hex SHA-256 of the content. */
  sha256?: string;
}

/** A name as text: UTF-8 when it is valid, else with each byte of a bad sequence as \xNN. */
export function displayName(raw: Buffer): string {
  const text = raw.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(raw)) return text;
  return [...raw].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
}

/** Streams a file through SHA-256 without holding it in memory. */
export function sha256File(p: string | Buffer): string {
  const hash = createHash('sha256');
  const fd = openSync(p, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * Every entry below `root`, sorted by raw path bytes, so that
 * `expect(treeSnapshot(restored)).toEqual(treeSnapshot(source))` proves
 * bytes and metadata (path, type, mode, owner, size, mtime, symlink target).
 */
export function treeSnapshot(root: string): SnapshotEntry[] {
  const out: SnapshotEntry[] = [];
  const walk = (abs: Buffer, rel: string): void => {
    const names = (readdirSync(abs, { encoding: 'buffer' }) as Buffer[]).sort(Buffer.compare);
    for (const name of names) {
      const p = Buffer.concat([abs, Buffer.from('/'), name]);
      const relPath = rel === '' ? displayName(name) : `${rel}/${displayName(name)}`;
      const st = lstatSync(p, { bigint: true });
      const base = {
        path: relPath,
        uid: Number(st.uid),
        gid: Number(st.gid),
        mtimeUs: Number((st.mtimeNs + 500n) / 1000n),
      };
      if (st.isSymbolicLink()) {
        out.push({ ...base, type: 'symlink', target: displayName(readlinkSync(p, { encoding: 'buffer' })) });
      } else if (st.isDirectory()) {
        out.push({ ...base, type: 'dir', mode: Number(st.mode & 0o7777n) });
        walk(p, relPath);
      } else if (st.isFile()) {
        out.push({ ...base, type: 'file', mode: Number(st.mode & 0o7777n), size: Number(st.size), sha256: sha256File(p) });
      } else {
        out.push({ ...base, type: 'other', mode: Number(st.mode & 0o7777n) });
      }
    }
  };
  walk(Buffer.from(path.resolve(root)), '');
  return out;
}

/** Regular-file content hashes by path, from a snapshot. */
export function fileDigests(snapshot: SnapshotEntry[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of snapshot) if (e.type === 'file' && e.sha256 !== undefined) m.set(e.path, e.sha256);
  return m;
}

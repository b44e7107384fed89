// Looks at a local volume from the outside, as an attacker or a bad disk
// would: lists its objects by kind (keys/, config, data/, index/, snapshots/,
// sessions/, per docs/repository-format.md §1, one file per object key under
// the volume folder), scans every byte for plaintext, and flips bytes.

import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';

export type ObjectKind = 'key' | 'config' | 'pack' | 'index' | 'snapshot' | 'session' | 'other';

export interface VolumeObject {
  /** The object key, e.g. `data/ab/ab12…` (from the path under the volume folder). */
  key: string;
  /** Absolute file path. */
  path: string;
  size: number;
  kind: ObjectKind;
}

const HEX64 = /^[0-9a-f]{64}$/;

function kindOf(key: string): ObjectKind {
  const parts = key.split('/');
  const last = parts[parts.length - 1] ?? '';
  if (key === 'config') return 'config';
  if (parts[0] === 'keys' && parts.length === 2) return 'key';
  if (parts[0] === 'data' && parts.length === 3 && HEX64.test(last) && parts[1] === last.slice(0, 2)) return 'pack';
  if (parts[0] === 'index' && parts.length === 2 && HEX64.test(last)) return 'index';
  if (parts[0] === 'snapshots' && parts.length === 2) return 'snapshot';
  if (parts[0] === 'sessions' && parts.length === 2) return 'session';
  return 'other';
}

/** Every regular file under `dir`: its '/'-separated relative path and its absolute path as bytes. */
function allFiles(dir: string): { rel: string; abs: Buffer }[] {
  const out: { rel: string; abs: Buffer }[] = [];
  const walk = (abs: Buffer, rel: string): void => {
    for (const name of readdirSync(abs, { encoding: 'buffer' }) as Buffer[]) {
      const p = Buffer.concat([abs, Buffer.from('/'), name]);
      const r = rel === '' ? name.toString('utf8') : `${rel}/${name.toString('utf8')}`;
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p, r);
      else if (st.isFile()) out.push({ rel: r, abs: p });
    }
  };
  walk(Buffer.from(path.resolve(dir)), '');
  return out;
}

/**
 * The volume's objects, sorted by key. Files in the backend's temp folder
 * (`tmp~/`) are not objects and are left out; volumeBytesContain still scans them.
 */
export function listVolumeObjects(volumeDir: string): VolumeObject[] {
  return allFiles(volumeDir)
    .map((f) => f.rel)
    .filter((key) => !key.startsWith('tmp~/'))
    .sort()
    .map((key) => {
      const p = path.join(volumeDir, key);
      return { key, path: p, size: statSync(p).size, kind: kindOf(key) };
    });
}

/** Objects of one kind. */
export function objectsOfKind(volumeDir: string, kind: ObjectKind): VolumeObject[] {
  return listVolumeObjects(volumeDir).filter((o) => o.kind === kind);
}

/**
 * The volume files (every file, temp files included) whose bytes contain
 * `needle`, as paths relative to the volume; empty when none does.
 */
export function volumeBytesContain(volumeDir: string, needle: string | Buffer): string[] {
  const bytes = typeof needle === 'string' ? Buffer.from(needle, 'utf8') : needle;
  if (bytes.length === 0) throw new Error('empty needle');
  return allFiles(volumeDir)
    .filter((f) => readFileSync(f.abs).includes(bytes))
    .map((f) => f.rel);
}

/**
 * XORs one byte of `file` in place with `mask` (default 0x01) and returns the
 * old value; flipping twice restores the file. A negative offset counts from the end.
 */
export function flipByte(file: string, offset: number, mask = 0x01): number {
  const size = statSync(file).size;
  const at = offset < 0 ? size + offset : offset;
  if (!Number.isInteger(at) || at < 0 || at >= size) throw new Error(`offset ${offset} outside ${file} (${size} bytes)`);
  const fd = openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    const old = b[0] as number;
    b[0] = old ^ mask;
    writeSync(fd, b, 0, 1, at);
    return old;
  } finally {
    closeSync(fd);
  }
}

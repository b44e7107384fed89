// LocalBackend: a volume in a folder on a local or network disk. Owns the
// on-disk layout (one file per object, the '/' of a key is a folder, temp
// files in `<root>/tmp~/`), atomic durable writes (temp file, fsync, rename,
// fsync of the folder) and the mapping of errno codes to BackendErrors.
//
// `tmp~` is not a valid key segment, so it can never collide with an object;
// list() also skips any other entry whose name is not a valid key segment
// (lost+found, editor leftovers), so only real objects are ever visible.

import { randomBytes } from 'node:crypto';
import { promises as fsp, type Dirent } from 'node:fs';
import path from 'node:path';
import {
  assertValidKey,
  assertValidPrefix,
  BackendError,
  type Backend,
  type ByteRange,
  type ObjectInfo,
} from '../backend.js';
import { assertValidRange, resolveRange } from '../range.js';
import { errnoCode, isMissing, mapFsError } from './fs-errors.js';

/** The folder (under the volume root) that holds in-flight temp files. */
export const TEMP_DIR = 'tmp~';
const TEMP_SUFFIX = '.tmp';
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
/** How many files list() stats at once. */
const STAT_BATCH = 32;

export class LocalBackend implements Backend {
  /** The absolute path of the volume's folder. */
  readonly location: string;

  private constructor(readonly root: string) {
    this.location = root;
  }

  /** Creates the volume folder (like mkdir -p) if needed and opens it. */
  static async create(root: string): Promise<LocalBackend> {
    const abs = path.resolve(root);
    try {
      await mkdirDurable(path.join(abs, TEMP_DIR));
    } catch (err) {
      if (errnoCode(err) === 'EEXIST' || errnoCode(err) === 'ENOTDIR') {
        throw new BackendError(`volume ${abs}: cannot create the volume folder, a file is in the way`, {
          permanent: true,
          cause: err,
        });
      }
      throw mapFsError(err, abs, 'writing', TEMP_DIR);
    }
    return LocalBackend.open(abs);
  }

  /** Opens an existing volume folder; fails with NOT_FOUND if it does not exist. */
  static async open(root: string): Promise<LocalBackend> {
    const abs = path.resolve(root);
    let isDir: boolean;
    try {
      isDir = (await fsp.stat(abs)).isDirectory();
    } catch (err) {
      if (isMissing(err)) {
        throw new BackendError(`volume ${abs}: the folder does not exist`, { permanent: true, notFound: true, cause: err });
      }
      throw mapFsError(err, abs, 'opening', 'the volume folder');
    }
    if (!isDir) throw new BackendError(`volume ${abs}: not a folder`, { permanent: true });
    return new LocalBackend(abs);
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    assertValidKey(key);
    const target = this.pathOf(key);
    const temp = path.join(this.root, TEMP_DIR, randomBytes(12).toString('hex') + TEMP_SUFFIX);
    try {
      await this.writeTemp(temp, data, key);
      await this.renameIntoPlace(temp, target, key);
    } catch (err) {
      await fsp.rm(temp, { force: true }).catch(() => undefined);
      throw mapFsError(err, this.location, 'writing', key);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    assertValidKey(key);
    if (range) assertValidRange(range, key);
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(this.pathOf(key), 'r');
    } catch (err) {
      throw mapFsError(err, this.location, 'reading', key);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw this.notFound(key);
      const span = resolveRange(range, st.size, key, this.location);
      const buf = Buffer.allocUnsafeSlow(span.length);
      let done = 0;
      while (done < span.length) {
        const { bytesRead } = await fh.read(buf, done, span.length - done, span.offset + done);
        if (bytesRead === 0) {
          throw new BackendError(`volume ${this.location}: object ${key} shrank while being read`, { permanent: false, key });
        }
        done += bytesRead;
      }
      return buf;
    } catch (err) {
      throw mapFsError(err, this.location, 'reading', key);
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    try {
      const st = await fsp.stat(this.pathOf(key));
      return st.isFile() ? { key, size: st.size } : undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw mapFsError(err, this.location, 'checking', key);
    }
  }

  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    assertValidPrefix(prefix);
    yield* this.walk(this.root, '', prefix, new Set());
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    try {
      await fsp.unlink(this.pathOf(key));
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return; // no such object
      throw mapFsError(err, this.location, 'deleting', key);
    }
  }

  async close(): Promise<void> {
    // Nothing is held open between calls.
  }

  /**
   * Removes temp files left by writers that died (SIGKILL, power loss) and
   * are older than `olderThanMs`. Never touches objects. Returns how many
   * were removed. Only call with a short age when no writer is running.
   */
  async cleanupTemp(olderThanMs = 60 * 60_000, now: number = Date.now()): Promise<number> {
    const dir = path.join(this.root, TEMP_DIR);
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch (err) {
      if (isMissing(err)) return 0;
      throw mapFsError(err, this.location, 'listing', TEMP_DIR);
    }
    let removed = 0;
    for (const name of names) {
      if (!name.endsWith(TEMP_SUFFIX)) continue;
      const file = path.join(dir, name);
      try {
        const st = await fsp.lstat(file);
        if (!st.isFile() || now - st.mtimeMs < olderThanMs) continue;
        await fsp.unlink(file);
        removed++;
      } catch (err) {
        if (isMissing(err)) continue; // its writer finished or another cleanup won
        throw mapFsError(err, this.location, 'deleting', `${TEMP_DIR}/${name}`);
      }
    }
    return removed;
  }

  private pathOf(key: string): string {
    return path.join(this.root, ...key.split('/'));
  }

  private notFound(key: string): BackendError {
    return new BackendError(`volume ${this.location}: object ${key} not found`, { permanent: true, notFound: true, key });
  }

  private async writeTemp(temp: string, data: Uint8Array, key: string): Promise<void> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(temp, 'wx', FILE_MODE);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      // The temp folder is missing (a volume made by hand, or an old layout).
      await fsp.mkdir(path.dirname(temp), { recursive: true, mode: DIR_MODE });
      fh = await fsp.open(temp, 'wx', FILE_MODE);
    }
    let closed = false;
    try {
      await fh.writeFile(data);
      await fh.sync();
      closed = true;
      await fh.close();
    } catch (err) {
      throw mapFsError(err, this.location, 'writing', key);
    } finally {
      if (!closed) await fh.close().catch(() => undefined);
    }
  }

  private async renameIntoPlace(temp: string, target: string, key: string): Promise<void> {
    const dir = path.dirname(target);
    try {
      await fsp.rename(temp, target);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EISDIR' || code === 'ENOTEMPTY') throw this.conflict(key, 'a folder with that name exists', err);
      if (code === 'ENOTDIR') throw this.conflict(key, 'an object is in the way of one of its folders', err);
      if (code !== 'ENOENT') throw err;
      await this.makeDirs(dir, key);
      await fsp.rename(temp, target);
    }
    await this.syncDir(dir, key);
  }

  private conflict(key: string, why: string, cause: unknown): BackendError {
    return new BackendError(`volume ${this.location}: cannot store object ${key}: ${why}`, { permanent: true, key, cause });
  }

  private async makeDirs(dir: string, key: string): Promise<void> {
    try {
      await mkdirDurable(dir);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EEXIST' || code === 'ENOTDIR') throw this.conflict(key, 'an object is in the way of one of its folders', err);
      throw err;
    }
  }

  private async syncDir(dir: string, key: string): Promise<void> {
    try {
      await syncDir(dir);
    } catch (err) {
      throw mapFsError(err, this.location, 'writing', key);
    }
  }

  private async *walk(dir: string, dirKey: string, prefix: string, seen: Set<string>): AsyncGenerator<ObjectInfo> {
    let entries: Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return; // no such folder: nothing under this prefix
      throw mapFsError(err, this.location, 'listing', prefix === '' ? 'all objects' : prefix);
    }
    const files: string[] = [];
    const folders: string[] = [];
    for (const entry of entries) {
      const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
      if (!isValidKey(key)) continue; // tmp~, lost+found, …: never objects
      if (entry.isDirectory()) {
        if (couldContain(key, prefix)) folders.push(key);
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        // A symbolic link may point at a folder; stat() below decides.
        if (key.startsWith(prefix) || (entry.isSymbolicLink() && couldContain(key, prefix))) files.push(key);
      }
    }
    for (let i = 0; i < files.length; i += STAT_BATCH) {
      const batch = files.slice(i, i + STAT_BATCH);
      const stats = await Promise.all(
        batch.map((key) =>
          fsp.stat(this.pathOf(key)).catch((err: unknown) => {
            if (isMissing(err)) return undefined; // deleted while we listed
            throw mapFsError(err, this.location, 'listing', key);
          }),
        ),
      );
      for (let j = 0; j < batch.length; j++) {
        const key = batch[j] as string;
        const st = stats[j];
        if (st === undefined) continue;
        if (st.isFile() && key.startsWith(prefix)) {
          yield { key, size: st.size };
        } else if (st.isDirectory() && couldContain(key, prefix)) {
          const id = `${st.dev}:${st.ino}`; // follow each linked folder once: no loops
          if (!seen.has(id)) {
            seen.add(id);
            folders.push(key);
          }
        }
      }
    }
    for (const key of folders) yield* this.walk(this.pathOf(key), key, prefix, seen);
  }
}

/** fsync a folder, so entries just created or renamed in it survive a crash. */
async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } catch (err) {
    // Some file systems (CIFS, some FUSE) cannot fsync a folder; renames
    // there are still atomic.
    const code = errnoCode(err);
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** mkdir -p, then fsync the parent of every folder it created so the new entries are durable. */
async function mkdirDurable(dir: string): Promise<void> {
  const first = await fsp.mkdir(dir, { recursive: true, mode: DIR_MODE });
  if (first === undefined) return;
  const parents: string[] = [];
  for (let d = dir; ; d = path.dirname(d)) {
    parents.push(path.dirname(d));
    if (d === first || path.dirname(d) === d) break;
  }
  for (const parent of parents.reverse()) await syncDir(parent);
}

function isValidKey(key: string): boolean {
  try {
    assertValidKey(key);
    return true;
  } catch {
    return false;
  }
}

/** Whether a folder named `folderKey` may hold keys starting with `prefix`. */
function couldContain(folderKey: string, prefix: string): boolean {
  const f = folderKey + '/';
  return f.startsWith(prefix) || prefix.startsWith(f);
}

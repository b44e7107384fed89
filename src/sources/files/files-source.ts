// Backup of a directory tree: walks it depth-first with raw (byte) names,
// keeps type, mode, owner, mtime (ns) and inode; saves each regular file's
// content as a stream; at levels 1–9 reuses the parent's content for files
// whose size, mtime and inode are unchanged.

import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { ArcaError, errorMessage } from '../../errors.js';
import { BlobType } from '../../repository/pack/pack-footer.js';
import { encodeTree, nameFields, nodeNameBytes, targetFields, type TreeNode } from '../../repository/tree.js';
import { saveStream } from '../../repository/stream-saver.js';
import type { Source, SourceBackupContext, SourceBackupResult } from '../source.js';

const SLASH = Buffer.from('/');
const join = (dir: Buffer, name: Buffer) => Buffer.concat([dir, SLASH, name]);

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

function sourceError(path: Buffer, what: string, err: unknown): ArcaError {
  return new ArcaError('SOURCE', `cannot ${what} ${path.toString('utf8')}: ${errorMessage(err)}`, { cause: err });
}

function baseFields(st: BigIntStats): Pick<TreeNode, 'mode' | 'uid' | 'gid' | 'mtimeNs' | 'ino' | 'dev'> {
  return {
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtimeNs: st.mtimeNs.toString(),
    ino: Number(st.ino),
    dev: Number(st.dev),
  };
}

export class FilesSource implements Source {
  readonly kind = 'files';

  constructor(
    readonly url: string,
    private readonly root: string,
  ) {}

  async estimateBytes(signal?: AbortSignal): Promise<number | null> {
    let total = 0;
    const walk = async (dir: Buffer): Promise<void> => {
      if (signal?.aborted) return;
      let names: Buffer[];
      try {
        names = await readdir(dir, { encoding: 'buffer' });
      } catch {
        return;
      }
      for (const name of names) {
        const p = join(dir, name);
        const st = await lstat(p).catch(() => undefined);
        if (st?.isDirectory()) await walk(p);
        else if (st?.isFile()) total += st.size;
      }
    };
    await walk(Buffer.from(this.root));
    return total;
  }

  async backup(ctx: SourceBackupContext): Promise<SourceBackupResult> {
    const rootBuf = Buffer.from(this.root);
    let st: BigIntStats;
    try {
      st = await lstat(rootBuf, { bigint: true });
    } catch (err) {
      throw sourceError(rootBuf, 'read', err);
    }
    if (!st.isDirectory()) throw new ArcaError('SOURCE', `${this.root} is not a directory`);
    const state = { files: 0, bytesRead: 0, skipped: [] as string[] };
    const root = await this.saveDir(ctx, rootBuf, ctx.parent?.manifest.root, state);
    return { root, files: state.files, bytesRead: state.bytesRead, extra: state.skipped.length ? { skipped: state.skipped } : {} };
  }

  /** Saves one directory's tree and returns its id (hex). */
  private async saveDir(
    ctx: SourceBackupContext,
    dir: Buffer,
    parentTree: string | undefined,
    state: { files: number; bytesRead: number; skipped: string[] },
  ): Promise<string> {
    if (ctx.signal?.aborted) throw new ArcaError('ABORTED', 'backup aborted');
    let names: Buffer[];
    try {
      names = await readdir(dir, { encoding: 'buffer' });
    } catch (err) {
      throw sourceError(dir, 'list', err);
    }
    const previous = new Map<string, TreeNode>();
    if (parentTree && ctx.parent) {
      for (const n of (await ctx.parent.reader.readTree(parentTree)).nodes) previous.set(nodeNameBytes(n).toString('latin1'), n);
    }
    names.sort(Buffer.compare);
    const nodes: TreeNode[] = [];
    for (const name of names) {
      const path = join(dir, name);
      let st: BigIntStats;
      try {
        st = await lstat(path, { bigint: true });
      } catch (err) {
        if (isMissing(err)) continue; // deleted while we walked: not part of this backup
        throw sourceError(path, 'read', err);
      }
      const before = previous.get(name.toString('latin1'));
      const base = { ...nameFields(name), ...baseFields(st) };
      if (st.isDirectory()) {
        const subtree = await this.saveDir(ctx, path, before?.type === 'dir' ? before.subtree : undefined, state);
        nodes.push({ ...base, type: 'dir', subtree });
      } else if (st.isFile()) {
        nodes.push(await this.saveFile(ctx, path, st, base, before, state));
      } else if (st.isSymbolicLink()) {
        let target: Buffer;
        try {
          target = await readlink(path, { encoding: 'buffer' });
        } catch (err) {
          if (isMissing(err)) continue;
          throw sourceError(path, 'read link', err);
        }
        nodes.push({ ...base, type: 'symlink', ...targetFields(target) });
      } else {
        state.skipped.push(path.toString('utf8')); // sockets, FIFOs, devices hold no data to back up
      }
    }
    return (await ctx.session.putBlob(BlobType.tree, encodeTree(nodes))).toString('hex');
  }

  private async saveFile(
    ctx: SourceBackupContext,
    path: Buffer,
    st: BigIntStats,
    base: TreeNode | Omit<TreeNode, 'type'>,
    before: TreeNode | undefined,
    state: { files: number; bytesRead: number },
  ): Promise<TreeNode> {
    state.files++;
    const unchanged =
      before?.type === 'file' &&
      before.size === Number(st.size) &&
      before.mtimeNs === st.mtimeNs.toString() &&
      before.ino === Number(st.ino) &&
      (before.content !== undefined || before.contentLists !== undefined);
    if (unchanged && (await reusable(ctx, before))) {
      return { ...base, type: 'file', size: before.size, ...(before.contentLists ? { contentLists: before.contentLists } : { content: before.content }) };
    }
    const input = createReadStream(path, { highWaterMark: 1 << 20 });
    let saved;
    try {
      saved = await saveStream(ctx.session, input, (n) => {
        state.bytesRead += n;
        ctx.onBytes(n);
      });
    } catch (err) {
      input.destroy();
      if (err instanceof ArcaError) throw err;
      if (isMissing(err)) throw new ArcaError('SOURCE', `${path.toString('utf8')} disappeared while it was read`, { cause: err });
      throw sourceError(path, 'read', err);
    }
    return { ...base, type: 'file', size: saved.size, ...saved.fields };
  }
}

/**
 * Whether an unchanged file may keep its parent's content ids: always, unless
 * a tombstone named packs when the session started (format §10); then every
 * blob must be in a pack no tombstone names, else the file is read again.
 */
async function reusable(ctx: SourceBackupContext, before: TreeNode): Promise<boolean> {
  const { session, parent } = ctx;
  if (!session.hasTombstones || !parent) return true;
  const has = (idHex: string) => session.has(Buffer.from(idHex, 'hex'));
  if (!(before.contentLists ?? []).every(has)) return false;
  return (await parent.reader.contentIds(before)).every(has);
}

// Restore of a directory tree: every file is written to a temporary name and
// renamed into place only after all its blobs verified, so a failed restore
// never leaves wrong or partial bytes under a real name. Metadata (mode,
// owner when permitted, mtime) is applied after content; a directory's after
// its children. mtimes are restored with microsecond precision (the limit of
// Node's utimes).

import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, chown, lchown, lstat, lutimes, mkdir, readdir, rename, rm, symlink, utimes } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { ArcaError, errorMessage } from '../../errors.js';
import { nodeNameBytes, type TreeNode } from '../../repository/tree.js';
import type { SourceRestoreContext, SourceRestoreResult } from '../source.js';

const SLASH = Buffer.from('/');
const join = (dir: Buffer, name: Buffer) => Buffer.concat([dir, SLASH, name]);
const isRoot = process.getuid?.() === 0;

function seconds(node: TreeNode): number {
  return Number(BigInt(node.mtimeNs ?? '0') / 1000n) / 1e6;
}

async function exists(path: Buffer): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

async function ensureTarget(target: string, force: boolean): Promise<void> {
  let entries: string[] | undefined;
  try {
    entries = await readdir(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new ArcaError('CONFLICT', `restore target ${target} exists and is not a directory`);
    throw new ArcaError('CONFLICT', `cannot use restore target ${target}: ${errorMessage(err)}`);
  }
  if (entries.length > 0 && !force) {
    throw new ArcaError('CONFLICT', `restore target ${target} is not empty; use --force to restore over it`);
  }
}

export async function restoreFiles(ctx: SourceRestoreContext): Promise<SourceRestoreResult> {
  await ensureTarget(ctx.target, ctx.force);
  const state = { files: 0, bytesWritten: 0 };
  const root = Buffer.from(ctx.target);
  await mkdir(root, { recursive: true });
  await restoreDir(ctx, ctx.manifest.root, root, state);
  return { target: ctx.target, ...state };
}

async function restoreDir(ctx: SourceRestoreContext, treeHex: string, dir: Buffer, state: { files: number; bytesWritten: number }): Promise<void> {
  const tree = await ctx.reader.readTree(treeHex);
  for (const node of tree.nodes) {
    if (ctx.signal?.aborted) throw new ArcaError('ABORTED', 'restore aborted');
    const name = nodeNameBytes(node);
    if (name.length === 0 || name.includes(0x2f) || name.equals(Buffer.from('.')) || name.equals(Buffer.from('..'))) {
      throw new ArcaError('CORRUPT', `backup holds an invalid file name (${JSON.stringify(name.toString('utf8'))})`);
    }
    const path = join(dir, name);
    if (node.type === 'dir') {
      const st = await lstat(path).catch(() => undefined);
      if (st && !st.isDirectory()) await rm(path, { recursive: true, force: true });
      if (!st || !st.isDirectory()) await mkdir(path, { mode: 0o700 });
      if (node.subtree) await restoreDir(ctx, node.subtree, path, state);
      await applyMeta(path, node, false);
    } else if (node.type === 'file') {
      await restoreFile(ctx, node, dir, path, state);
    } else if (node.type === 'symlink') {
      const target = node.target !== undefined ? Buffer.from(node.target) : Buffer.from(node.targetRaw ?? '', 'base64');
      if (await exists(path)) await rm(path, { recursive: true, force: true });
      await symlink(target, path);
      await applyMeta(path, node, true);
    }
  }
}

async function restoreFile(
  ctx: SourceRestoreContext,
  node: TreeNode,
  dir: Buffer,
  path: Buffer,
  state: { files: number; bytesWritten: number },
): Promise<void> {
  const tmp = join(dir, Buffer.from(`.arca-restore-${randomBytes(6).toString('hex')}.tmp`));
  let written = 0;
  try {
    const content = Readable.from(
      (async function* () {
        for await (const chunk of ctx.reader.readContent(node)) {
          written += chunk.length;
          ctx.onBytes(chunk.length);
          yield chunk;
        }
      })(),
    );
    await pipeline(content, createWriteStream(tmp, { mode: 0o600 }));
    if (node.size !== undefined && written !== node.size) {
      throw new ArcaError('CORRUPT', `${path.toString('utf8')}: restored ${written} bytes, the backup recorded ${node.size}`);
    }
    await applyMeta(tmp, node, false);
    const st = await lstat(path).catch(() => undefined);
    if (st?.isDirectory()) await rm(path, { recursive: true, force: true });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  state.files++;
  state.bytesWritten += written;
}

async function applyMeta(path: Buffer, node: TreeNode, isLink: boolean): Promise<void> {
  if (isRoot && node.uid !== undefined && node.gid !== undefined) {
    await (isLink ? lchown : chown)(path, node.uid, node.gid);
  }
  if (!isLink && node.mode !== undefined) await chmod(path, node.mode);
  if (node.mtimeNs !== undefined) {
    const t = seconds(node);
    await (isLink ? lutimes : utimes)(path, t, t);
  }
}

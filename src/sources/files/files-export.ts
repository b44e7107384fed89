// `arca export` of a directory backup: one POSIX tar (pax) stream of the tree
// — regular files, directories, symlinks with their modes, owners and mtimes
// (nanoseconds via pax). Entries are relative to the backed-up folder, so
// `tar -xf` recreates its contents in the current directory. A file whose
// stored bytes do not add up to its recorded size fails the export (CORRUPT).

import { ArcaError } from '../../errors.js';
import { nodeNameBytes, type TreeNode } from '../../repository/tree.js';
import type { SourceExportContext } from '../source.js';
import { tarEnd, tarHeader, tarPadding, type TarEntry } from './tar-writer.js';

function entryOf(node: TreeNode, path: Buffer, type: TarEntry['type'], size: number, linkTarget?: Buffer): TarEntry {
  const fallbackMode = type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644;
  return {
    path,
    type,
    mode: node.mode ?? fallbackMode,
    uid: node.uid ?? 0,
    gid: node.gid ?? 0,
    size,
    mtimeNs: BigInt(node.mtimeNs ?? '0'),
    ...(linkTarget ? { linkTarget } : {}),
  };
}

function checkName(name: Buffer): void {
  if (name.length === 0 || name.includes(0x2f) || name.equals(Buffer.from('.')) || name.equals(Buffer.from('..'))) {
    throw new ArcaError('CORRUPT', `backup holds an invalid file name (${JSON.stringify(name.toString('utf8'))})`);
  }
}

async function* exportDir(ctx: SourceExportContext, treeHex: string, prefix: Buffer | undefined): AsyncGenerator<Buffer> {
  const tree = await ctx.reader.readTree(treeHex);
  for (const node of tree.nodes) {
    if (ctx.signal?.aborted) throw new ArcaError('ABORTED', 'export aborted');
    const name = nodeNameBytes(node);
    checkName(name);
    const path = prefix ? Buffer.concat([prefix, Buffer.from('/'), name]) : name;
    if (node.type === 'dir') {
      yield tarHeader(entryOf(node, path, 'dir', 0));
      if (node.subtree) yield* exportDir(ctx, node.subtree, path);
    } else if (node.type === 'symlink') {
      const target = node.target !== undefined ? Buffer.from(node.target) : Buffer.from(node.targetRaw ?? '', 'base64');
      yield tarHeader(entryOf(node, path, 'symlink', 0, target));
    } else if (node.type === 'file') {
      const size = node.size;
      if (size === undefined) throw new ArcaError('CORRUPT', `${path.toString('utf8')}: the backup records no size`);
      yield tarHeader(entryOf(node, path, 'file', size));
      let written = 0;
      for await (const chunk of ctx.reader.readContent(node)) {
        written += chunk.length;
        if (written > size) break;
        ctx.onBytes(chunk.length);
        yield chunk;
      }
      if (written !== size) {
        throw new ArcaError('CORRUPT', `${path.toString('utf8')}: the backup holds ${written} bytes, it recorded ${size}`);
      }
      yield tarPadding(size);
    }
  }
}

export async function* exportFiles(ctx: SourceExportContext): AsyncGenerator<Buffer> {
  yield* exportDir(ctx, ctx.manifest.root, undefined);
  yield tarEnd();
}

// `arca export` of a SQLite backup: the stored database file as is — it is
// already a plain SQLite database (see README.md), so `sqlite3 FILE` opens it.
// A stored size that does not match the bytes read fails the export.

import { ArcaError } from '../../errors.js';
import { nodeNameBytes } from '../../repository/tree.js';
import type { SourceExportContext } from '../source.js';
import { DATABASE_NODE } from './sqlite-backup.js';

export async function* exportSqlite(ctx: SourceExportContext): AsyncGenerator<Buffer> {
  const tree = await ctx.reader.readTree(ctx.manifest.root);
  const node = tree.nodes.find((n) => n.type === 'file' && nodeNameBytes(n).toString('utf8') === DATABASE_NODE);
  if (!node) throw new ArcaError('CORRUPT', `backup holds no ${DATABASE_NODE}`);
  let written = 0;
  for await (const chunk of ctx.reader.readContent(node)) {
    if (ctx.signal?.aborted) throw new ArcaError('ABORTED', 'export aborted');
    written += chunk.length;
    ctx.onBytes(chunk.length);
    yield chunk;
  }
  if (node.size !== undefined && written !== node.size) {
    throw new ArcaError('CORRUPT', `${DATABASE_NODE}: the backup holds ${written} bytes, it recorded ${node.size}`);
  }
}

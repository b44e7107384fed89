// Trees (format §8): one directory (or one database's set of streams) as a
// tree blob of canonical JSON. Names that are not UTF-8 travel as base64.

import { ArcaError } from '../errors.js';

export type NodeType = 'file' | 'dir' | 'symlink';

export interface TreeNode {
  name?: string;
  nameRaw?: string;
  type: NodeType;
  mode?: number;
  uid?: number;
  gid?: number;
  mtimeNs?: string;
  size?: number;
  ino?: number;
  dev?: number;
  /** Hex ids of the data blobs, in order (≤ 4096), or … */
  content?: string[];
  /** … hex ids of tree blobs holding the raw 32-byte ids (content-defined lists, format §8). */
  contentLists?: string[];
  subtree?: string;
  target?: string;
  targetRaw?: string;
}

export interface Tree {
  nodes: TreeNode[];
}

/** Files with more chunks than this list them in content-list blobs. */
export const MAX_INLINE_CHUNKS = 256;

/** The node's name as bytes (so sorting and restoring are exact). */
export function nodeNameBytes(node: TreeNode): Buffer {
  if (node.name !== undefined) return Buffer.from(node.name, 'utf8');
  if (node.nameRaw !== undefined) return Buffer.from(node.nameRaw, 'base64');
  throw new ArcaError('CORRUPT', 'tree node without a name');
}

/** Sets `name` (when `raw` is valid UTF-8 that round-trips) or `nameRaw`. */
export function nameFields(raw: Buffer): { name: string } | { nameRaw: string } {
  const s = raw.toString('utf8');
  return Buffer.from(s, 'utf8').equals(raw) ? { name: s } : { nameRaw: raw.toString('base64') };
}

export function targetFields(raw: Buffer): { target: string } | { targetRaw: string } {
  const s = raw.toString('utf8');
  return Buffer.from(s, 'utf8').equals(raw) ? { target: s } : { targetRaw: raw.toString('base64') };
}

export function encodeTree(nodes: TreeNode[]): Buffer {
  const sorted = [...nodes].sort((a, b) => Buffer.compare(nodeNameBytes(a), nodeNameBytes(b)));
  return Buffer.from(JSON.stringify({ nodes: sorted }), 'utf8');
}

export function decodeTree(buf: Buffer, what: string): Tree {
  try {
    const t = JSON.parse(buf.toString('utf8')) as Tree;
    if (!Array.isArray(t.nodes)) throw new Error('no nodes');
    return t;
  } catch {
    throw new ArcaError('CORRUPT', `${what} is not a valid tree`);
  }
}

/** Splits concatenated 32-byte ids of a content list blob. */
export function decodeContentList(buf: Buffer, what: string): string[] {
  if (buf.length % 32 !== 0) throw new ArcaError('CORRUPT', `${what} is not a valid content list`);
  const ids: string[] = [];
  for (let p = 0; p < buf.length; p += 32) ids.push(buf.subarray(p, p + 32).toString('hex'));
  return ids;
}

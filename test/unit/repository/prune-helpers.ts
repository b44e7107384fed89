// Helpers for the prune tests: backups written straight through a
// WriteSession (a flat tree of named files, no filesystem), read back whole,
// and a byte-exact snapshot of a memory volume.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import type { MemoryBackend } from '../../../src/backend/memory/memory-backend.js';
import { BlobPool } from '../../../src/content/blob-pool.js';
import { BlobReader } from '../../../src/repository/blob-reader.js';
import type { Manifest } from '../../../src/repository/manifest.js';
import { BlobType } from '../../../src/repository/pack/pack-footer.js';
import type { Repository } from '../../../src/repository/repository.js';
import { saveStream } from '../../../src/repository/stream-saver.js';
import { encodeTree, type TreeNode } from '../../../src/repository/tree.js';
import { WriteSession } from '../../../src/repository/write-session.js';

export type Files = Map<string, Buffer>;

export function newPool(repo: Repository): BlobPool {
  return new BlobPool(repo.keys, { zstdLevel: 1, threads: 0 });
}

/** A writer in steps: start (lease, then index), save files, commit (manifest). */
export class Writer {
  readonly session: WriteSession;
  constructor(
    readonly repo: Repository,
    pool: BlobPool,
  ) {
    this.session = new WriteSession(repo, { purpose: 'test backup', pool });
  }

  start(): Promise<void> {
    return this.session.start();
  }

  async save(files: Files, parent?: { manifest: Manifest; files: Files }): Promise<string> {
    const nodes: TreeNode[] = [];
    const reader = parent ? new BlobReader(this.repo, newPool(this.repo)) : undefined;
    const previous = parent ? (await reader!.readTree(parent.manifest.root)).nodes : [];
    for (const [name, data] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
      const before = previous.find((n) => n.name === name);
      // Like the files source: an unchanged file keeps its parent's ids, unless a tombstone says no.
      if (before && parent?.files.get(name)?.equals(data) && (!this.session.hasTombstones || (await reader!.contentIds(before)).every((id) => this.session.has(Buffer.from(id, 'hex'))))) {
        nodes.push({ ...before });
        continue;
      }
      const saved = await saveStream(this.session, Readable.from([data]));
      nodes.push({ name, type: 'file', mode: 0o644, size: saved.size, ...saved.fields });
    }
    return (await this.session.putBlob(BlobType.tree, encodeTree(nodes))).toString('hex');
  }

  commit(root: string, meta: { database?: string; expiresAt?: string | null; parent?: string | null; startedAt?: string } = {}): Promise<Manifest> {
    const now = new Date().toISOString();
    return this.session.commit({
      version: 1,
      id: randomBytes(16).toString('hex'),
      database: meta.database ?? 'db',
      source: { kind: 'files', url: 'file:///test' },
      level: meta.parent ? 1 : 0,
      parent: meta.parent ?? null,
      startedAt: meta.startedAt ?? now,
      finishedAt: now,
      expiresAt: meta.expiresAt ?? null,
      root,
      bytesRead: 0,
      files: 0,
      host: hostname(),
      extra: {},
    });
  }

  abort(): Promise<void> {
    return this.session.abort();
  }
}

/** One whole backup in one go. */
export async function writeBackup(repo: Repository, pool: BlobPool, files: Files, meta: Parameters<Writer['commit']>[1] = {}): Promise<Manifest> {
  const w = new Writer(repo, pool);
  await w.start();
  const root = await w.save(files);
  return w.commit(root, meta);
}

/** Every file of a backup, read back through a fresh index. */
export async function readBackup(repo: Repository, pool: BlobPool, backupId: string): Promise<Files> {
  const m = await repo.readManifest(backupId);
  await repo.loadIndex();
  const reader = new BlobReader(repo, pool);
  const out: Files = new Map();
  for (const node of (await reader.readTree(m.root)).nodes) {
    const parts: Buffer[] = [];
    for await (const b of reader.readContent(node)) parts.push(b);
    out.set(node.name!, Buffer.concat(parts));
  }
  return out;
}

export function sameFiles(a: Files, b: Files): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (!b.get(k)?.equals(v)) return false;
  return true;
}

/** Every object's key and bytes (a dry run must leave this identical). */
export async function snapshot(backend: MemoryBackend): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const k of backend.keys()) out.set(k, (await backend.get(k)).toString('base64'));
  return out;
}

/** Random files: `count` files of up to `max` bytes, some shared prefix so dedup happens. */
export function randomFiles(rnd: () => number, count: number, max = 6000, shared?: Buffer): Files {
  const files: Files = new Map();
  for (let i = 0; i < count; i++) {
    const n = 1 + Math.floor(rnd() * max);
    const bytes = Buffer.alloc(n);
    for (let j = 0; j < n; j++) bytes[j] = Math.floor(rnd() * 256);
    files.set(`f${i}`, shared && i === 0 ? Buffer.concat([shared, bytes]) : bytes);
  }
  return files;
}

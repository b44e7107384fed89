// Verification of a volume (format §11): the structure (every manifest
// readable, every tree walkable, every referenced blob indexed, every indexed
// pack present and large enough) and, with readDataPercent > 0, the data
// itself (pack hashes, footers, every blob opened and its id recomputed).
// Every problem names the backups it affects.

import { createHash, randomInt } from 'node:crypto';
import type { BlobPool } from '../content/blob-pool.js';
import { ArcaError, errorMessage, isArcaError } from '../errors.js';
import { mapLimit } from '../common/map-limit.js';
import { BlobReader } from './blob-reader.js';
import { DATA_PREFIX, baseName } from './object-keys.js';
import type { Repository } from './repository.js';
import type { Manifest } from './manifest.js';
import { footerFromPackBytes } from './pack/pack-reader.js';
import { nodeNameBytes } from './tree.js';

export interface CheckProblem {
  object: string;
  message: string;
  backups: string[];
}

export interface CheckResult {
  ok: boolean;
  backups: number;
  packs: number;
  packsRead: number;
  blobsRead: number;
  problems: CheckProblem[];
}

export interface CheckOptions {
  pool: BlobPool;
  readDataPercent: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export async function checkRepository(repo: Repository, opts: CheckOptions): Promise<CheckResult> {
  const problems: CheckProblem[] = [];
  const damagedIndex: string[] = [];
  await repo.loadIndex((key, err) => {
    damagedIndex.push(key);
    problems.push({ object: key, message: err.message, backups: [] });
  });

  const packSizes = new Map<string, number>();
  for await (const o of repo.backend.list(DATA_PREFIX)) packSizes.set(baseName(o.key), o.size);

  // Manifests, one by one, so one damaged manifest does not hide the others.
  const manifests: Manifest[] = [];
  for (const key of await repo.listManifestKeys()) {
    try {
      manifests.push(await repo.readManifestAt(key));
    } catch (err) {
      if (!isArcaError(err, 'CORRUPT')) throw err;
      problems.push({ object: key, message: errorMessage(err), backups: [baseName(key)] });
    }
  }

  // Which backups each pack serves, found by walking every tree.
  const reader = new BlobReader(repo, opts.pool, 64);
  const packUsers = new Map<string, Set<string>>();
  const use = (packHex: string, backupId: string) => {
    let s = packUsers.get(packHex);
    if (!s) packUsers.set(packHex, (s = new Set()));
    s.add(backupId);
  };
  for (const m of manifests) {
    throwIfAborted(opts.signal);
    const walkProblems = await walkBackup(repo, reader, m, use);
    for (const p of walkProblems) problems.push({ ...p, backups: [m.id] });
  }

  // Every indexed pack must exist and be large enough for its entries.
  const packEnds = new Map<string, number>();
  repo.index.forEach((_id, loc) => {
    const end = loc.offset + loc.length;
    if ((packEnds.get(loc.packIdHex) ?? 0) < end) packEnds.set(loc.packIdHex, end);
  });
  for (const [packHex, end] of packEnds) {
    const size = packSizes.get(packHex);
    const users = [...(packUsers.get(packHex) ?? [])].sort();
    if (size === undefined) problems.push({ object: `data/${packHex.slice(0, 2)}/${packHex}`, message: 'indexed pack is missing', backups: users });
    else if (size < end + 4) problems.push({ object: `data/${packHex.slice(0, 2)}/${packHex}`, message: 'pack is shorter than its index says', backups: users });
  }

  // Reading the data: all packs, or a random share of them.
  let packsRead = 0;
  let blobsRead = 0;
  if (opts.readDataPercent > 0) {
    const all = [...packSizes.keys()];
    const chosen = opts.readDataPercent >= 100 ? all : all.filter(() => randomInt(0, 10_000) < opts.readDataPercent * 100);
    let done = 0;
    await mapLimit(chosen, 2, async (packHex) => {
      throwIfAborted(opts.signal);
      const key = `data/${packHex.slice(0, 2)}/${packHex}`;
      const users = [...(packUsers.get(packHex) ?? [])].sort();
      try {
        blobsRead += await readPack(repo, opts.pool, key, packHex);
      } catch (err) {
        if (!isArcaError(err, 'CORRUPT') && !isArcaError(err, 'NOT_FOUND')) throw err;
        problems.push({ object: key, message: errorMessage(err), backups: users });
      }
      packsRead++;
      opts.onProgress?.(++done, chosen.length);
    });
  }

  return { ok: problems.length === 0, backups: manifests.length, packs: packSizes.size, packsRead, blobsRead, problems };
}

/** Walks one backup's trees; returns what is wrong with it (missing or damaged blobs). */
async function walkBackup(
  repo: Repository,
  reader: BlobReader,
  m: Manifest,
  use: (packHex: string, backupId: string) => void,
): Promise<Array<{ object: string; message: string }>> {
  const out: Array<{ object: string; message: string }> = [];
  const need = (idHex: string): boolean => {
    const loc = repo.index.get(Buffer.from(idHex, 'hex'));
    if (!loc) {
      out.push({ object: `blob ${idHex}`, message: 'referenced blob is not in any index' });
      return false;
    }
    use(loc.packIdHex, m.id);
    return true;
  };
  const walk = async (treeHex: string, path: string): Promise<void> => {
    if (!need(treeHex)) return;
    let tree;
    try {
      tree = await reader.readTree(treeHex);
    } catch (err) {
      if (!isArcaError(err, 'CORRUPT')) throw err;
      out.push({ object: `tree ${treeHex}`, message: `${path || '/'}: ${errorMessage(err)}` });
      return;
    }
    for (const node of tree.nodes) {
      const childPath = `${path}/${nodeNameBytes(node).toString('utf8')}`;
      if (node.type === 'dir' && node.subtree) await walk(node.subtree, childPath);
      else if (node.type === 'file') {
        for (const list of node.contentLists ?? []) need(list);
        let ids: string[];
        try {
          ids = await reader.contentIds(node);
        } catch (err) {
          if (!isArcaError(err, 'CORRUPT')) throw err;
          out.push({ object: childPath, message: errorMessage(err) });
          continue;
        }
        for (const id of ids) need(id);
      }
    }
  };
  await walk(m.root, '');
  return out;
}

/** Reads a whole pack: hash = name, footer readable, every blob opens; returns the blob count. */
async function readPack(repo: Repository, pool: BlobPool, key: string, packHex: string): Promise<number> {
  const bytes = await repo.backend.get(key);
  if (createHash('sha256').update(bytes).digest('hex') !== packHex) {
    throw new ArcaError('CORRUPT', 'pack content does not match its name (bytes changed on storage)');
  }
  const entries = footerFromPackBytes(bytes, repo.keys.encKey, key);
  await mapLimit(entries, 4, async (e) => {
    await pool.open(e.id, bytes.subarray(e.offset, e.offset + e.length), e.rawLength);
  });
  return entries.length;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ArcaError('ABORTED', 'check aborted');
}

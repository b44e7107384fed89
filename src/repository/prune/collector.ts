// Garbage collection without an exclusive lock (format §10, decision 0004):
// mark what the backups reach, sort packs into keep / garbage / repack, copy
// the live blobs of repacked packs, name the packs that go in a tombstone, and
// delete them only once no writer that could have missed the tombstone is
// alive and no manifest present now needs them. Then compact the index.

import { isNotFound } from '../../backend/backend.js';
import type { BlobPool } from '../../content/blob-pool.js';
import { mapLimit } from '../../common/map-limit.js';
import { ArcaError } from '../../errors.js';
import { BlobReader } from '../blob-reader.js';
import { DATA_PREFIX, baseName, packKey } from '../object-keys.js';
import type { Repository } from '../repository.js';
import { listSessions, type SessionRecord } from '../session-lease.js';
import type { EntryTable } from './entry-table.js';
import { BlobSet, loadEntryTable, markReachable } from './garbage.js';
import { compactIndex } from './index-compactor.js';
import { repackBlobs, type RepackSource } from './repacker.js';
import { deleteTombstone, newTombstone, putTombstone, readTombstones, type Tombstone } from './tombstones.js';

export interface CollectOptions {
  pool: BlobPool;
  /** The prune's own session (its lease is stored); null for a dry run, which writes nothing. */
  session: { id: Buffer; idHex: string } | null;
  /** Repack a pack when more than this share of its blob bytes is unreachable (0–1). */
  repackThreshold: number;
  /** Backups to count as gone (a dry run's removals). */
  ignoreBackups?: ReadonlySet<string>;
  now?: () => number;
  signal?: AbortSignal;
}

export interface PendingTombstone {
  id: string;
  packs: number;
  bytes: number;
  /** The sessions it waits for: alive when it was stored, still alive now. */
  waitingFor: Array<Pick<SessionRecord, 'id' | 'host' | 'pid' | 'purpose' | 'startedAt'> | { id: string; unreadable: true }>;
}

export interface CollectResult {
  reachableBlobs: number;
  packsDeleted: number;
  packsRepacked: number;
  blobsCopied: number;
  /** Bytes of packs and index objects deleted. */
  bytesDeleted: number;
  /** Bytes of new packs and index objects written. */
  bytesWritten: number;
  indexObjectsDeleted: number;
  indexObjectsWritten: number;
  tombstonesPending: PendingTombstone[];
  /** Packs no index names, kept because a writer is running (they may be its work in flight). */
  unindexedPacksKept: number;
  problems: string[];
}

interface Classified {
  garbage: string[];
  repack: RepackSource[];
  /** Blob bytes that stay in the volume when repacked packs are copied. */
  copyBytes: number;
  unindexedKept: number;
}

export async function collectGarbage(repo: Repository, opts: CollectOptions): Promise<CollectResult> {
  const now = opts.now ?? Date.now;
  const selfId = opts.session?.idHex;
  const result: CollectResult = {
    reachableBlobs: 0, packsDeleted: 0, packsRepacked: 0, blobsCopied: 0, bytesDeleted: 0, bytesWritten: 0,
    indexObjectsDeleted: 0, indexObjectsWritten: 0, tombstonesPending: [], unindexedPacksKept: 0, problems: [],
  };
  const liveNow = async () => {
    const s = await listSessions(repo.backend, repo.keys.encKey, now());
    const live = new Map<string, PendingTombstone['waitingFor'][number]>();
    for (const r of s.live) if (r.id !== selfId) live.set(r.id, { id: r.id, host: r.host, pid: r.pid, purpose: r.purpose, startedAt: r.startedAt });
    for (const key of s.unreadable) live.set(baseName(key), { id: baseName(key), unreadable: true });
    return live;
  };

  // Order matters (§10.3): tombstones, then sessions, then the index, then packs, then manifests.
  const { tombstones, damaged } = await readTombstones(repo);
  const live = await liveNow();
  const table = await loadEntryTable(repo);
  const tombstonedNow = new Set(tombstones.flatMap((t) => t.packs));
  repo.installIndex(table.toBlobIndex(tombstonedNow), tombstonedNow, []);
  const packSizes = new Map<string, number>();
  for await (const o of repo.backend.list(DATA_PREFIX)) packSizes.set(baseName(o.key), o.size);
  const reader = new BlobReader(repo, opts.pool, 0);
  const ignored = opts.ignoreBackups ?? new Set<string>();
  const manifests = (await repo.listManifests()).filter((m) => !ignored.has(m.id));
  const reached = new BlobSet();
  await markReachable(reader, manifests, reached, opts.signal);
  result.reachableBlobs = reached.size;

  // Tombstones from earlier runs: ripe when every session they wait for has ended.
  const isRipe = (t: Tombstone) => (t.waitFor ?? [...live.keys()]).every((id) => !live.has(id));
  const ripe = tombstones.filter(isRipe);
  const unripe = tombstones.filter((t) => !isRipe(t));
  const ripePacks = new Set(ripe.flatMap((t) => t.packs));
  const pendingPacks = new Set(unripe.flatMap((t) => t.packs));

  const c = classify(table, packSizes, reached, live, new Set([...ripePacks, ...pendingPacks]), ripePacks, opts.repackThreshold);
  result.unindexedPacksKept = c.unindexedKept;
  const going = new Set([...c.garbage, ...c.repack.map((r) => r.packHex)]);
  const sizeOf = (packs: Iterable<string>) => [...packs].reduce((s, p) => s + (packSizes.get(p) ?? 0), 0);

  if (!opts.session) {
    result.packsDeleted = going.size;
    result.packsRepacked = c.repack.length;
    result.blobsCopied = c.repack.reduce((s, r) => s + r.entries.length, 0);
    result.bytesDeleted = sizeOf(going);
    result.bytesWritten = c.copyBytes;
    return result;
  }
  const session = opts.session;

  // Copies first: the new index object exists before any tombstone names the old packs.
  if (c.repack.length > 0) {
    const r = await repackBlobs(repo, c.repack, session.id, opts.signal);
    for (const f of r.failed) {
      going.delete(f.packHex);
      result.problems.push(`${packKey(f.packHex)}: ${f.reason}`);
    }
    result.packsRepacked = r.done.length;
    result.blobsCopied = r.blobsCopied;
    result.bytesWritten += r.bytesWritten;
    result.indexObjectsWritten += r.packsWritten > 0 ? 1 : 0;
  }

  for (const t of unripe) {
    if (t.waitFor === null) await putTombstone(repo, { ...t, waitFor: [...live.keys()] }); // confirm it now (§10.3)
  }
  const deleteNow = new Set([...going].filter((p) => ripePacks.has(p)));
  const fresh = [...going].filter((p) => !ripePacks.has(p));
  const resolved: Tombstone[] = [...ripe];
  const pending: Tombstone[] = [...unripe];

  if (fresh.length > 0) {
    const added = fresh.filter((p) => !pendingPacks.has(p));
    const t = added.length > 0 ? newTombstone(session.idHex, added) : undefined;
    if (t) await putTombstone(repo, t);
    const after = await liveNow(); // listed after the tombstone: writers not named here will see it
    if (after.size === 0) {
      // Nobody can have missed it. A manifest committed since we listed may still need a pack: look.
      const rescued = await rescueForNewManifests(repo, reader, table, reached, new Set(manifests.map((m) => m.id)), ignored, fresh, c, opts.signal);
      for (const p of fresh) if (!rescued.has(p)) deleteNow.add(p);
      resolved.push(...unripe, ...(t ? [t] : []));
      pending.length = 0;
    } else {
      if (t) {
        t.waitFor = [...after.keys()];
        await putTombstone(repo, t);
        pending.push(t);
      }
      for (const [id, s] of after) live.set(id, s);
    }
  }

  // The index without the packs that go now or are gone; then the packs; then the tombstones.
  const drop = new Set(deleteNow);
  for (const p of table.indexedPacks()) if (!packSizes.has(p)) drop.add(p);
  const compacted = await compactIndex(repo, table, { drop, liveSessions: new Set(live.keys()), sessionId: session.id });
  result.indexObjectsWritten += compacted.objectsWritten;
  result.indexObjectsDeleted = compacted.objectsDeleted;
  result.bytesWritten += compacted.bytesWritten;
  result.bytesDeleted += compacted.bytesDeleted;
  await mapLimit([...deleteNow], 8, async (p) => {
    if (opts.signal?.aborted) throw new ArcaError('ABORTED', 'prune aborted');
    await repo.backend.delete(packKey(p));
    result.packsDeleted++;
    result.bytesDeleted += packSizes.get(p) ?? 0;
  });
  for (const t of resolved) await deleteTombstone(repo, t.id);
  for (const key of damaged) {
    await repo.backend.delete(key);
    result.problems.push(`${key} could not be read and was removed (its packs are judged again)`);
  }
  result.tombstonesPending = pending.map((t) => ({
    id: t.id,
    packs: t.packs.filter((p) => packSizes.has(p)).length,
    bytes: sizeOf(t.packs),
    waitingFor: (t.waitFor ?? []).filter((id) => live.has(id)).map((id) => live.get(id)!),
  }));
  return result;
}

/**
 * Sorts every pack on the volume: garbage (nothing it holds is needed),
 * repack (mostly unneeded), or kept. A reached blob stored in several packs
 * (two writers raced, or a writer stored again a blob only a tombstoned pack
 * held) is needed in one of them only, its home: a running writer's pack
 * first, then any pack no tombstone names, then a tombstoned one.
 */
function classify(
  table: EntryTable,
  packSizes: ReadonlyMap<string, number>,
  reached: BlobSet,
  live: ReadonlyMap<string, unknown>,
  tombstoned: ReadonlySet<string>,
  ripePacks: ReadonlySet<string>,
  threshold: number,
): Classified {
  const out: Classified = { garbage: [], repack: [], copyBytes: 0, unindexedKept: 0 };
  const sessions = new Set<string>();
  const isProtected = (packHex: string) => {
    sessions.clear();
    table.sessionsOf(packHex, sessions);
    return [...sessions].some((s) => live.has(s));
  };
  const rank = (packHex: string) => (isProtected(packHex) ? 0 : tombstoned.has(packHex) ? 2 : 1);
  const order = [...packSizes.keys()].map((p) => ({ p, r: rank(p) })).sort((a, b) => a.r - b.r || a.p.localeCompare(b.p));
  const homed = new BlobSet();
  for (const { p: packHex, r } of order) {
    const entries = table.entriesOf(packHex);
    let total = 0;
    let used = 0;
    const needed: number[] = [];
    for (const i of entries) {
      total += table.lengthOf(i);
      if (reached.has(table.id(i)) && homed.add(table.id(i))) {
        used += table.lengthOf(i);
        needed.push(i);
      }
    }
    if (r === 0) continue; // a running writer's work (§10.2)
    if (entries.length === 0) {
      // No index names it: a dead writer's, or a running writer's not yet indexed (§10.2).
      if (live.size === 0 || ripePacks.has(packHex)) out.garbage.push(packHex);
      else out.unindexedKept++;
    } else if (needed.length === 0) out.garbage.push(packHex);
    else if (total - used > threshold * total) {
      out.repack.push({ packHex, entries: needed.map((i) => table.entry(i)) });
      out.copyBytes += used;
    }
  }
  return out;
}

/**
 * Walks the manifests that appeared since the first listing and returns the
 * packs among `fresh` that hold a blob they reach and that was not copied or
 * kept elsewhere: those packs stay.
 */
async function rescueForNewManifests(
  repo: Repository,
  reader: BlobReader,
  table: EntryTable,
  reached: BlobSet,
  seen: ReadonlySet<string>,
  ignored: ReadonlySet<string>,
  fresh: readonly string[],
  c: Classified,
  signal?: AbortSignal,
): Promise<Set<string>> {
  const rescued = new Set<string>();
  // A pack no index named may have been a writer's work in flight that is indexed by now: it stays.
  const unindexed = fresh.filter((p) => table.entriesOf(p).length === 0);
  if (unindexed.length > 0) {
    const now = await loadEntryTable(repo);
    for (const p of unindexed) if (now.entriesOf(p).length > 0) rescued.add(p);
  }
  const newKeys = (await repo.listManifestKeys()).filter((k) => !seen.has(baseName(k)) && !ignored.has(baseName(k)));
  if (newKeys.length === 0) return rescued;
  const newer = [];
  for (const k of newKeys) {
    try {
      newer.push(await repo.readManifestAt(k));
    } catch (err) {
      if (!isNotFound(err)) throw err; // deleted meanwhile: reaches nothing
    }
  }
  const before = new BlobSet();
  for (const p of fresh) for (const i of table.entriesOf(p)) if (reached.has(table.id(i))) before.add(table.id(i));
  for (const r of c.repack) for (const e of r.entries) before.add(e.id);
  await markReachable(reader, newer, reached, signal);
  for (const p of fresh) {
    for (const i of table.entriesOf(p)) {
      if (reached.has(table.id(i)) && !before.has(table.id(i))) {
        rescued.add(p);
        break;
      }
    }
  }
  return rescued;
}

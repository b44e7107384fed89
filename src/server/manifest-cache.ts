// Backup listings for the read endpoints, cached. A manifest never changes
// once written and a note never changes once written (format §10.1), so each
// is read and decrypted once per server process; a listing costs two object
// listings (snapshots/ and notes/) instead of reading every manifest again.
// Listings younger than `ttlMs` are reused as a whole, and concurrent
// requests for one volume share one listing. Jobs this server runs, and its
// deletes and expiry changes, invalidate at once; changes by other processes
// show within `ttlMs`.
import { isNotFound } from '../backend/backend.js';
import { mapLimit } from '../common/map-limit.js';
import type { Manifest } from '../repository/manifest.js';
import { listNoteKeys, readNote } from '../repository/notes.js';
import { toBackupInfo, type OpenVolume } from '../jobs/index.js';
import type { BackupInfo } from '../jobs/types.js';

interface VolumeCache {
  manifests: Map<string, Manifest>;
  notes: Map<string, string | null>;
  listing: Promise<Manifest[]> | null;
  listedAt: number;
}

const byStart = (a: BackupInfo, b: BackupInfo) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id);

export class ManifestCache {
  private readonly volumes = new Map<string, VolumeCache>();

  constructor(
    private readonly ttlMs = 2000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Forgets the cached listings (not the immutable objects): the next request lists again. */
  invalidate(): void {
    for (const v of this.volumes.values()) {
      v.listing = null;
      v.listedAt = -Infinity;
    }
  }

  /** The volume's completed backups (of one database, or all), oldest first, like listBackups. */
  async list(volume: OpenVolume, database?: string): Promise<BackupInfo[]> {
    const all = await this.manifests(volume);
    const present = new Set(all.map((m) => m.id));
    return all
      .filter((m) => database === undefined || m.database === database)
      .map((m) => toBackupInfo(m, volume.ref.name, present))
      .sort(byStart);
  }

  /** Every manifest on the volume with its effective expiry. */
  manifests(volume: OpenVolume): Promise<Manifest[]> {
    let cache = this.volumes.get(volume.volumeId);
    if (!cache) this.volumes.set(volume.volumeId, (cache = { manifests: new Map(), notes: new Map(), listing: null, listedAt: -Infinity }));
    if (cache.listing && this.now() - cache.listedAt < this.ttlMs) return cache.listing;
    const c = cache;
    c.listedAt = this.now();
    const listing = this.load(volume, c);
    c.listing = listing;
    listing.catch(() => {
      if (c.listing === listing) c.listing = null;
    });
    return listing;
  }

  private async load(volume: OpenVolume, cache: VolumeCache): Promise<Manifest[]> {
    const repo = volume.repo;
    // Notes first, as Repository.listManifests does: a note is never taken for a backup we did not see.
    const noteKeys = await listNoteKeys(repo);
    const keys = await repo.listManifestKeys();
    const listed = new Set(keys);
    for (const k of cache.manifests.keys()) if (!listed.has(k)) cache.manifests.delete(k);
    await mapLimit(keys.filter((k) => !cache.manifests.has(k)), 8, async (k) => {
      try {
        cache.manifests.set(k, await repo.readManifestAt(k));
      } catch (err) {
        if (!isNotFound(err)) throw err; // deleted while we listed
      }
    });
    const expiries = new Map<string, string | null>();
    await mapLimit([...noteKeys], 8, async ([backupId, list]) => {
      for (let i = list.length - 1; i >= 0; i--) {
        const key = list[i]!;
        if (cache.notes.has(key)) {
          expiries.set(backupId, cache.notes.get(key)!);
          return;
        }
        try {
          const note = await readNote(repo, key);
          cache.notes.set(key, note.expiresAt);
          expiries.set(backupId, note.expiresAt);
          return;
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
    });
    const out: Manifest[] = [];
    for (const m of cache.manifests.values()) out.push(expiries.has(m.id) ? { ...m, expiresAt: expiries.get(m.id)! } : m);
    return out;
  }
}

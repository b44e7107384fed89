// The repository layer's entry point: a volume opened with its password —
// keys, config, the in-memory index, manifests, and sealed JSON objects.
// Writers go through WriteSession, readers through BlobReader.

import { createHash, randomBytes } from 'node:crypto';
import type { Backend } from '../backend/backend.js';
import { isNotFound } from '../backend/backend.js';
import { ArcaError, isArcaError } from '../errors.js';
import { mapLimit } from '../common/map-limit.js';
import { deriveKeys, newMasterKey, parseKeyObject, unwrapMasterKey, wrapMasterKey, type ContentKeys, DEFAULT_SCRYPT } from '../content/keys.js';
import { AAD, openSealed, seal } from '../content/seal.js';
import { gearTable } from '../content/gear.js';
import { newConfig, validateConfig, type VolumeConfig } from './config.js';
import { BlobIndex } from './index/blob-index.js';
import { decodeIndexObject } from './index/index-object.js';
import { validateManifest, type Manifest } from './manifest.js';
import { effectiveExpiries, expiryFromNotes, withExpiry } from './notes.js';
import { readTombstones } from './prune/tombstones.js';
import { CONFIG_KEY, INDEX_PREFIX, KEYS_PREFIX, SNAPSHOTS_PREFIX, baseName, keyObjectKey, snapshotKey } from './object-keys.js';

export interface InitOptions {
  chunker?: VolumeConfig['chunker'];
  packSize?: number;
  /** scrypt cost; the default suits interactive use (about 0.4 s). */
  scrypt?: { N: number; r: number; p: number };
}

export interface LoadedIndexObject {
  key: string;
  hashHex: string;
  size: number;
  packs: string[];
}

export class Repository {
  /** The index objects the in-memory index was built from. */
  indexObjects: LoadedIndexObject[] = [];
  /** Packs named by a tombstone when the index was loaded: writers do not reuse blobs only they hold. */
  tombstonedPacks: ReadonlySet<string> = new Set();
  private current = new BlobIndex();
  private gear: Uint32Array | undefined;

  private constructor(
    readonly backend: Backend,
    readonly keys: ContentKeys,
    readonly config: VolumeConfig,
  ) {}

  /** True when `backend` already holds a volume (a config object). */
  static async exists(backend: Backend): Promise<boolean> {
    return (await backend.stat(CONFIG_KEY)) !== undefined;
  }

  static async init(backend: Backend, password: string, opts: InitOptions = {}): Promise<Repository> {
    if (await Repository.exists(backend)) throw new ArcaError('ALREADY_EXISTS', `${backend.location} already holds a volume`);
    for await (const o of backend.list('')) {
      throw new ArcaError('CONFLICT', `${backend.location} is not empty (found ${o.key}); a new volume needs an empty location`);
    }
    const master = newMasterKey();
    const keys = deriveKeys(master);
    const config = newConfig(opts);
    const keyObj = await wrapMasterKey(master, password, opts.scrypt ?? DEFAULT_SCRYPT);
    await backend.put(keyObjectKey(randomBytes(16).toString('hex')), Buffer.from(JSON.stringify(keyObj, null, 2)));
    await backend.put(CONFIG_KEY, seal(keys.encKey, AAD.config, Buffer.from(JSON.stringify(config))));
    return new Repository(backend, keys, config);
  }

  static async open(backend: Backend, password: string, volumeName = backend.location): Promise<Repository> {
    if (!(await Repository.exists(backend))) {
      throw new ArcaError('NOT_FOUND', `no volume at ${backend.location} (no config object)`);
    }
    const keyNames: string[] = [];
    for await (const o of backend.list(KEYS_PREFIX)) keyNames.push(o.key);
    if (keyNames.length === 0) throw new ArcaError('CORRUPT', `volume ${volumeName} has no key objects`);
    let master: Buffer | undefined;
    const damaged: string[] = [];
    for (const name of keyNames.sort()) {
      let keyObj;
      try {
        keyObj = parseKeyObject(await backend.get(name), name);
      } catch (err) {
        if (isArcaError(err, 'CORRUPT')) {
          damaged.push(name);
          continue;
        }
        throw err;
      }
      master = await unwrapMasterKey(keyObj, password);
      if (master) break;
    }
    if (!master && damaged.length > 0) {
      throw new ArcaError('CORRUPT', `volume ${volumeName}: key object ${damaged.join(', ')} is damaged and no other key opens the volume`);
    }
    if (!master) throw new ArcaError('WRONG_PASSWORD', `wrong password for volume ${volumeName}`);
    const keys = deriveKeys(master);
    const raw = openSealed(keys.encKey, AAD.config, await backend.get(CONFIG_KEY), 'volume config');
    const config = validateConfig(JSON.parse(raw.toString('utf8')));
    return new Repository(backend, keys, config);
  }

  /** The in-memory index (replaced by each loadIndex). */
  get index(): BlobIndex {
    return this.current;
  }

  get gearTable(): Uint32Array {
    this.gear ??= gearTable(this.keys.gearKey);
    return this.gear;
  }

  /**
   * Reads every index object into a fresh in-memory index (format §7), and
   * the tombstones (§10): entries of tombstoned packs are added last, so a
   * blob stored twice is found in the pack that stays. Writers call this
   * after storing their lease (WriteSession.start). When an index object
   * vanishes while we read (a prune compacting the index), it lists again.
   */
  async loadIndex(onDamaged?: (key: string, err: ArcaError) => void): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const { tombstones } = await readTombstones(this);
      const tombstoned = new Set<string>();
      for (const t of tombstones) for (const p of t.packs) tombstoned.add(p);
      const objects: Array<{ key: string; size: number }> = [];
      for await (const o of this.backend.list(INDEX_PREFIX)) objects.push(o);
      let vanished = false;
      const loaded = await mapLimit(objects, 8, async (o) => {
        try {
          const bytes = await this.backend.get(o.key);
          return { o, obj: decodeIndexObject(openSealed(this.keys.encKey, AAD.index, bytes, `index object ${o.key}`), o.key) };
        } catch (err) {
          if (onDamaged && isArcaError(err, 'CORRUPT')) {
            onDamaged(o.key, err);
            return undefined;
          }
          if (isNotFound(err)) {
            vanished = true; // removed by a concurrent index compaction
            return undefined;
          }
          throw err;
        }
      });
      if (vanished && attempt < 3) continue;
      const decoded = loaded.filter((d) => d !== undefined);
      const superseded = new Set<string>();
      for (const d of decoded) for (const h of d.obj.superseded) superseded.add(h.toString('hex'));
      const index = new BlobIndex();
      const kept = decoded.filter((d) => !superseded.has(baseName(d.o.key)));
      for (const last of [false, true]) {
        for (const { obj } of kept) {
          for (const pack of obj.packs) {
            if (tombstoned.has(pack.id.toString('hex')) !== last) continue;
            for (const e of pack.entries) index.add(e.id, pack.id, e.type, e.offset, e.length, e.rawLength);
          }
        }
      }
      this.current = index;
      this.tombstonedPacks = tombstoned;
      this.indexObjects = kept.map(({ o, obj }) => ({
        key: o.key,
        hashHex: baseName(o.key),
        size: o.size,
        packs: obj.packs.map((p) => p.id.toString('hex')),
      }));
      return;
    }
  }

  /** Uses an index built elsewhere (prune builds it from the index objects it already read). */
  installIndex(index: BlobIndex, tombstoned: ReadonlySet<string>, objects: LoadedIndexObject[]): void {
    this.current = index;
    this.tombstonedPacks = tombstoned;
    this.indexObjects = objects;
  }

  /**
   * Every backup manifest on the volume (unordered), with its effective
   * expiry (the newest note's, §10.1). Notes are listed before manifests, so
   * a note is never taken for one of a backup we did not see. Unreadable ones throw.
   */
  async listManifests(): Promise<Manifest[]> {
    const expiries = await effectiveExpiries(this);
    const keys = await this.listManifestKeys();
    const found = await mapLimit(keys, 8, async (k) => {
      try {
        return withExpiry(await this.readManifestAt(k), expiries);
      } catch (err) {
        if (isNotFound(err)) return undefined; // deleted while we listed
        throw err;
      }
    });
    return found.filter((m): m is Manifest => m !== undefined);
  }

  /** Keys of every manifest object, without reading them. */
  async listManifestKeys(): Promise<string[]> {
    const keys: string[] = [];
    for await (const o of this.backend.list(SNAPSHOTS_PREFIX)) keys.push(o.key);
    return keys;
  }

  /** One backup's manifest, with its effective expiry. */
  async readManifest(backupId: string): Promise<Manifest> {
    try {
      const m = await this.readManifestAt(snapshotKey(backupId));
      const noted = await expiryFromNotes(this, backupId);
      return noted === undefined ? m : { ...m, expiresAt: noted };
    } catch (err) {
      if (isNotFound(err)) throw new ArcaError('NOT_FOUND', `no backup ${backupId} on this volume`);
      throw err;
    }
  }

  /** Seals and stores a JSON object under `key`; returns the stored size. */
  async putSealedJson(key: string, aad: string, value: unknown): Promise<number> {
    const bytes = seal(this.keys.encKey, aad, Buffer.from(JSON.stringify(value), 'utf8'));
    await this.backend.put(key, bytes);
    return bytes.length;
  }

  /** Seals binary content and stores it under a content-derived key; returns key and size. */
  async putSealedContent(prefixKey: (hashHex: string) => string, aad: string, plain: Buffer): Promise<{ key: string; hashHex: string; size: number }> {
    const bytes = seal(this.keys.encKey, aad, plain);
    const hashHex = createHash('sha256').update(bytes).digest('hex');
    const key = prefixKey(hashHex);
    await this.backend.put(key, bytes);
    return { key, hashHex, size: bytes.length };
  }

  async readManifestAt(key: string): Promise<Manifest> {
    const bytes = await this.backend.get(key);
    const plain = openSealed(this.keys.encKey, AAD.manifest, bytes, `manifest ${key}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(plain.toString('utf8'));
    } catch {
      throw new ArcaError('CORRUPT', `manifest ${key} is damaged: not JSON`);
    }
    const m = validateManifest(parsed, key);
    if (m.id !== baseName(key)) throw new ArcaError('CORRUPT', `manifest ${key} names another backup (${m.id})`);
    return m;
  }
}

// The volumes the server has open. Opening a volume derives its key from the
// password (scrypt, deliberately slow), so each registered volume is opened
// once, on first use, with the server's password source, and kept open until
// the server stops. The catalog is consulted on every use: a volume that was
// removed or now points elsewhere is reopened (or refused).
import { ArcaError, isArcaError } from '../errors.js';
import type { Catalog } from '../catalog/catalog.js';
import { listVolumes, type VolumeRecord } from '../catalog/volumes.js';
import { openVolume, type OpenVolume } from '../jobs/index.js';

/** Where the server gets volume passwords (ARCA_PASSWORD or --password-file; never a prompt). */
export type VolumePassword = (volume: string) => Promise<string>;

interface Entry {
  location: string;
  volumeId: string;
  opening: Promise<OpenVolume>;
}

export class VolumePool {
  private readonly entries = new Map<string, Entry>();
  private readonly retired: Array<Promise<OpenVolume>> = [];

  constructor(
    private readonly catalog: Catalog,
    readonly password: VolumePassword,
  ) {}

  /** The registered volume, open. WRONG_PASSWORD / NOT_FOUND / CONFLICT as the CLI reports them. */
  async open(record: VolumeRecord): Promise<OpenVolume> {
    const cached = this.entries.get(record.name);
    if (cached && cached.location === record.location && cached.volumeId === record.volumeId) return cached.opening;
    if (cached) {
      this.entries.delete(record.name);
      this.retired.push(cached.opening);
    }
    const opening = this.openFresh(record);
    const entry: Entry = { location: record.location, volumeId: record.volumeId, opening };
    this.entries.set(record.name, entry);
    opening.catch(() => {
      if (this.entries.get(record.name) === entry) this.entries.delete(record.name);
    });
    return opening;
  }

  /** Every registered volume, open, in name order. */
  async openAll(): Promise<OpenVolume[]> {
    const opened: OpenVolume[] = [];
    for (const record of listVolumes(this.catalog)) opened.push(await this.open(record));
    return opened;
  }

  private async openFresh(record: VolumeRecord): Promise<OpenVolume> {
    const password = await this.password(record.name);
    let volume: OpenVolume;
    try {
      volume = await openVolume({ name: record.name, location: record.location }, password);
    } catch (err) {
      if (isArcaError(err, 'WRONG_PASSWORD')) {
        throw new ArcaError('WRONG_PASSWORD', `the server's volume password does not open volume ${record.name}`, { cause: err });
      }
      if (isArcaError(err, 'NOT_FOUND')) throw new ArcaError('NOT_FOUND', `volume ${record.name}: ${err.message}`, { cause: err });
      throw err;
    }
    if (volume.volumeId !== record.volumeId) {
      await volume.close();
      throw new ArcaError(
        'CONFLICT',
        `the location ${record.location} of volume ${record.name} now holds a different volume ` +
          `(id ${volume.volumeId}, registered ${record.volumeId})`,
      );
    }
    return volume;
  }

  /** Closes every open volume. */
  async closeAll(): Promise<void> {
    const all = [...[...this.entries.values()].map((e) => e.opening), ...this.retired.splice(0)];
    this.entries.clear();
    await Promise.allSettled(
      all.map(async (opening) => {
        const volume = await opening;
        await volume.close();
      }),
    );
  }
}

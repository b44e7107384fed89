// The export job: stream a backup, through its driver's export(), into ONE
// file the database's own tools restore without Arca. The file is written to
// a temp name beside the target, fsynced and renamed at the end, so a failed
// export never leaves a half file under the final name; an existing file is
// kept unless `force`. `-` as the output writes to the given stdout stream.

import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobPool } from '../content/blob-pool.js';
import { ArcaError, errorMessage, isArcaError } from '../errors.js';
import { BlobReader } from '../repository/blob-reader.js';
import type { Manifest } from '../repository/manifest.js';
import { driverFor } from '../sources/index.js';
import { toBackupInfo } from './backup-info.js';
import { ProgressMeter } from './progress-meter.js';
import type { BackupInfo, JobContext } from './types.js';
import type { OpenVolume } from './volume-service.js';

export interface ExportOptions extends JobContext {
  volume: OpenVolume;
  backupId: string;
  /** A file path (relative to `cwd`), `-` for `stdout`, or undefined for the default name in `cwd`. */
  output: string | undefined;
  cwd: string;
  force: boolean;
  /** Where `-` writes. */
  stdout?: Writable;
}

export interface ExportResult {
  backup: BackupInfo;
  /** The file written, or `-` for stdout. */
  target: string;
  bytesWritten: number;
}

/** `<database>-<yyyymmdd-hhmmss>.<ext>`, UTC, from the backup's start. */
export function defaultExportName(manifest: Manifest, ext: string): string {
  const t = new Date(manifest.startedAt);
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${t.getUTCFullYear()}${p(t.getUTCMonth() + 1)}${p(t.getUTCDate())}-${p(t.getUTCHours())}${p(t.getUTCMinutes())}${p(t.getUTCSeconds())}`;
  const db = manifest.database.replace(/[/\\\0]/g, '_').replace(/^\.+/, '_') || 'export';
  return `${db}-${stamp}.${ext}`;
}

async function refuseExisting(path: string, force: boolean): Promise<void> {
  const dir = await lstat(dirname(path)).catch(() => undefined);
  if (!dir?.isDirectory()) throw new ArcaError('USAGE', `cannot export to ${path}: the folder ${dirname(path)} does not exist`);
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  if (st.isDirectory()) throw new ArcaError('CONFLICT', `export target ${path} is a directory`);
  if (!force) throw new ArcaError('CONFLICT', `export target ${path} exists; use --force to overwrite it`);
}

async function writeFileAtomically(path: string, force: boolean, content: AsyncIterable<Buffer>): Promise<number> {
  await refuseExisting(path, force);
  const tmp = join(dirname(path), `.${basename(path)}.arca-export-${randomBytes(6).toString('hex')}.tmp`);
  let bytes = 0;
  try {
    const counted = Readable.from(
      (async function* () {
        for await (const chunk of content) {
          bytes += chunk.length;
          yield chunk;
        }
      })(),
    );
    await pipeline(counted, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }));
    const fh = await open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await refuseExisting(path, force);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    if (isArcaError(err)) throw err;
    throw new ArcaError('BACKEND', `cannot write the export to ${path}: ${errorMessage(err)}`, { cause: err });
  }
  return bytes;
}

/** Writes to an open stream (stdout); a closed pipe (EPIPE) ends the export with an error, not a hang. */
async function writeStream(out: Writable, content: AsyncIterable<Buffer>): Promise<number> {
  let bytes = 0;
  let failure: Error | undefined;
  const onError = (err: Error) => {
    failure = err;
  };
  out.on('error', onError);
  try {
    for await (const chunk of content) {
      if (failure) break;
      bytes += chunk.length;
      if (!out.write(chunk)) {
        await new Promise<void>((ok) => {
          const done = () => {
            out.off('drain', done);
            out.off('error', done);
            out.off('close', done);
            ok();
          };
          out.on('drain', done).on('error', done).on('close', done);
        });
      }
    }
  } finally {
    out.off('error', onError);
    if (failure) out.on('error', () => undefined);
  }
  if (failure) throw new ArcaError('BACKEND', `cannot write the export to standard output: ${errorMessage(failure)}`, { cause: failure });
  return bytes;
}

export async function runExport(opts: ExportOptions): Promise<ExportResult> {
  const repo = opts.volume.repo;
  const manifest = await repo.readManifest(opts.backupId);
  const driver = driverFor(manifest.source.url);
  const exporter = driver.export?.bind(driver);
  if (!exporter || !driver.exportExtension) {
    throw new ArcaError('USAGE', `backups of ${driver.kind} sources cannot be exported yet`);
  }
  const toStdout = opts.output === '-';
  const target = toStdout ? '-' : resolve(opts.cwd, opts.output ?? defaultExportName(manifest, driver.exportExtension));
  if (!toStdout) await refuseExisting(target, opts.force);
  await repo.loadIndex();
  const pool = new BlobPool(repo.keys, { zstdLevel: repo.config.compression.level });
  try {
    const meter = new ProgressMeter('restore', manifest.bytesRead, opts.onProgress);
    const content = exporter({
      reader: new BlobReader(repo, pool),
      manifest,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onBytes: (n) => meter.add(n),
    });
    let bytesWritten: number;
    if (toStdout) {
      if (!opts.stdout) throw new ArcaError('USAGE', 'no standard output to export to');
      bytesWritten = await writeStream(opts.stdout, content);
    } else {
      bytesWritten = await writeFileAtomically(target, opts.force, content);
    }
    meter.done();
    return { backup: toBackupInfo(manifest, opts.volume.ref.name), target, bytesWritten };
  } finally {
    await pool.close();
  }
}

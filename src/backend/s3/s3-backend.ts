// S3Backend: a volume under `s3://bucket/prefix` on AWS S3 or an
// S3-compatible store (MinIO, Ceph RGW, Cloudflare R2, Backblaze B2). Owns the
// mapping of volume keys to S3 keys (`<prefix><key>`), atomic puts (one PUT
// up to the multipart threshold, else a multipart upload that is aborted on
// failure: S3 shows an object only once it is whole), ranged GETs, paginated
// listings, idempotent deletes, a bound on requests in flight and the
// translation of SDK errors into BackendErrors (s3-errors.ts).
//
// Consistency: S3 has been strongly consistent for reads after writes and for
// listings since December 2020; the repository still never depends on
// listing right after a write (see src/backend/backend.ts).

import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  AbortMultipartUploadCommand,
  type GetObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  assertValidKey,
  assertValidPrefix,
  BackendError,
  isNotFound,
  type Backend,
  type ByteRange,
  type ObjectInfo,
} from '../backend.js';
import { assertValidRange } from '../range.js';
import { bodyChecksums, type BodyChecksums } from './s3-checksums.js';
import { buildS3Client, type BuiltClient, type S3ClientOptions } from './s3-client.js';
import { toBackendError } from './s3-errors.js';
import { parseS3Location, type S3Location } from './s3-location.js';
import { Limiter } from './limiter.js';
import { putMultipart } from './s3-multipart.js';

const MiB = 1024 * 1024;

export interface S3BackendOptions extends Partial<Omit<S3ClientOptions, 'connections'>> {
  /** Requests (and sockets) in flight at once (default 8). */
  connections?: number;
  /** Objects of at least this many bytes go up as multipart uploads (default 64 MiB: every pack is one PUT). */
  multipartThreshold?: number;
  /** Part size of multipart uploads (default 16 MiB; S3 wants ≥ 5 MiB except for the last part). */
  partSize?: number;
  /** Parts of one object uploaded at once (default 4). */
  partConcurrency?: number;
  /** Keys per listing page (default 1000, S3's maximum). */
  listPageSize?: number;
}

export const S3_DEFAULTS = {
  connections: 8,
  multipartThreshold: 64 * MiB,
  partSize: 16 * MiB,
  partConcurrency: 4,
  listPageSize: 1000,
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
} as const;

type Doing = 'reading' | 'writing' | 'checking' | 'listing' | 'deleting';

export class S3Backend implements Backend {
  readonly location: string;
  readonly bucket: string;
  /** "" or "a/b/": prepended to every volume key. */
  readonly prefix: string;
  /** Where requests go: the custom endpoint, or "AWS S3". */
  readonly endpoint: string;
  readonly pathStyle: boolean;
  private readonly client: S3Client;
  private readonly built: BuiltClient;
  private readonly limiter: Limiter;
  private readonly opts: Required<Pick<S3BackendOptions, 'multipartThreshold' | 'partSize' | 'partConcurrency' | 'listPageSize'>>;
  private crc32: Promise<boolean> | undefined;

  constructor(location: S3Location, options: S3BackendOptions = {}) {
    this.location = location.display;
    this.bucket = location.bucket;
    this.prefix = location.prefix;
    const connections = positive(options.connections ?? S3_DEFAULTS.connections, 'connections');
    this.built = buildS3Client(location, {
      ...options,
      connections,
      connectTimeoutMs: options.connectTimeoutMs ?? S3_DEFAULTS.connectTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs ?? S3_DEFAULTS.idleTimeoutMs,
    });
    this.client = this.built.client;
    this.endpoint = this.built.endpoint;
    this.pathStyle = this.built.pathStyle;
    this.limiter = new Limiter(connections);
    this.opts = {
      multipartThreshold: positive(options.multipartThreshold ?? S3_DEFAULTS.multipartThreshold, 'multipartThreshold'),
      partSize: positive(options.partSize ?? S3_DEFAULTS.partSize, 'partSize'),
      partConcurrency: positive(options.partConcurrency ?? S3_DEFAULTS.partConcurrency, 'partConcurrency'),
      listPageSize: Math.min(1000, positive(options.listPageSize ?? S3_DEFAULTS.listPageSize, 'listPageSize')),
    };
  }

  /** Opens `s3://bucket/prefix…` (no request is made until the first operation). */
  static open(location: string | S3Location, options: S3BackendOptions = {}): S3Backend {
    return new S3Backend(typeof location === 'string' ? parseS3Location(location) : location, options);
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    assertValidKey(key);
    const Key = this.prefix + key;
    await this.guard('writing', key, async () => {
      if (data.length >= this.opts.multipartThreshold) {
        await putMultipart({
          client: this.client,
          bucket: this.bucket,
          objectKey: Key,
          data,
          partSize: this.opts.partSize,
          partConcurrency: this.opts.partConcurrency,
          limit: (fn) => this.limiter.run(fn),
          checksums: (body) => this.checksums(body),
          isTransient: (err) => {
            const mapped = toBackendError(err, { location: this.location, bucket: this.bucket, doing: 'writing', key, endpoint: this.endpoint });
            return mapped instanceof BackendError && !mapped.permanent;
          },
        });
        return;
      }
      const sums = await this.checksums(data);
      await this.limiter.run(() =>
        this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: data, ContentLength: data.length, ...sums })),
      );
    });
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    assertValidKey(key);
    if (range) assertValidRange(range, key);
    if (range && range.length === 0) {
      // HTTP cannot ask for zero bytes; the object's size says whether the range is inside it.
      const info = await this.stat(key);
      if (info === undefined) throw this.notFound(key);
      if (range.offset > info.size) throw this.pastEnd(key, range, info.size);
      return Buffer.alloc(0);
    }
    return this.guard('reading', key, () =>
      this.limiter.run(async () => {
        const res = await this.client.send(
          new GetObjectCommand({
            Bucket: this.bucket,
            Key: this.prefix + key,
            ...(range ? { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {}),
          }),
        );
        return this.readBody(res, key, range);
      }),
    );
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    try {
      const res = await this.guard('checking', key, () =>
        this.limiter.run(() => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }))),
      );
      return { key, size: res.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    assertValidPrefix(prefix);
    let token: string | undefined;
    do {
      const page = await this.guard('listing', prefix === '' ? 'all objects' : prefix, () =>
        this.limiter.run(() =>
          this.client.send(
            new ListObjectsV2Command({
              Bucket: this.bucket,
              Prefix: this.prefix + prefix,
              MaxKeys: this.opts.listPageSize,
              ...(token !== undefined ? { ContinuationToken: token } : {}),
            }),
          ),
        ),
      );
      for (const obj of page.Contents ?? []) {
        if (obj.Key === undefined || !obj.Key.startsWith(this.prefix)) continue;
        const key = obj.Key.slice(this.prefix.length);
        // Folder markers ("x/"), console uploads with spaces …: never volume objects.
        if (!isValidKey(key)) continue;
        yield { key, size: obj.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && token === undefined) {
        throw new BackendError(`volume ${this.location}: a truncated listing of ${prefix || 'all objects'} came without a continuation token`, {
          permanent: false,
        });
      }
    } while (token !== undefined);
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    try {
      await this.guard('deleting', key, () =>
        this.limiter.run(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }))),
      );
    } catch (err) {
      if (isNotFound(err)) return; // S3 answers 204 for a missing key; some stores say NoSuchKey
      throw err;
    }
  }

  async close(): Promise<void> {
    this.built.destroy();
  }

  /**
   * Aborts multipart uploads under the prefix started more than `olderThanMs`
   * ago: parts of puts whose writer died before it could abort them. They are
   * never objects, but they cost storage. Prune's housekeeping calls this (as
   * it does LocalBackend's temp-file cleanup). Best effort: a store without
   * ListMultipartUploads, a missing permission or a failure returns what was
   * done so far; a bucket lifecycle rule (AbortIncompleteMultipartUpload) is
   * the belt to these braces.
   */
  async cleanupTemp(olderThanMs = 60 * 60_000, now: number = Date.now()): Promise<number> {
    let aborted = 0;
    try {
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      for (;;) {
        const page = await this.limiter.run(() =>
          this.client.send(
            new ListMultipartUploadsCommand({
              Bucket: this.bucket,
              Prefix: this.prefix,
              ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
              ...(uploadIdMarker !== undefined ? { UploadIdMarker: uploadIdMarker } : {}),
            }),
          ),
        );
        for (const u of page.Uploads ?? []) {
          if (u.Key === undefined || u.UploadId === undefined || u.Initiated === undefined) continue;
          if (now - u.Initiated.getTime() < olderThanMs) continue;
          await this.limiter.run(() =>
            this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId })),
          );
          aborted++;
        }
        if (!page.IsTruncated) break;
        keyMarker = page.NextKeyMarker;
        uploadIdMarker = page.NextUploadIdMarker;
        if (keyMarker === undefined && uploadIdMarker === undefined) break;
      }
    } catch {
      // Housekeeping only: the next prune tries again.
    }
    return aborted;
  }

  private async readBody(res: GetObjectCommandOutput, key: string, range: ByteRange | undefined): Promise<Buffer> {
    const bytes = res.Body ? await res.Body.transformToByteArray() : new Uint8Array(0);
    let buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    if (res.ContentLength !== undefined && buf.length !== res.ContentLength) {
      throw this.shortRead(key, buf.length, res.ContentLength);
    }
    if (range === undefined) return buf;
    const total = totalFromContentRange(res.ContentRange);
    if (res.ContentRange === undefined) {
      // A server that ignored the Range header sent the whole object.
      if (range.offset + range.length > buf.length) throw this.pastEnd(key, range, buf.length);
      buf = buf.subarray(range.offset, range.offset + range.length);
    } else if (total !== undefined && range.offset + range.length > total) {
      throw this.pastEnd(key, range, total);
    }
    if (buf.length !== range.length) throw this.shortRead(key, buf.length, range.length);
    return buf;
  }

  private async checksums(body: Uint8Array): Promise<BodyChecksums> {
    this.crc32 ??= Promise.resolve(this.client.config.requestChecksumCalculation()).then(
      (mode) => mode === 'WHEN_SUPPORTED',
      () => true,
    );
    return bodyChecksums(body, await this.crc32);
  }

  private async guard<T>(doing: Doing, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toBackendError(err, { location: this.location, bucket: this.bucket, doing, key, endpoint: this.endpoint });
    }
  }

  private notFound(key: string): BackendError {
    return new BackendError(`volume ${this.location}: object ${key} not found`, { permanent: true, notFound: true, key });
  }

  private pastEnd(key: string, range: ByteRange, size: number): BackendError {
    return new BackendError(
      `volume ${this.location}: byte range ${range.offset}+${range.length} is past the end of object ${key} (${size} bytes)`,
      { permanent: true, pastEnd: true, key },
    );
  }

  private shortRead(key: string, got: number, expected: number): BackendError {
    return new BackendError(`volume ${this.location}: read ${got} of ${expected} bytes of object ${key} (connection cut?)`, {
      permanent: false,
      key,
    });
  }
}

function totalFromContentRange(value: string | undefined): number | undefined {
  const m = value === undefined ? null : /\/(\d+)\s*$/.exec(value);
  return m ? Number(m[1]) : undefined;
}

function isValidKey(key: string): boolean {
  try {
    assertValidKey(key);
    return true;
  } catch {
    return false;
  }
}

function positive(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`S3Backend: ${name} must be a positive integer, not ${n}`);
  return n;
}

// A local S3-compatible server for tests: s3rver (a devDependency) on
// 127.0.0.1, port 0, data in a temp folder, with the buckets asked for.
//
// s3rver is a fake: it streams a PUT straight into the object's file and
// never checks Content-Length, Content-MD5 or checksums, so a connection
// reset mid-PUT leaves a torn object and a corrupted body is stored, where
// AWS S3 (and MinIO, Ceph, R2, B2) store an object only when the whole body
// arrived and matches its digests. That would make the fault tests test
// s3rver. So the helper makes its store behave like S3 on exactly these
// points: a body is received completely and verified (IncompleteBody,
// BadDigest, XAmzContentSHA256Mismatch, all 400) before anything is written,
// objects, parts and their metadata are written to a temp file and renamed
// into place, and a GET reads the file it opened (no torn reads beside a
// replacing put). Everything else is s3rver as shipped. It works with the
// current SDK's defaults (Buffer bodies: CRC32 and the SHA-256 in headers, no
// aws-chunked encoding), so no client setting is changed for tests. One more
// repair: continuation tokens of long listings (see patchDesForS3rver).

import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

const require = createRequire(import.meta.url);

type Metadata = Record<string, string | number | undefined>;
interface S3ObjectLike {
  bucket: string;
  key: string;
  content: NodeJS.ReadableStream | Buffer | null;
  metadata: Metadata;
  range?: { start: number; end: number };
}
interface StoreLike {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<Metadata>;
  putObject(object: S3ObjectLike): Promise<{ md5: string; size: number }>;
  putPart(bucket: string, uploadId: string, partNumber: number | string, content: NodeJS.ReadableStream): Promise<{ md5: string; size: number }>;
  getObject(bucket: string, key: string, options?: { start?: number; end?: number }): Promise<S3ObjectLike | null>;
}
interface S3rverLike {
  store: StoreLike;
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverCtor = new (options: Record<string, unknown>) => S3rverLike;
type S3ErrorCtor = new (code: string, message: string) => Error & { status: number };
type S3ObjectCtor = (new (bucket: string, key: string, content: unknown, metadata: Metadata) => S3ObjectLike) & {
  ALLOWED_METADATA: string[];
};

/**
 * s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3
 * (Node ≥ 17) no longer has: every truncated listing fails with a 500. Its
 * tokens only need to round-trip, so 'des' (8-byte key and IV) becomes
 * AES-128-CBC with both padded to 16 bytes, for s3rver's calls only.
 */
function patchDesForS3rver(): void {
  const nodeCrypto = require('node:crypto') as typeof import('node:crypto') & { __arcaDesPatched?: boolean };
  if (nodeCrypto.__arcaDesPatched) return;
  const pad = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc(16 - b.length)]);
  const { createCipheriv, createDecipheriv } = nodeCrypto;
  type Factory = (alg: string, key: Buffer, iv: Buffer) => ReturnType<typeof createCipheriv> | ReturnType<typeof createDecipheriv>;
  const wrap = (orig: Factory): Factory => (alg, key, iv) =>
    alg === 'des' ? orig('aes-128-cbc', pad(key), pad(iv)) : orig(alg, key, iv);
  Object.assign(nodeCrypto, {
    createCipheriv: wrap(createCipheriv as Factory),
    createDecipheriv: wrap(createDecipheriv as Factory),
    __arcaDesPatched: true,
  });
}
patchDesForS3rver();

const S3rver = require('s3rver') as S3rverCtor;
const S3Error = require('s3rver/lib/models/error') as S3ErrorCtor;
const S3Object = require('s3rver/lib/models/object') as S3ObjectCtor;

/** s3rver accepts any secret for these (it does not check signatures); real code never sees them. */
export const S3_TEST_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const S3_TEST_REGION = 'us-east-1';

export interface S3TestServer {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  port: number;
  /** Where s3rver keeps the buckets. */
  directory: string;
  stop(): Promise<void>;
}

/** Starts s3rver with `buckets` created; `stop()` closes it and removes its folder. */
export async function startS3Server(buckets: string[] = ['arca-test']): Promise<S3TestServer> {
  const directory = await fsp.mkdtemp(path.join(os.tmpdir(), 'arca-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  hardenStore(server.store);
  const addr = await server.run();
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    port: addr.port,
    directory,
    stop: async () => {
      await server.close();
      await fsp.rm(directory, { recursive: true, force: true });
    },
  };
}

function s3Error(code: string, message: string, status = 400): Error {
  const err = new S3Error(code, message);
  err.status = status;
  return err;
}

/** Reads a whole body; with request headers, refuses it unless its length and digests match. */
async function receive(content: NodeJS.ReadableStream | Buffer | null): Promise<Buffer> {
  if (content === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(content)) return content;
  const chunks: Buffer[] = [];
  for await (const chunk of content) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  const body = Buffer.concat(chunks);
  const headers = (content as Partial<IncomingMessage>).headers;
  if (headers === undefined) return body; // a completed multipart upload's parts
  const length = headers['content-length'];
  if (length !== undefined && Number(length) !== body.length) {
    throw s3Error('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');
  }
  const md5 = headers['content-md5'];
  if (typeof md5 === 'string' && createHash('md5').update(body).digest('base64') !== md5) {
    throw s3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  const crc = headers['x-amz-checksum-crc32'];
  if (typeof crc === 'string') {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(zlib.crc32(body) >>> 0);
    if (b.toString('base64') !== crc) throw s3Error('BadDigest', 'The CRC32 you specified did not match the calculated checksum.');
  }
  const sha = headers['x-amz-content-sha256'];
  if (typeof sha === 'string' && /^[0-9a-f]{64}$/.test(sha) && createHash('sha256').update(body).digest('hex') !== sha) {
    throw s3Error('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return body;
}

async function writeAtomic(file: string, data: Buffer | string): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await fsp.writeFile(temp, data);
    await fsp.rename(temp, file);
  } catch (err) {
    await fsp.rm(temp, { force: true });
    throw err;
  }
}

function storedMetadata(metadata: Metadata): string {
  const json: Metadata = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (S3Object.ALLOWED_METADATA.includes(k) || k.startsWith('x-amz-meta-')) json[k] = v;
  }
  return JSON.stringify(json, null, 2);
}

function hardenStore(store: StoreLike): void {
  store.putObject = async (object) => {
    const body = await receive(object.content);
    const md5 = createHash('md5').update(body).digest('hex');
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    await writeAtomic(`${objectPath}.md5`, md5);
    await writeAtomic(store.getResourcePath(object.bucket, object.key, 'metadata.json'), storedMetadata(object.metadata));
    await writeAtomic(objectPath, body); // last: the object appears whole, or not at all
    return { md5, size: body.length };
  };

  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const body = await receive(content);
    const md5 = createHash('md5').update(body).digest('hex');
    const partPath = path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
    await writeAtomic(`${partPath}.md5`, md5);
    await writeAtomic(partPath, body);
    return { md5, size: body.length };
  };

  store.getObject = async (bucket, key, options) => {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(store.getResourcePath(bucket, key, 'object'), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    let handedOver = false;
    try {
      const size = (await fh.stat()).size;
      const metadata = { ...(await store.getMetadata(bucket, key)), 'content-length': size };
      const lastByte = Math.max(0, size - 1);
      const range = { start: options?.start ?? 0, end: Math.min(options?.end ?? Infinity, lastByte) };
      const ranged = options !== undefined && (options.start !== undefined || Boolean(options.end));
      if (range.start < 0 || range.end < range.start || (size === 0 && ranged)) {
        const object = new S3Object(bucket, key, null, metadata);
        if (ranged) object.range = range;
        return object;
      }
      const content = fh.createReadStream(size === 0 ? { start: 0 } : { start: range.start, end: range.end, autoClose: true });
      handedOver = true;
      const object = new S3Object(bucket, key, content, metadata);
      if (ranged) object.range = range;
      return object;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    } finally {
      if (!handedOver) await fh.close();
    }
  };
}

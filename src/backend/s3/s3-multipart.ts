// Multipart upload of one large object: create, upload the parts (a few at
// once, each with Content-MD5 and CRC32), complete. S3 makes the object
// visible only at complete, whole; if anything fails before, the upload is
// aborted (best effort) so no parts linger, and the error is rethrown for
// RetryBackend, which retries the whole put.
//
// The one exception to "RetryBackend is the only retry layer": a part that
// fails transiently is sent again here (PART_ATTEMPTS in all), because with n
// parts a whole-object retry succeeds only with probability (1 − p)^n and a
// late failure would throw away every part already stored. The SDK itself
// never retries (maxAttempts 1).

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { mapLimit } from '../../common/map-limit.js';
import type { BodyChecksums } from './s3-checksums.js';

/** S3's limits: parts of 5 MiB … 5 GiB, at most 10 000 of them. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;
/** Tries per part, including the first. */
export const PART_ATTEMPTS = 4;

export interface MultipartPut {
  client: S3Client;
  bucket: string;
  /** The full S3 key (prefix included). */
  objectKey: string;
  data: Uint8Array;
  partSize: number;
  /** Parts uploaded at once. */
  partConcurrency: number;
  /** Runs one request inside the backend's concurrency limit. */
  limit: <T>(fn: () => Promise<T>) => Promise<T>;
  checksums: (body: Uint8Array) => Promise<BodyChecksums>;
  /** Whether a failed part is worth sending again. */
  isTransient: (err: unknown) => boolean;
  /** How to wait between part tries (tests inject a fake). */
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` up to PART_ATTEMPTS times while it fails transiently (full jitter, 100 ms × 2^n). */
async function retryPart<T>(p: MultipartPut, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= PART_ATTEMPTS || !p.isTransient(err)) throw err;
      await (p.sleep ?? defaultSleep)(Math.floor(Math.random() * 100 * 2 ** (attempt - 1)));
    }
  }
}

/** Splits `size` bytes into parts of `partSize` (growing it to stay within 10 000 parts). */
export function planParts(size: number, partSize: number): { offset: number; length: number }[] {
  const per = Math.max(partSize, Math.ceil(size / MAX_PARTS));
  const parts: { offset: number; length: number }[] = [];
  for (let offset = 0; offset < size; offset += per) parts.push({ offset, length: Math.min(per, size - offset) });
  return parts;
}

export async function putMultipart(p: MultipartPut): Promise<void> {
  const { client, bucket, objectKey: Key } = p;
  const created = await p.limit(() => client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key })));
  const UploadId = created.UploadId;
  if (UploadId === undefined || UploadId === '') {
    throw new Error(`CreateMultipartUpload for ${Key} returned no UploadId`);
  }
  const inFlight = new Set<Promise<unknown>>();
  try {
    const plan = planParts(p.data.length, p.partSize);
    const parts = await mapLimit(plan, p.partConcurrency, (part, i) => track(inFlight, uploadPart(part, i)));
    await p.limit(() =>
      client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, MultipartUpload: { Parts: parts } })),
    );
  } catch (err) {
    // The parts still uploading read `data`: the caller may reuse it once
    // this put settles (backend contract), so wait for them first.
    await Promise.allSettled([...inFlight]);
    // Abort so the parts do not linger (and cost) until a lifecycle rule or
    // prune's housekeeping removes them. Failure to abort changes nothing
    // visible: an incomplete upload is never an object.
    await p.limit(() => client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId }))).catch(() => undefined);
    throw err;
  }

  async function uploadPart({ offset, length }: { offset: number; length: number }, i: number): Promise<CompletedPart> {
    const Body = p.data.subarray(offset, offset + length);
    const sums = await p.checksums(Body);
    const PartNumber = i + 1;
    const res = await retryPart(p, () =>
      p.limit(() => client.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber, Body, ContentLength: length, ...sums }))),
    );
    if (res.ETag === undefined) throw new Error(`UploadPart ${PartNumber} of ${Key} returned no ETag`);
    return { PartNumber, ETag: res.ETag, ...(res.ChecksumCRC32 ? { ChecksumCRC32: res.ChecksumCRC32 } : {}) };
  }
}

/** Keeps `task` in `set` until it settles; returns it. */
function track<T>(set: Set<Promise<unknown>>, task: Promise<T>): Promise<T> {
  set.add(task);
  void task.then(
    () => set.delete(task),
    () => set.delete(task),
  );
  return task;
}

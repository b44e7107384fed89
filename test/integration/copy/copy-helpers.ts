// Shared by the copy tests: volumes with their own passwords on local disks
// and on a local S3 server (optionally through the fault proxy), opened the
// way a separate process would open them (fresh backend, fresh index).

import type { Backend } from '../../../src/backend/backend.js';
import { openBackend } from '../../../src/backend/open-backend.js';
import type { S3BackendOptions } from '../../../src/backend/s3/s3-backend.js';
import type { OpenVolume } from '../../../src/jobs/index.js';
import { Repository } from '../../../src/repository/repository.js';
import { S3_TEST_CREDENTIALS, S3_TEST_REGION } from '../../helpers/s3-server.js';

export const CHEAP_KDF = { N: 1024, r: 8, p: 1 };

export interface VolumeSpec {
  name: string;
  password: string;
  /** Makes a new backend for this volume (each open gets its own). */
  backend: () => Promise<Backend>;
}

export function localSpec(name: string, dir: string, password: string): VolumeSpec {
  return { name, password, backend: () => openBackend(dir, { create: true }) };
}

export function s3Spec(name: string, endpoint: string, bucket: string, prefix: string, password: string, options: S3BackendOptions = {}): VolumeSpec {
  const location = `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint)}`;
  const tuning: S3BackendOptions = { credentials: S3_TEST_CREDENTIALS, defaultRegion: S3_TEST_REGION, ...options };
  return { name, password, backend: () => openBackend(location, { s3: tuning, retry: { attempts: 10, baseDelayMs: 20, maxDelayMs: 400 } }) };
}

export async function createVolume(spec: VolumeSpec, packSize = 1024 * 1024): Promise<void> {
  const backend = await spec.backend();
  try {
    await Repository.init(backend, spec.password, { scrypt: CHEAP_KDF, packSize });
  } finally {
    await backend.close();
  }
}

/** Opens the volume as another process would; the caller closes it. */
export async function openSpec(spec: VolumeSpec): Promise<OpenVolume> {
  const backend = await spec.backend();
  const repo = await Repository.open(backend, spec.password, spec.name);
  return { ref: { name: spec.name, location: backend.location }, volumeId: repo.config.id, repo, close: () => backend.close() };
}

/** Runs `fn` with the volume open, then closes it. */
export async function withVolume<T>(spec: VolumeSpec, fn: (v: OpenVolume) => Promise<T>): Promise<T> {
  const v = await openSpec(spec);
  try {
    return await fn(v);
  } finally {
    await v.close();
  }
}

/** Total bytes of the volume's objects. */
export async function storedBytes(spec: VolumeSpec): Promise<number> {
  const backend = await spec.backend();
  let total = 0;
  try {
    for await (const o of backend.list('')) total += o.size;
  } finally {
    await backend.close();
  }
  return total;
}

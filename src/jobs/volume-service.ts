// Opening and creating volumes for jobs: location → backend → repository.

import { openBackend } from '../backend/open-backend.js';
import { isArcaError } from '../errors.js';
import { Repository } from '../repository/repository.js';
import type { InitOptions } from '../repository/repository.js';
import type { VolumeRef } from './types.js';

export interface OpenVolume {
  ref: VolumeRef;
  volumeId: string;
  repo: Repository;
  close(): Promise<void>;
}

/** Creates a volume at an empty location, or attaches an existing one after checking the password. */
export async function initOrAttachVolume(
  location: string,
  password: string,
  opts: InitOptions = {},
): Promise<{ created: boolean; volumeId: string }> {
  const backend = await openBackend(location, { create: true });
  try {
    if (await Repository.exists(backend)) {
      const repo = await Repository.open(backend, password);
      return { created: false, volumeId: repo.config.id };
    }
    const repo = await Repository.init(backend, password, opts);
    return { created: true, volumeId: repo.config.id };
  } finally {
    await backend.close();
  }
}

/** True when `location` already holds a volume; false when it is absent or empty (volume add would create one). */
export async function volumeExists(location: string): Promise<boolean> {
  let backend;
  try {
    backend = await openBackend(location);
  } catch (err) {
    if (isArcaError(err, 'NOT_FOUND')) return false; // the folder does not exist yet
    throw err;
  }
  try {
    return await Repository.exists(backend);
  } finally {
    await backend.close();
  }
}

export async function openVolume(ref: VolumeRef, password: string): Promise<OpenVolume> {
  const backend = await openBackend(ref.location);
  try {
    const repo = await Repository.open(backend, password, ref.name);
    return { ref, volumeId: repo.config.id, repo, close: () => backend.close() };
  } catch (err) {
    await backend.close();
    throw err;
  }
}

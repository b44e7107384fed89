// The volume config (format §4): sealed JSON written once at init.

import { randomBytes } from 'node:crypto';
import { ArcaError } from '../errors.js';
import { DEFAULT_CHUNKER_PARAMS, validateChunkerParams, type ChunkerParams } from '../content/chunker.js';

export const FORMAT_VERSION = 1;

export interface VolumeConfig {
  version: number;
  id: string;
  created: string;
  chunker: ChunkerParams;
  compression: { algorithm: 'zstd'; level: number };
  packSize: number;
}

export function newConfig(overrides: Partial<Pick<VolumeConfig, 'chunker' | 'packSize'>> = {}): VolumeConfig {
  return {
    version: FORMAT_VERSION,
    id: randomBytes(16).toString('hex'),
    created: new Date().toISOString(),
    chunker: overrides.chunker ?? DEFAULT_CHUNKER_PARAMS,
    compression: { algorithm: 'zstd', level: 1 },
    packSize: overrides.packSize ?? 16 * 1024 * 1024,
  };
}

export function validateConfig(raw: unknown): VolumeConfig {
  const c = raw as Partial<VolumeConfig>;
  if (typeof c !== 'object' || c === null || typeof c.version !== 'number') {
    throw new ArcaError('CORRUPT', 'volume config is damaged');
  }
  if (c.version !== FORMAT_VERSION) {
    throw new ArcaError('FORMAT', `volume format version ${c.version} is not supported by this Arca (it reads version ${FORMAT_VERSION})`);
  }
  if (typeof c.id !== 'string' || !c.chunker || !c.compression || typeof c.packSize !== 'number') {
    throw new ArcaError('CORRUPT', 'volume config is damaged: fields missing');
  }
  return { ...(c as VolumeConfig), chunker: validateChunkerParams(c.chunker) };
}

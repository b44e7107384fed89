// A backup's manifest (format §8): its immutable record, written last.

import { ArcaError } from '../errors.js';

export interface Manifest {
  version: 1;
  id: string;
  database: string;
  source: { kind: string; url: string };
  level: number;
  parent: string | null;
  startedAt: string;
  finishedAt: string;
  expiresAt: string | null;
  /** Hex id of the root tree blob. */
  root: string;
  bytesRead: number;
  bytesAdded: number;
  files: number;
  host: string;
  session: string;
  extra: Record<string, unknown>;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX64 = /^[0-9a-f]{64}$/;

export function isBackupId(s: string): boolean {
  return HEX32.test(s);
}

export function validateManifest(raw: unknown, key: string): Manifest {
  const m = raw as Partial<Manifest>;
  const ok =
    typeof m === 'object' &&
    m !== null &&
    m.version === 1 &&
    typeof m.id === 'string' &&
    HEX32.test(m.id) &&
    typeof m.database === 'string' &&
    typeof m.level === 'number' &&
    typeof m.root === 'string' &&
    HEX64.test(m.root) &&
    typeof m.startedAt === 'string' &&
    typeof m.finishedAt === 'string';
  if (!ok) throw new ArcaError('CORRUPT', `manifest ${key} is damaged: fields missing`);
  return m as Manifest;
}

// Where the team's shared folder is: `ARCA_SHARED_DIR`, or `shared/` beside
// the repository (how CI lays out a fresh clone).

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

export const SHARED_DIR = process.env.ARCA_SHARED_DIR ?? resolve(repoRoot, '..', 'shared');

/** A file of `shared/datasets/`. */
export function datasetPath(name: string): string {
  return resolve(SHARED_DIR, 'datasets', name);
}

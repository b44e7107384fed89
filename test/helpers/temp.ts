// Temporary folders for end-to-end tests: one scratch root per test file,
// removed afterwards unless ARCA_TEST_KEEP=1 (then its path is printed so a
// failure can be inspected by hand).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Scratch {
  /** The scratch root (absolute). */
  readonly root: string;
  /** An absolute path under the root (not created). */
  path(...parts: string[]): string;
  /** Removes everything (or keeps it with ARCA_TEST_KEEP=1). */
  cleanup(): void;
}

export function makeScratch(label: string): Scratch {
  const root = mkdtempSync(path.join(tmpdir(), `arca-${label}-`));
  return {
    root,
    path: (...parts: string[]) => path.join(root, ...parts),
    cleanup: () => {
      if (process.env['ARCA_TEST_KEEP'] === '1') {
        console.log(`ARCA_TEST_KEEP=1: kept ${root}`);
        return;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

// Defaults and limits of job options that the CLI needs while it parses argv:
// kept here, with no engine imports, so parsing loads no job module (the CLI
// imports the jobs only when a command runs one; see src/cli/program.ts).
import { ArcaError } from '../errors.js';

/** Prune: packs with more than this share of unused bytes are rewritten. */
export const DEFAULT_REPACK_THRESHOLD = 0.5;

/** Purge: rows (files) deleted per batch by default, and at most. */
export const DEFAULT_BATCH_SIZE = 5000;
export const MAX_BATCH_SIZE = 1_000_000;

/** A purge batch size; USAGE unless a whole number from 1 to MAX_BATCH_SIZE. */
export function validateBatchSize(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_BATCH_SIZE) {
    throw new ArcaError('USAGE', `the batch size must be a whole number from 1 to ${MAX_BATCH_SIZE}, not ${n}`);
  }
  return n;
}

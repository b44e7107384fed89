// How a check's outcome is told: the human summary (problems, then one
// verdict line) and the failure that names every affected backup (exit 1).
import { ArcaError } from '../errors.js';
import type { CheckReport } from '../jobs/types.js';

/** Every backup id named by a problem, once, in first-seen order. */
export function affectedBackups(report: CheckReport): string[] {
  return [...new Set(report.problems.flatMap((p) => p.backups))];
}

export function checkSummary(volume: string, report: CheckReport, readDataPercent: number): string {
  const lines = report.problems.map(
    (p) => `problem: ${p.object}: ${p.message}${p.backups.length > 0 ? ` (backups: ${p.backups.join(', ')})` : ''}`,
  );
  const read = readDataPercent > 0 ? `, ${report.packsRead} packs and ${report.blobsRead} blobs read` : '';
  const verdict = report.ok ? 'no problems found' : `${report.problems.length} problem(s) found`;
  lines.push(`volume ${volume}: ${report.backups} backups, ${report.packs} packs${read}: ${verdict}`);
  return lines.join('\n');
}

export function checkFailure(volume: string, report: CheckReport): ArcaError {
  const affected = affectedBackups(report);
  return new ArcaError(
    'CHECK_FAILED',
    `check found ${report.problems.length} problem(s) on volume ${volume}; ` +
      (affected.length > 0 ? `affected backups: ${affected.join(', ')}` : 'no backup is affected'),
  );
}

import { describe, expect, it } from 'vitest';
import { checkFailure, checkSummary } from '../../../src/cli/check-report.js';
import { backupsTable, Output, renderTable, shortId, sortBackups } from '../../../src/cli/output.js';
import { isArcaError } from '../../../src/errors.js';
import type { BackupInfo, CheckReport } from '../../../src/jobs/types.js';

function backup(id: string, startedAt: string, extra: Partial<BackupInfo> = {}): BackupInfo {
  return {
    id,
    database: 'files',
    volume: 'main',
    level: 0,
    parent: null,
    status: 'completed',
    startedAt,
    finishedAt: startedAt,
    expiresAt: null,
    bytesRead: 2048,
    bytesAdded: 100,
    ...extra,
  };
}

describe('renderTable', () => {
  it('aligns columns, right-aligns numbers, trims trailing spaces', () => {
    const text = renderTable(
      [{ header: 'NAME' }, { header: 'SIZE', align: 'right' }, { header: 'NOTE' }],
      [
        ['a', '1', ''],
        ['longer', '1000', 'x'],
      ],
    );
    expect(text).toBe(['NAME    SIZE  NOTE', 'a          1', 'longer  1000  x', ''].join('\n'));
  });
});

describe('backups', () => {
  it('sorts by start time, then id', () => {
    const list = [backup('b', '2024-01-02T00:00:00Z'), backup('c', '2024-01-01T00:00:00Z'), backup('a', '2024-01-02T00:00:00Z')];
    expect(sortBackups(list).map((b) => b.id)).toEqual(['c', 'a', 'b']);
  });

  it('shows 12-char ids and parents, level, expiry and sizes', () => {
    const parent = 'p'.repeat(64);
    const text = backupsTable([
      backup('0123456789abcdef', '2024-01-01T00:00:00Z'),
      backup('fedcba9876543210', '2024-01-02T00:00:00Z', { level: 1, parent, expiresAt: '2024-02-01T00:00:00Z' }),
    ]);
    const [header, first, second] = text.split('\n');
    expect(header).toMatch(/^ID\s+DATABASE\s+LEVEL\s+PARENT\s+FINISHED\s+EXPIRES\s+READ\s+ADDED$/);
    expect(first).toMatch(/^0123456789ab\s+files\s+0\s+-\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+never\s+2.00 KiB\s+100 B$/);
    expect(second).toMatch(/^fedcba987654\s+files\s+1\s+pppppppppppp\s+/);
    expect(backupsTable([backup('x', '2024-01-01T00:00:00Z')], { showVolume: true })).toMatch(/VOLUME/);
    expect(shortId(null)).toBe('-');
  });
});

describe('Output', () => {
  it('prints only JSON with --json, only text without', () => {
    const out: string[] = [];
    const stream = { write: (s: string) => out.push(s) > 0 };
    new Output(stream, true).result({ a: 1 }, () => 'human');
    expect(JSON.parse(out.join(''))).toEqual({ a: 1 });
    out.length = 0;
    new Output(stream, false).result({ a: 1 }, () => 'human');
    expect(out).toEqual(['human\n']);
  });
});

describe('check report', () => {
  const report: CheckReport = {
    ok: false,
    backups: 3,
    packs: 10,
    packsRead: 10,
    blobsRead: 99,
    problems: [
      { object: 'data/ab/ab12', message: 'authentication failed', backups: ['id1', 'id2'] },
      { object: 'index/cd', message: 'unreadable', backups: ['id2', 'id3'] },
    ],
  };

  it('summarizes problems and the verdict', () => {
    const text = checkSummary('main', report, 100);
    expect(text.split('\n')).toEqual([
      'problem: data/ab/ab12: authentication failed (backups: id1, id2)',
      'problem: index/cd: unreadable (backups: id2, id3)',
      'volume main: 3 backups, 10 packs, 10 packs and 99 blobs read: 2 problem(s) found',
    ]);
    expect(checkSummary('main', { ...report, ok: true, problems: [] }, 0)).toBe(
      'volume main: 3 backups, 10 packs: no problems found',
    );
  });

  it('fails naming every affected backup once', () => {
    const err = checkFailure('main', report);
    expect(isArcaError(err, 'CHECK_FAILED')).toBe(true);
    expect(err.message).toBe('check found 2 problem(s) on volume main; affected backups: id1, id2, id3');
  });
});

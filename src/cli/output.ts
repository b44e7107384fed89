// What the CLI prints on stdout: JSON (with --json, and nothing else) or
// aligned human tables and lines. The table layouts of each listing live here
// so the columns stay consistent across commands.
import { formatBytes, formatTimestamp } from '../common/format.js';
import type { BackupInfo } from '../jobs/types.js';
import type { DatabaseRecord, VolumeRecord } from '../catalog/index.js';
import type { OutStream } from './io.js';

export const SHORT_ID_LENGTH = 12;

export interface Column {
  header: string;
  align?: 'left' | 'right';
}

/** Aligned columns separated by two spaces, header first, no trailing spaces. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? '';
        const w = widths[i] ?? 0;
        return c.align === 'right' ? cell.padStart(w) : cell.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n') + '\n';
}

export function shortId(id: string | null): string {
  return id === null ? '-' : id.slice(0, SHORT_ID_LENGTH);
}

/** Oldest first (by start), ties by id: the order of `arca backups`. */
export function sortBackups(backups: BackupInfo[]): BackupInfo[] {
  return backups.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
}

/** The parent column: its short id, and a word when it was deleted (the backup still restores on its own). */
export function parentCell(b: Pick<BackupInfo, 'parent' | 'parentPresent'>): string {
  return b.parentPresent === false ? `${shortId(b.parent)} (deleted; restores on its own)` : shortId(b.parent);
}

export function backupsTable(backups: readonly BackupInfo[], options: { showVolume?: boolean } = {}): string {
  const columns: Column[] = [
    { header: 'ID' },
    { header: 'DATABASE' },
    ...(options.showVolume ? [{ header: 'VOLUME' }] : []),
    { header: 'LEVEL', align: 'right' },
    { header: 'PARENT' },
    { header: 'FINISHED' },
    { header: 'EXPIRES' },
    { header: 'READ', align: 'right' },
    { header: 'ADDED', align: 'right' },
  ];
  const rows = backups.map((b) => [
    shortId(b.id),
    b.database,
    ...(options.showVolume ? [b.volume] : []),
    String(b.level),
    parentCell(b),
    formatTimestamp(b.finishedAt),
    formatTimestamp(b.expiresAt, 'never'),
    formatBytes(b.bytesRead),
    formatBytes(b.bytesAdded),
  ]);
  return renderTable(columns, rows);
}

export function volumesTable(volumes: readonly VolumeRecord[]): string {
  return renderTable(
    [{ header: 'NAME' }, { header: 'LOCATION' }, { header: 'VOLUME ID' }, { header: 'ADDED' }],
    volumes.map((v) => [v.name, v.location, shortId(v.volumeId), formatTimestamp(v.createdAt)]),
  );
}

export function databasesTable(
  databases: ReadonlyArray<DatabaseRecord & { state: string; maintenance: { kind: string; since: string } | null }>,
): string {
  return renderTable(
    [{ header: 'NAME' }, { header: 'URL' }, { header: 'STATE' }, { header: 'ADDED' }],
    databases.map((d) => [
      d.name,
      d.url,
      d.maintenance ? `maintenance (${d.maintenance.kind} since ${formatTimestamp(d.maintenance.since)})` : d.state,
      formatTimestamp(d.createdAt),
    ]),
  );
}

/** Prints either JSON (with --json) or human text, never both. */
export class Output {
  constructor(
    private readonly stdout: OutStream,
    readonly json: boolean,
  ) {}

  /** `value` as JSON when --json, else `human()` (called lazily). */
  result(value: unknown, human: () => string): void {
    if (this.json) this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    else {
      const text = human();
      if (text !== '') this.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    }
  }
}

/** What the job history records of a finished backup. */
export function backupFigures(b: BackupInfo): { [key: string]: string | number | null } {
  return { backup: b.id, level: b.level, parent: b.parent, bytesRead: b.bytesRead, bytesAdded: b.bytesAdded };
}

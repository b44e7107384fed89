// Human-readable figures for people (CLI tables, progress lines, logs):
// IEC byte sizes, transfer rates, elapsed times, ETAs and timestamps. Machine
// output (JSON) never goes through here; it keeps raw numbers and ISO dates.

const IEC_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const;

/** 3 significant digits at most: 1.23, 12.3, 123. */
function threeDigits(v: number): string {
  if (v < 10) return v.toFixed(2);
  if (v < 100) return v.toFixed(1);
  return v.toFixed(0);
}

/** Bytes in IEC units: "0 B", "1023 B", "1.00 KiB", "12.3 MiB", "123 GiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '?';
  const sign = bytes < 0 ? '-' : '';
  let v = Math.abs(bytes);
  if (v < 1024) return `${sign}${Math.round(v)} B`;
  let i = 0;
  while (v >= 1024 && i < IEC_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  let text = threeDigits(v);
  // 1023.7 KiB would print as "1024 KiB": move up one unit instead.
  if (Number(text) >= 1024 && i < IEC_UNITS.length - 1) {
    i++;
    text = threeDigits(v / 1024);
  }
  return `${sign}${text} ${IEC_UNITS[i]}`;
}

/** A transfer rate: "12.3 MiB/s"; "?" when unknown. */
export function formatRate(bytesPerSecond: number | null): string {
  if (bytesPerSecond === null || !Number.isFinite(bytesPerSecond) || bytesPerSecond < 0) return '? B/s';
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** An elapsed time: "850ms", "12.3s", "4m 05s", "2h 03m", "3d 04h". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const totalSeconds = Math.round(ms / 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const s = totalSeconds % 60;
  const totalMinutes = Math.floor(totalSeconds / 60);
  if (totalMinutes < 60) return `${totalMinutes}m ${pad(s)}s`;
  const m = totalMinutes % 60;
  const totalHours = Math.floor(totalMinutes / 60);
  if (totalHours < 24) return `${totalHours}h ${pad(m)}m`;
  return `${Math.floor(totalHours / 24)}d ${pad(totalHours % 24)}h`;
}

/** A remaining time as a clock: "0:07", "12:34", "1:02:03"; "--:--" when unknown. */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '--:--';
  const total = Math.ceil(seconds);
  if (total >= 100 * 3600) return '>99h';
  const pad = (n: number): string => String(n).padStart(2, '0');
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/** A percentage with no decimals, never showing 100% before the end: "37%". */
export function formatPercent(done: number, total: number | null): string {
  if (total === null || total <= 0 || !Number.isFinite(done)) return '?%';
  const p = Math.max(0, Math.min(100, (done / total) * 100));
  return `${done < total ? Math.min(99, Math.floor(p)) : 100}%`;
}

/** A timestamp for tables, in local time to the second: "2024-05-01 13:45:07". */
export function formatTimestamp(value: Date | string | null, never = '-'): string {
  if (value === null) return never;
  const d = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(d.getTime())) return String(value);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

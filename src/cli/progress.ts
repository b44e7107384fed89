// The progress line: on a terminal, long jobs show one updating line on
// stderr (phase, bytes done/total, percent, rate, ETA), redrawn at most ~5
// times a second and erased at the end. Nothing at all when stderr is not a
// terminal or output is JSON.
import { formatBytes, formatEta, formatPercent, formatRate } from '../common/format.js';
import type { ProgressEvent } from '../jobs/types.js';
import type { OutStream } from './io.js';
import { RateMeter } from '../common/rate-meter.js';

export { RateMeter };

export interface ProgressFigures {
  /** Bytes per second over the recent window, null while unknown. */
  rate: number | null;
}

/** Seconds left at `rate`, or null when it cannot be told. */
export function etaSeconds(event: ProgressEvent, rate: number | null): number | null {
  if (event.bytesTotal === null || rate === null || rate <= 0) return null;
  return Math.max(0, event.bytesTotal - event.bytesDone) / rate;
}

/** One progress line, e.g. "backup  1.20 GiB / 3.40 GiB  35%  120 MiB/s  ETA 0:18". */
export function formatProgressLine(event: ProgressEvent, figures: ProgressFigures, width = 0): string {
  const parts: string[] = [event.phase];
  if (event.bytesTotal !== null) {
    parts.push(`${formatBytes(event.bytesDone)} / ${formatBytes(event.bytesTotal)}`);
    parts.push(formatPercent(event.bytesDone, event.bytesTotal));
  } else {
    parts.push(formatBytes(event.bytesDone));
  }
  if (event.itemsTotal !== null) parts.push(`${event.itemsDone}/${event.itemsTotal} items`);
  else if (event.itemsDone > 0) parts.push(`${event.itemsDone} items`);
  parts.push(formatRate(figures.rate));
  if (event.bytesTotal !== null) parts.push(`ETA ${formatEta(etaSeconds(event, figures.rate))}`);
  const line = parts.join('  ');
  return width > 1 && line.length > width - 1 ? line.slice(0, width - 1) : line;
}

export interface ProgressLineOptions {
  stream: OutStream;
  enabled: boolean;
  intervalMs?: number;
  now?: () => number;
}

const CLEAR_LINE = '\r\x1b[2K';

export class ProgressLine {
  private readonly meter = new RateMeter();
  private readonly intervalMs: number;
  private readonly now: () => number;
  private lastDraw = -Infinity;
  private lastPhase: string | null = null;
  private shown = false;

  constructor(private readonly options: ProgressLineOptions) {
    this.intervalMs = options.intervalMs ?? 200;
    this.now = options.now ?? (() => performance.now());
  }

  update(event: ProgressEvent): void {
    if (!this.options.enabled) return;
    const t = this.now();
    const phaseChanged = event.phase !== this.lastPhase;
    if (phaseChanged) this.meter.reset();
    this.meter.add(t, event.bytesDone);
    this.lastPhase = event.phase;
    if (!phaseChanged && t - this.lastDraw < this.intervalMs) return;
    this.lastDraw = t;
    const line = formatProgressLine(event, { rate: this.meter.rate() }, this.options.stream.columns ?? 0);
    this.options.stream.write(`${CLEAR_LINE}${line}`);
    this.shown = true;
  }

  /** Erases the line (before printing anything else on stderr, and at the end). */
  clear(): void {
    if (!this.shown) return;
    this.options.stream.write(CLEAR_LINE);
    this.shown = false;
  }
}

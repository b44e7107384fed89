import { describe, expect, it } from 'vitest';
import { etaSeconds, formatProgressLine, ProgressLine, RateMeter } from '../../../src/cli/progress.js';
import type { ProgressEvent } from '../../../src/jobs/types.js';

const MiB = 1024 * 1024;

function ev(bytesDone: number, bytesTotal: number | null, extra: Partial<ProgressEvent> = {}): ProgressEvent {
  return { phase: 'backup', bytesDone, bytesTotal, itemsDone: 0, itemsTotal: null, ...extra };
}

describe('formatProgressLine', () => {
  it('shows done/total, percent, rate and ETA', () => {
    expect(formatProgressLine(ev(35 * MiB, 100 * MiB), { rate: 10 * MiB })).toBe(
      'backup  35.0 MiB / 100 MiB  35%  10.0 MiB/s  ETA 0:07',
    );
  });

  it('shows items when known', () => {
    expect(formatProgressLine(ev(0, 10, { itemsDone: 3, itemsTotal: 12, phase: 'restore' }), { rate: null })).toBe(
      'restore  0 B / 10 B  0%  3/12 items  ? B/s  ETA --:--',
    );
    expect(formatProgressLine(ev(5, null, { itemsDone: 7, phase: 'scan' }), { rate: 1 })).toBe(
      'scan  5 B  7 items  1 B/s',
    );
  });

  it('leaves out total, percent and ETA while the total is unknown', () => {
    expect(formatProgressLine(ev(3 * MiB, null), { rate: MiB })).toBe('backup  3.00 MiB  1.00 MiB/s');
  });

  it('fits the terminal width', () => {
    const line = formatProgressLine(ev(35 * MiB, 100 * MiB), { rate: 10 * MiB }, 20);
    expect(line).toHaveLength(19);
  });

  it('computes ETA from the rate', () => {
    expect(etaSeconds(ev(50, 150), 10)).toBe(10);
    expect(etaSeconds(ev(50, null), 10)).toBeNull();
    expect(etaSeconds(ev(50, 150), 0)).toBeNull();
    expect(etaSeconds(ev(200, 150), 10)).toBe(0);
  });
});

describe('RateMeter', () => {
  it('needs half a second of samples, then measures over a sliding window', () => {
    const m = new RateMeter(5000, 500);
    m.add(0, 0);
    m.add(100, 1000);
    expect(m.rate()).toBeNull();
    m.add(1000, 10_000);
    expect(m.rate()).toBe(10_000);
    // A stall: after the window slides, the rate drops toward the recent one.
    for (let t = 2000; t <= 12_000; t += 1000) m.add(t, 10_000);
    expect(m.rate()).toBe(0);
  });

  it('restarts when the count goes backwards', () => {
    const m = new RateMeter(5000, 500);
    m.add(0, 0);
    m.add(1000, 5000);
    m.add(2000, 100);
    expect(m.rate()).toBeNull();
  });
});

describe('ProgressLine', () => {
  function setup(enabled = true) {
    const writes: string[] = [];
    let now = 0;
    const line = new ProgressLine({
      stream: { write: (s: string) => writes.push(s) > 0, isTTY: true, columns: 200 },
      enabled,
      now: () => now,
    });
    return { writes, line, tick: (ms: number) => (now += ms) };
  }

  it('redraws at most every 200 ms (~5/s), immediately on a phase change', () => {
    const { writes, line, tick } = setup();
    line.update(ev(0, 100));
    for (let i = 1; i <= 100; i++) {
      tick(10);
      line.update(ev(i, 100));
    }
    // 1 s of updates every 10 ms → the first draw plus one per 200 ms.
    expect(writes).toHaveLength(6);
    line.update(ev(0, 100, { phase: 'finish' }));
    expect(writes).toHaveLength(7);
    expect(writes.every((w) => w.startsWith('\r\x1b[2K'))).toBe(true);
    expect(writes.every((w) => !w.includes('\n'))).toBe(true);
  });

  it('erases the line once at the end', () => {
    const { writes, line } = setup();
    line.clear();
    expect(writes).toEqual([]);
    line.update(ev(1, 2));
    line.clear();
    line.clear();
    expect(writes.slice(1)).toEqual(['\r\x1b[2K']);
  });

  it('writes nothing when disabled (not a terminal, or --json)', () => {
    const { writes, line } = setup(false);
    line.update(ev(1, 2));
    line.clear();
    expect(writes).toEqual([]);
  });
});

// The scheduler's sense of time, injected so tests drive it with a fake clock
// instead of waiting: what time it is, and a sleep that a stop cuts short.
import { setTimeout as delay } from 'node:timers/promises';

export interface Clock {
  now(): Date;
  /** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: async (ms, signal) => {
    if (signal.aborted) return;
    try {
      await delay(Math.max(0, ms), undefined, { signal });
    } catch {
      // Aborted: the caller looks at why.
    }
  },
};

// A fake clock and a fake job launcher for the scheduler's tests: time moves
// only when a test says so, and jobs end only when a test ends them.
import { startJob, finishJob, type NewJob } from '../../../src/catalog/jobs.js';
import type { Catalog } from '../../../src/catalog/catalog.js';
import type { Clock } from '../../../src/scheduler/clock.js';
import type { JobLauncher, LaunchedJob, LaunchOutcome, LaunchRequest } from '../../../src/scheduler/launcher.js';

interface Sleeper {
  at: number;
  resolve: () => void;
}

/** Lets pending promise callbacks and timers of the current turn run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

export class FakeClock implements Clock {
  private t: number;
  private sleepers: Sleeper[] = [];

  constructor(start: string | Date) {
    this.t = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.t);
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const onAbort = (): void => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        resolve();
      };
      const sleeper: Sleeper = {
        at: this.t + ms,
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.sleepers.push(sleeper);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Sets the time without waking sleepers (for tick()-driven tests). */
  set(moment: string | Date): void {
    this.t = new Date(moment).getTime();
  }

  /** Moves time forward to `moment`, waking each sleeper at its own time, in order. */
  async advanceTo(moment: string | Date): Promise<void> {
    const end = new Date(moment).getTime();
    for (;;) {
      await settle();
      const due = this.sleepers.filter((s) => s.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.sleepers = this.sleepers.filter((s) => s !== due);
      this.t = Math.max(this.t, due.at);
      due.resolve();
    }
    this.t = end;
    await settle();
  }

  /** How many sleeps are pending (1 while a scheduler's run() waits). */
  get sleeping(): number {
    return this.sleepers.length;
  }
}

export interface FakeRun {
  request: LaunchRequest;
  scheduledAt: string | null;
  name: string;
  pid: number;
  stopped: boolean;
  /** Ends the job with this outcome. */
  finish(outcome?: Partial<LaunchOutcome>): void;
}

/**
 * Records every launch. With `recordJobs`, a launched job records itself in
 * the catalog as a real child does (running until finished), under pid
 * `process.pid` (alive, so it is not reaped).
 */
export class FakeLauncher implements JobLauncher {
  readonly runs: FakeRun[] = [];
  /** End jobs at once with exit 0 (else they run until finish() or stop()). */
  autoFinish = false;
  /** Throw from launch() (a spawn that fails at once). */
  failLaunch: Error | null = null;

  constructor(private readonly catalog: Catalog | null = null) {}

  launch(request: LaunchRequest): LaunchedJob {
    if (this.failLaunch) throw this.failLaunch;
    let resolveDone!: (o: LaunchOutcome) => void;
    const done = new Promise<LaunchOutcome>((r) => (resolveDone = r));
    const s = request.schedule;
    let jobId: number | null = null;
    if (this.catalog) {
      const spec: NewJob = { kind: s.kind, database: s.database, volume: s.volume, schedule: s.name };
      jobId = startJob(this.catalog, spec).id;
    }
    let ended = false;
    const run: FakeRun = {
      request,
      name: s.name,
      scheduledAt: request.scheduledAt?.toISOString() ?? null,
      // A job that records itself does so under this (alive) pid; others get pids no process has.
      pid: this.catalog ? process.pid : 4_000_000 + this.runs.length,
      stopped: false,
      finish: (outcome = {}) => {
        if (ended) return;
        ended = true;
        const full: LaunchOutcome = { exitCode: 0, signal: null, stderrTail: '', startError: null, ...outcome };
        if (this.catalog && jobId !== null) {
          finishJob(this.catalog, jobId, full.exitCode === 0 ? { status: 'succeeded' } : { status: run.stopped ? 'aborted' : 'failed', error: full.stderrTail });
        }
        resolveDone(full);
      },
    };
    this.runs.push(run);
    if (this.autoFinish) queueMicrotask(() => run.finish());
    return {
      pid: run.pid,
      done,
      stop: () => {
        run.stopped = true;
        run.finish({ exitCode: 143, stopped: true });
      },
    };
  }

  /** "NAME@ISO" of every launch, for compact assertions. */
  fired(): string[] {
    return this.runs.map((r) => `${r.name}@${r.scheduledAt ?? 'now'}`);
  }
}

// The scheduler: fires the catalog's schedules on time through an injected
// job launcher, with an injected clock (tests never wait for the wall clock).
// Used by `arca scheduler` and later inside `arca serve`.
//
// Rules it keeps:
// - The catalog is read again at every wake-up (at least every `reloadMs`),
//   so added, changed and removed schedules count without a restart.
// - A schedule's `last_run_at` is the scheduled time that last fired, written
//   (claimed, compare-and-set) before launching. The next run is the first
//   scheduled time after it (after `created_at` for a new schedule). When
//   several were missed while no scheduler ran, the run fires once, for the
//   latest missed time, not once per missed time.
// - A run that would overlap the same schedule's still-running job (started by
//   this scheduler, another one, or by hand) is skipped and recorded as such.
// - A launched job records itself in the job history (the child sees
//   ARCA_SCHEDULE); when it ended without doing so (crash before start, a
//   refused start) the scheduler records it from its exit status.
// - stop(): no more launches, running jobs are asked to stop, then waited for.
import { errorMessage } from '../errors.js';
import type { Catalog } from '../catalog/catalog.js';
import { recordSkippedJob, type JobRecord } from '../catalog/jobs.js';
import { claimScheduledRun, listSchedules, type ScheduleRecord } from '../catalog/schedules.js';
import type { Clock } from './clock.js';
import { describeOutcome, type JobLauncher, type LaunchedJob, type LaunchOutcome } from './launcher.js';
import { jobSpecOf, outcomeStatus, recordLaunchOutcome, runningJobOfSchedule, runningScheduledJobs } from './run-record.js';
import { ScheduleTiming } from './schedule-timing.js';

export type SchedulerEvent =
  | { type: 'launched'; at: string; schedule: string; scheduledAt: string; missed: boolean; pid: number | null }
  | { type: 'finished'; at: string; schedule: string; ok: boolean; status: 'succeeded' | 'failed' | 'aborted'; outcome: string; job: number | null }
  | { type: 'skipped'; at: string; schedule: string; scheduledAt: string; reason: string; job: number | null }
  | { type: 'error'; at: string; schedule: string | null; message: string };

export interface SchedulerOptions {
  catalog: Catalog;
  clock: Clock;
  launcher: JobLauncher;
  /** Longest sleep between two reads of the catalog (ms). Default 30 s. */
  reloadMs?: number;
  /** Every launch, finish, skip and error, as it happens. */
  onEvent?: (event: SchedulerEvent) => void;
}

interface Running {
  job: LaunchedJob;
  launchedAt: Date;
  /** Settles when the outcome is recorded. */
  settled: Promise<void>;
}

/** A launch is late ("missed") when it fires this long after its scheduled time. */
const LATE_MS = 60_000;

export class Scheduler {
  private readonly running = new Map<string, Running>();
  private readonly stopper = new AbortController();
  /** Errors already reported for a schedule's definition (not repeated every tick). */
  private readonly reported = new Map<string, string>();
  private readonly reloadMs: number;

  constructor(private readonly options: SchedulerOptions) {
    this.reloadMs = options.reloadMs ?? 30_000;
  }

  get stopping(): boolean {
    return this.stopper.signal.aborted;
  }

  /** Names of the schedules whose job is running now. */
  runningSchedules(): string[] {
    return [...this.running.keys()].sort();
  }

  /**
   * One pass: reads the schedules, fires those that are due. Returns when the
   * next pass is needed (the earliest next run, at most `reloadMs` away).
   */
  tick(): Date {
    const now = this.options.clock.now();
    let wake = now.getTime() + this.reloadMs;
    let schedules: ScheduleRecord[];
    try {
      schedules = listSchedules(this.options.catalog);
    } catch (err) {
      this.emit({ type: 'error', at: now.toISOString(), schedule: null, message: `cannot read the schedules: ${errorMessage(err)}` });
      return new Date(wake);
    }
    let running: JobRecord[] | null = null;
    const runningInCatalog = (): JobRecord[] => (running ??= runningScheduledJobs(this.options.catalog));
    for (const schedule of schedules) {
      if (this.stopping) break;
      try {
        const next = this.consider(schedule, now, runningInCatalog);
        if (next !== null) wake = Math.min(wake, next.getTime());
      } catch (err) {
        this.emit({ type: 'error', at: now.toISOString(), schedule: schedule.name, message: errorMessage(err) });
      }
    }
    return new Date(wake);
  }

  /** Runs passes until stop() (or `signal`), then waits for the running jobs. */
  async run(signal?: AbortSignal): Promise<void> {
    const onAbort = (): void => void this.stop();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    try {
      while (!this.stopping) {
        const wake = this.tick();
        if (this.stopping) break;
        const ms = Math.max(1, wake.getTime() - this.options.clock.now().getTime());
        await this.options.clock.sleep(Math.min(ms, this.reloadMs), this.stopper.signal);
      }
      await this.drain();
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Stops launching, asks every running job to stop, and resolves when they all ended and are recorded. */
  async stop(): Promise<void> {
    if (!this.stopping) this.stopper.abort();
    for (const r of this.running.values()) r.job.stop();
    await this.drain();
  }

  /** Resolves when every job running now has ended and is recorded. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((r) => r.settled));
  }

  /** Fires `schedule` when due; returns its next run after this pass (null: never). */
  private consider(schedule: ScheduleRecord, now: Date, runningInCatalog: () => JobRecord[]): Date | null {
    const timing = this.timingOf(schedule, now);
    if (timing === null) return null;
    const anchor = new Date(schedule.lastRunAt ?? schedule.createdAt);
    const next = timing.nextAfter(anchor);
    if (next === null || next.getTime() > now.getTime()) return next;

    // Due. When several runs were missed, fire once, for the latest of them.
    const latest = timing.latestAtOrBefore(now);
    const firedAt = latest !== null && latest.getTime() > next.getTime() ? latest : next;
    const catalog = this.options.catalog;
    if (!claimScheduledRun(catalog, schedule.name, schedule.lastRunAt, firedAt.toISOString())) {
      return timing.nextAfter(firedAt); // another scheduler fired it (or it was removed)
    }
    const missed = firedAt.getTime() > next.getTime() || now.getTime() - firedAt.getTime() > LATE_MS;
    const overlap = this.overlapOf(schedule, runningInCatalog);
    if (overlap !== null) {
      const job = recordSkippedJob(catalog, jobSpecOf(schedule), overlap);
      this.emit({ type: 'skipped', at: now.toISOString(), schedule: schedule.name, scheduledAt: firedAt.toISOString(), reason: overlap, job: job.id });
    } else {
      this.launch(schedule, firedAt, missed);
    }
    return timing.nextAfter(firedAt);
  }

  private timingOf(schedule: ScheduleRecord, now: Date): ScheduleTiming | null {
    try {
      const timing = new ScheduleTiming(schedule.cron, schedule.timeZone);
      this.reported.delete(schedule.name);
      return timing;
    } catch (err) {
      const message = `schedule ${schedule.name} is not run: ${errorMessage(err)}`;
      if (this.reported.get(schedule.name) !== message) {
        this.reported.set(schedule.name, message);
        this.emit({ type: 'error', at: now.toISOString(), schedule: schedule.name, message });
      }
      return null;
    }
  }

  /** Why a run of `schedule` would overlap its still-running previous one, or null. */
  private overlapOf(schedule: ScheduleRecord, runningInCatalog: () => JobRecord[]): string | null {
    const own = this.running.get(schedule.name);
    if (own) {
      const pid = own.job.pid === null ? '' : `, pid ${own.job.pid}`;
      return `skipped: the previous run of schedule ${schedule.name} (started ${own.launchedAt.toISOString()}${pid}) is still running`;
    }
    const other = runningJobOfSchedule(schedule.name, runningInCatalog());
    if (other) {
      return `skipped: the previous run of schedule ${schedule.name} (job ${other.id}, started ${other.startedAt}) is still running`;
    }
    return null;
  }

  private launch(schedule: ScheduleRecord, scheduledAt: Date, missed: boolean): void {
    const launchedAt = this.options.clock.now();
    let job: LaunchedJob;
    try {
      job = this.options.launcher.launch({ schedule, scheduledAt });
    } catch (err) {
      const outcome: LaunchOutcome = { exitCode: null, signal: null, stderrTail: '', startError: errorMessage(err) };
      this.record(schedule, null, launchedAt, outcome);
      return;
    }
    this.emit({
      type: 'launched',
      at: launchedAt.toISOString(),
      schedule: schedule.name,
      scheduledAt: scheduledAt.toISOString(),
      missed,
      pid: job.pid,
    });
    const settled = job.done
      .then((outcome) => this.record(schedule, job.pid, launchedAt, outcome))
      .catch((err: unknown) => {
        this.emit({ type: 'error', at: this.options.clock.now().toISOString(), schedule: schedule.name, message: errorMessage(err) });
      })
      .finally(() => this.running.delete(schedule.name));
    this.running.set(schedule.name, { job, launchedAt, settled });
  }

  /** Notes how a launched job ended (recording a job for it when it did not record one itself). */
  private record(schedule: ScheduleRecord, pid: number | null, launchedAt: Date, outcome: LaunchOutcome): void {
    const job = recordLaunchOutcome(this.options.catalog, schedule, pid, launchedAt, outcome);
    const at = this.options.clock.now().toISOString();
    const status = outcomeStatus(outcome);
    this.emit({ type: 'finished', at, schedule: schedule.name, ok: status === 'succeeded', status, outcome: describeOutcome(outcome), job });
  }

  private emit(event: SchedulerEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A broken log sink must not stop the schedules.
    }
  }
}

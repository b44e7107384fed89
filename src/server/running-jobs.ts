// The jobs this server process runs in the background (backups, restores, …
// started through the API): each gets an AbortSignal that the server's
// shutdown trips, and shutdown waits for them to record their outcome.
// Endpoints that start a job call `start()`; `Server.stop()` calls `stopAll()`.
import { ArcaError } from '../errors.js';

export interface RunningJob {
  /** What it is, for logs: e.g. "backup of app on local". */
  label: string;
  controller: AbortController;
  done: Promise<unknown>;
}

export interface StopResult {
  stopped: number;
  /** Jobs still running when the timeout passed. */
  stuck: number;
}

export class RunningJobs {
  private readonly jobs = new Set<RunningJob>();
  private stopping = false;

  get size(): number {
    return this.jobs.size;
  }

  labels(): string[] {
    return [...this.jobs].map((j) => j.label);
  }

  /**
   * Runs `work` in the background. Its promise is returned (the caller
   * decides what to do with the outcome; rejections are also caught here so
   * none goes unhandled). CONFLICT once the server is shutting down.
   */
  start<T>(label: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.stopping) throw new ArcaError('CONFLICT', 'the server is shutting down; no new jobs start');
    const controller = new AbortController();
    const done = Promise.resolve().then(() => work(controller.signal));
    const job: RunningJob = { label, controller, done };
    this.jobs.add(job);
    void done.then(
      () => this.jobs.delete(job),
      () => this.jobs.delete(job),
    );
    return done;
  }

  /** Asks every job to stop (AbortSignal) and waits up to `timeoutMs` for them to end. */
  async stopAll(reason: string, timeoutMs = 30_000): Promise<StopResult> {
    this.stopping = true;
    const jobs = [...this.jobs];
    for (const j of jobs) j.controller.abort(new ArcaError('ABORTED', reason));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    await Promise.race([Promise.allSettled(jobs.map((j) => j.done)), timeout]);
    clearTimeout(timer);
    return { stopped: jobs.length - this.jobs.size, stuck: this.jobs.size };
  }
}

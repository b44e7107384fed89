// One CLI run's shared state: the global options, the home directory and
// catalog (opened lazily), volume passwords, output, the job runner (abort on
// SIGINT/SIGTERM, progress line) and what must be closed at the end.
import { mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ArcaError, errorMessage } from '../errors.js';
import { catalogPath, openCatalog, type Catalog } from '../catalog/index.js';
import type { JobContext } from '../jobs/types.js';
import type { JobFigures, JobRecord, NewJob } from '../catalog/jobs.js';
import { trackJob } from '../jobs/job-tracker.js';
import { notifyJob } from '../jobs/notify/notifier.js';
import { redactSecrets } from '../common/redact.js';
import type { Io, StopSignal } from './io.js';
import { Output } from './output.js';
import { PasswordSource, PromptInterrupted } from './password.js';
import { ProgressLine } from './progress.js';
import { listenForStop } from './stop-signals.js';

export interface GlobalOptions {
  home?: string;
  passwordFile?: string;
  json?: boolean;
  debug?: boolean;
}

/** The home directory: --home, else ARCA_HOME, else ~/.local/share/arca; made absolute. */
export function resolveHome(options: GlobalOptions, env: Record<string, string | undefined>, cwd: string): string {
  const chosen = options.home ?? (env['ARCA_HOME'] || undefined);
  if (chosen !== undefined) {
    if (chosen.trim() === '') throw new ArcaError('USAGE', '--home needs a directory');
    return resolve(cwd, chosen);
  }
  return join(homedir(), '.local', 'share', 'arca');
}

/** Creates the home directory (mode 0700) when it is missing. */
export function ensureHome(home: string): void {
  try {
    mkdirSync(home, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new ArcaError('BACKEND', `cannot create the home directory ${home}: ${errorMessage(err)}`, { cause: err });
  }
  if (!statSync(home).isDirectory()) throw new ArcaError('USAGE', `the home ${home} is not a directory`);
}

export class CliContext {
  readonly output: Output;
  readonly passwords: PasswordSource;
  /** Set when SIGINT/SIGTERM (or Ctrl-C at a prompt) stopped this run. */
  interruptedBy: StopSignal | null = null;
  private catalogHandle: Catalog | null = null;
  private readonly closers: Array<() => Promise<void> | void> = [];

  constructor(
    readonly io: Io,
    readonly options: GlobalOptions,
  ) {
    this.output = new Output(io.stdout, options.json === true);
    this.passwords = new PasswordSource({
      passwordFile: options.passwordFile,
      env: io.env,
      stdin: io.stdin,
      stderr: io.stderr,
    });
  }

  get json(): boolean {
    return this.options.json === true;
  }

  get home(): string {
    return resolveHome(this.options, this.io.env, this.io.cwd());
  }

  /** The catalog, opened (and the home created) on first use. */
  catalog(): Catalog {
    if (!this.catalogHandle) {
      const home = this.home;
      ensureHome(home);
      this.catalogHandle = openCatalog(catalogPath(home));
    }
    return this.catalogHandle;
  }

  /** The password for a volume (see PasswordSource); Ctrl-C at the prompt counts as SIGINT. */
  async password(volume: string, options: { confirm?: boolean } = {}): Promise<string> {
    try {
      return await this.passwords.get(volume, options);
    } catch (err) {
      if (err instanceof PromptInterrupted) this.interruptedBy = 'SIGINT';
      throw err;
    }
  }

  /** Registers cleanup to run at the end of the run, last registered first. */
  onClose(closer: () => Promise<void> | void): void {
    this.closers.push(closer);
  }

  /**
   * Runs a long job: SIGINT/SIGTERM abort it through its AbortSignal (the job
   * cleans up; a second signal ends the process at once), and on a terminal
   * a progress line shows on stderr.
   */
  async runJob<T>(work: (job: Required<JobContext>) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const progress = new ProgressLine({ stream: this.io.stderr, enabled: !this.json && this.io.stderr.isTTY === true });
    const unlisten = listenForStop(this.io, this, (signal) => {
      progress.clear();
      controller.abort(new ArcaError('ABORTED', signal === 'SIGINT' ? 'interrupted' : 'terminated'));
    });
    try {
      return await work({ signal: controller.signal, onProgress: (event) => progress.update(event) });
    } finally {
      progress.clear();
      unlisten();
    }
  }

  /**
   * Runs a long job as runJob does, recorded in the catalog's job history:
   * `arca progress` and `arca abort` in other processes see and stop it.
   */
  async runTracked<T>(
    spec: NewJob,
    work: (job: Required<JobContext> & { record: JobRecord }) => Promise<T>,
    figuresOf: (result: T) => JobFigures,
  ): Promise<T> {
    const catalog = this.catalog();
    // A scheduler that starts `arca` as a child names the schedule in ARCA_SCHEDULE.
    const schedule = spec.schedule ?? (this.io.env['ARCA_SCHEDULE'] || null);
    // Finished jobs go to the notification targets (arca notify); a target that fails is a warning.
    const onFinished = (ended: JobRecord) =>
      notifyJob(catalog, ended, (target, err) => void this.io.stderr.write(`arca: warning: notification ${target.id} (${target.kind}) failed: ${redactSecrets(errorMessage(err))}\n`));
    return this.runJob((job) => trackJob(catalog, { ...spec, schedule }, work, figuresOf, { ...job, onFinished }));
  }

  /** Closes volumes and the catalog; the first failure is thrown after all ran. */
  async close(): Promise<void> {
    let failure: unknown = null;
    for (const closer of this.closers.splice(0).reverse()) {
      try {
        await closer();
      } catch (err) {
        failure ??= err;
      }
    }
    this.catalogHandle?.close();
    this.catalogHandle = null;
    if (failure !== null) throw failure;
  }
}

/** Gives a command's action the run's context (built from the global options on first use). */
export type ContextFactory = (command: Command) => CliContext;

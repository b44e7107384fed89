// The real job launcher: runs a schedule's job as a child `arca` process
// (this Node binary with the package's bin/arca), so a job that crashes or
// leaks cannot take the scheduler down. The child gets the catalog's home in
// ARCA_HOME, the schedule's name in ARCA_SCHEDULE (it records its job under
// it), and the volume password the way the parent got it: ARCA_PASSWORD in
// its environment or the --password-file path. A password never goes on the
// command line.
//
// In the background (the scheduler) the child runs in its own process group,
// so a Ctrl-C meant for the scheduler does not hit it directly: the scheduler
// asks it to stop with SIGTERM and waits. In the foreground (`arca schedule
// run`) it shares the terminal: stdin, stdout and stderr are inherited.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArcaError, errorMessage } from '../errors.js';
import { redactSecrets } from '../common/redact.js';
import { commandArgs, type JobLauncher, type LaunchedJob, type LaunchOutcome, type LaunchRequest } from './launcher.js';

export interface ChildLauncherOptions {
  /** The catalog's home directory (absolute). */
  home: string;
  /** The environment to start from (ARCA_PASSWORD, PATH, PGPASSWORD … pass through). */
  env: Record<string, string | undefined>;
  /** Absolute path of the password file given to the parent, passed on as --password-file. */
  passwordFile?: string;
  /** Extra global options for the child (e.g. ['--json']). */
  globalArgs?: string[];
  cwd?: string;
  /** Share the terminal (stdin, stdout, stderr) with the child instead of capturing its stderr. */
  foreground?: boolean;
  /** The `arca` script to run; default: the package's bin/arca. */
  arcaBin?: string;
  /** The Node binary; default: this one. */
  nodePath?: string;
}

/** How much of a child's stderr is kept for the log. */
const TAIL_BYTES = 4096;

/** bin/arca of the package this module belongs to (from src/ or dist/src/). */
export function packageBin(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'arca') return join(dir, 'bin', 'arca');
    } catch {
      // not here; look one level up
    }
    dir = dirname(dir);
  }
  throw new ArcaError('INTERNAL', 'cannot find the arca package (bin/arca) to run scheduled jobs');
}

/** The child's environment: the parent's, with the home and schedule set. */
export function childEnv(options: ChildLauncherOptions, schedule: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(options.env)) if (value !== undefined) env[key] = value;
  env['ARCA_HOME'] = options.home;
  env['ARCA_SCHEDULE'] = schedule;
  return env;
}

/** The child's argv after the Node binary. */
export function childArgs(options: ChildLauncherOptions, request: LaunchRequest): string[] {
  return [
    options.arcaBin ?? packageBin(),
    ...(options.passwordFile !== undefined ? ['--password-file', options.passwordFile] : []),
    ...(options.globalArgs ?? []),
    ...commandArgs(request.schedule),
  ];
}

export class ChildLauncher implements JobLauncher {
  constructor(private readonly options: ChildLauncherOptions) {}

  launch(request: LaunchRequest): LaunchedJob {
    const foreground = this.options.foreground === true;
    const child = spawn(this.options.nodePath ?? process.execPath, childArgs(this.options, request), {
      env: childEnv(this.options, request.schedule.name),
      ...(this.options.cwd !== undefined ? { cwd: this.options.cwd } : {}),
      stdio: foreground ? 'inherit' : ['ignore', 'ignore', 'pipe'],
      detached: !foreground,
    });
    return watch(child);
  }
}

function watch(child: ChildProcess): LaunchedJob {
  let tail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    tail = (tail + text).slice(-TAIL_BYTES);
  });
  let ended = false;
  let stopped = false;
  const done = new Promise<LaunchOutcome>((resolve) => {
    const settle = (outcome: LaunchOutcome): void => {
      if (ended) return;
      ended = true;
      resolve(outcome);
    };
    child.on('error', (err) => {
      // Only a failed spawn ends up here with no pid; later errors (a failed kill) are not an end.
      if (child.pid === undefined) settle({ exitCode: null, signal: null, stderrTail: '', startError: errorMessage(err) });
    });
    child.on('close', (code, signal) => {
      settle({ exitCode: code, signal, stderrTail: redactSecrets(tail), startError: null, stopped });
    });
  });
  return {
    pid: child.pid ?? null,
    done,
    stop: () => {
      if (ended || child.exitCode !== null || child.signalCode !== null) return;
      stopped = true;
      child.kill('SIGTERM');
    },
  };
}

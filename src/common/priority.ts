// Low CPU and I/O priority for backups (`arca backup`, unless --no-nice).
// On Linux nice is per thread: setPriority(pid) changes only the main thread,
// so every thread already running (libuv's pool, V8's helpers) is reniced by
// its id from /proc/self/task; threads and worker threads started later, and
// child processes (pg_dump), inherit the nice value of the thread that starts
// them. I/O priority is not reachable from Node: child tools are started
// under `ionice -c3` (idle class) where ionice exists.
//
// The server (`arca serve`) must stay responsive while its jobs run in the
// same process, so it lowers only the jobs' threads: `lowerJobThreads()`
// makes the content workers started afterwards renice themselves
// (`lowerCurrentThread()`, by their id from /proc/thread-self) and child
// tools start under `nice -n 10` as well as `ionice -c3`; the main thread,
// which answers requests, keeps its priority.

import { readdirSync, readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { findOnPath } from './find-on-path.js';

export const LOW_PRIORITY_NICE = 10;

let lowered = false;
let jobThreadsLowered = false;
const toolPaths = new Map<string, string | null>();

/** Lowers this process's CPU priority to nice 10 (never raises it); best effort. */
export function lowerOwnPriority(): void {
  lowered = true;
  const renice = (id: number): void => {
    try {
      if (getPriority(id) < LOW_PRIORITY_NICE) setPriority(id, LOW_PRIORITY_NICE);
    } catch {
      // not allowed or the thread has gone: priority is a courtesy, not a requirement
    }
  };
  renice(process.pid);
  if (process.platform !== 'linux') return;
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return;
  }
  for (const tid of tids) if (/^\d+$/.test(tid) && Number(tid) !== process.pid) renice(Number(tid));
}

/** Whether lowerOwnPriority() was called in this process. */
export function isLowPriority(): boolean {
  return lowered;
}

/** From now on, job threads (content workers) and child tools run at nice 10; this thread keeps its priority. */
export function lowerJobThreads(): void {
  jobThreadsLowered = true;
}

/** The nice value a content worker should give itself, or null to inherit its creator's. */
export function jobThreadNice(): number | null {
  return jobThreadsLowered && !lowered ? LOW_PRIORITY_NICE : null;
}

/** Lowers the calling thread (a worker) to `nice` (never raises it); best effort, Linux only. */
export function lowerCurrentThread(nice: number = LOW_PRIORITY_NICE): void {
  if (process.platform !== 'linux') return;
  try {
    const tid = Number(/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'))?.[1]);
    if (Number.isInteger(tid) && tid > 0 && getPriority(tid) < nice) setPriority(tid, nice);
  } catch {
    // no /proc or not allowed: priority is a courtesy, not a requirement
  }
}

/** A tool's path on PATH, looked up once (Linux only: elsewhere none is used). */
function findTool(name: string): string | null {
  let found = toolPaths.get(name);
  if (found === undefined) {
    found = process.platform === 'linux' ? findOnPath(name) : null;
    toolPaths.set(name, found);
  }
  return found;
}

/**
 * The command line for a child tool: unchanged, or under `ionice -c3` when
 * this process runs at low priority (nice is inherited), or under
 * `nice -n 10 ionice -c3` for the server's jobs, where the tools exist. Only
 * argv is wrapped; the environment (where passwords live) is passed on as it is.
 */
export function lowPriorityCommand(command: string, args: readonly string[]): { command: string; args: string[] } {
  if (!lowered && !jobThreadsLowered) return { command, args: [...args] };
  let argv = [command, ...args];
  const ionice = findTool('ionice');
  if (ionice) argv = [ionice, '-c3', ...argv];
  const nice = lowered ? null : findTool('nice');
  if (nice) argv = [nice, '-n', String(LOW_PRIORITY_NICE), ...argv];
  return { command: argv[0]!, args: argv.slice(1) };
}

// Low CPU and I/O priority for backups (`arca backup`, unless --no-nice).
// On Linux nice is per thread: setPriority(pid) changes only the main thread,
// so every thread already running (libuv's pool, V8's helpers) is reniced by
// its id from /proc/self/task; threads and worker threads started later, and
// child processes (pg_dump), inherit the nice value of the thread that starts
// them. I/O priority is not reachable from Node: child tools are started
// under `ionice -c3` (idle class) where ionice exists.

import { readdirSync, statSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { delimiter, join } from 'node:path';

export const LOW_PRIORITY_NICE = 10;

let lowered = false;
let ionicePath: string | null | undefined;

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

function findIonice(): string | null {
  if (ionicePath !== undefined) return ionicePath;
  ionicePath = null;
  if (process.platform !== 'linux') return null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      const candidate = join(dir, 'ionice');
      if (statSync(candidate).isFile()) {
        ionicePath = candidate;
        break;
      }
    } catch {
      // not here
    }
  }
  return ionicePath;
}

/**
 * The command line for a child tool: unchanged, or under `ionice -c3` when
 * this process runs at low priority and ionice exists. Only argv is wrapped;
 * the environment (where passwords live) is passed on as it is.
 */
export function lowPriorityCommand(command: string, args: readonly string[]): { command: string; args: string[] } {
  const ionice = lowered ? findIonice() : null;
  return ionice ? { command: ionice, args: ['-c3', command, ...args] } : { command, args: [...args] };
}

// Measuring helpers for the benchmark: run a command and record its wall time
// and peak RSS (via `/usr/bin/time -v` when present, else by polling
// /proc/<pid>/status VmHWM), the stored size of a folder, and file hashes.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const GNU_TIME = '/usr/bin/time';

export interface Measured {
  /** The command as run (no secrets: those travel in the environment). */
  command: string;
  wallSeconds: number;
  /** Peak resident set size in bytes, or null when it could not be measured. */
  peakRssBytes: number | null;
  rssMethod: 'gnu-time' | 'proc-vmhwm' | 'none';
  stdout: string;
  stderr: string;
}

export class CommandFailed extends Error {
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`${command} failed (exit ${code}): ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
  }
}

function readVmHwmBytes(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] === undefined ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

/**
 * Runs `cmd args` with `env` added to this process's environment, waits for
 * it, and fails (CommandFailed) on a non-zero exit.
 */
export async function runMeasured(cmd: string, args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<Measured> {
  // ARCA_BENCH_RSS=proc forces the /proc fallback (for machines without GNU time, and to test it).
  const useGnuTime = existsSync(GNU_TIME) && process.env['ARCA_BENCH_RSS'] !== 'proc';
  const timeFile = path.join(tmpdir(), `arca-bench-time-${process.pid}-${Date.now()}.txt`);
  const [file, argv] = useGnuTime ? [GNU_TIME, ['-v', '-o', timeFile, cmd, ...args]] : [cmd, args];
  const command = [cmd, ...args].join(' ');
  const started = process.hrtime.bigint();
  const child = spawn(file, argv, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  let polled: number | null = null;
  const poll = useGnuTime
    ? undefined
    : setInterval(() => {
        const v = child.pid === undefined ? null : readVmHwmBytes(child.pid);
        if (v !== null) polled = Math.max(polled ?? 0, v);
      }, 50);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c));
  });
  if (poll !== undefined) clearInterval(poll);
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const stdout = Buffer.concat(out).toString('utf8');
  const stderr = Buffer.concat(err).toString('utf8');
  let peakRssBytes: number | null = polled;
  if (useGnuTime) {
    try {
      const report = readFileSync(timeFile, 'utf8');
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(report);
      peakRssBytes = m?.[1] === undefined ? null : Number(m[1]) * 1024;
    } catch {
      peakRssBytes = null;
    }
    rmSync(timeFile, { force: true });
  }
  if (code !== 0) throw new CommandFailed(command, code, stderr);
  return {
    command,
    wallSeconds,
    peakRssBytes,
    rssMethod: useGnuTime ? 'gnu-time' : peakRssBytes === null ? 'none' : 'proc-vmhwm',
    stdout,
    stderr,
  };
}

/** Apparent size of every regular file under `dir` (what is stored), in bytes. */
export function storedBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += storedBytes(p);
    else if (e.isFile()) total += lstatSync(p).size;
  }
  return total;
}

/** Hex SHA-256 of a file, streamed. */
export async function sha256File(p: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(p, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

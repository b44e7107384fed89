// Runs the real CLI (`node bin/arca`, built into dist/ by `npm run build`) for
// end-to-end tests. Every run gets its own ARCA_HOME and the volume password
// in ARCA_PASSWORD: secrets never go on a command line. Also: parsing of the
// `--json` shapes the CLI promises (issue 2) and checks for "one clear line
// on stderr, no stack trace".

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { serviceStateReport } from './service-state.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const ARCA_BIN = path.join(REPO_ROOT, 'bin', 'arca');
const BUILT_CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

/** The password every test volume is created with. */
export const TEST_PASSWORD = 'correct horse battery staple 7';

export interface ArcaOptions {
  /** ARCA_HOME for this run (where the catalog lives). */
  home: string;
  /**
   * Extra environment. A key set to `undefined` is removed; by default
   * ARCA_PASSWORD is TEST_PASSWORD (pass `ARCA_PASSWORD: undefined` to run
   * without one).
   */
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed (stdin is never a terminal). */
  input?: string;
  /** Kill the run (SIGKILL) after this long; default 5 minutes. */
  timeoutMs?: number;
  /** Options for node itself, before bin/arca (e.g. `--import` of module-trace.ts). */
  nodeArgs?: string[];
}

export interface ArcaResult {
  args: string[];
  /** Exit status, or null when ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SpawnedArca {
  child: ChildProcess;
  pid: number;
  /** Settles when the process has exited and its output is drained. */
  done: Promise<ArcaResult>;
}

/** Throws a clear message unless `npm run build` has produced the CLI. */
export function requireBuiltCli(): void {
  if (!existsSync(BUILT_CLI)) {
    throw new Error(`the CLI is not built (${path.relative(REPO_ROOT, BUILT_CLI)} missing): run \`npm run build\` first (\`npm test\` does)`);
  }
}

function childEnv(opts: ArcaOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // Hermetic: nothing of the developer's own Arca setup leaks in.
    if (!k.startsWith('ARCA_') && v !== undefined) env[k] = v;
  }
  env['ARCA_HOME'] = opts.home;
  env['ARCA_PASSWORD'] = TEST_PASSWORD;
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Starts `node bin/arca ...args` without waiting (for kill and concurrency tests). */
export function spawnArca(args: string[], opts: ArcaOptions): SpawnedArca {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ARCA_BIN, ...args], {
    cwd: REPO_ROOT,
    env: childEnv(opts),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${ARCA_BIN}`);
  const pid = child.pid;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  // A killed child closes stdin under us; that is not the test's concern.
  child.stdin.on('error', () => undefined);
  child.stdin.end(opts.input ?? '');
  // Under the integration tests' 5-minute limit, so a hung run is reported with
  // what the services were doing while it hung (its own session included).
  const timeoutMs = opts.timeoutMs ?? 4 * 60_000;
  const done = new Promise<ArcaResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      void serviceStateReport().then((report) => {
        err.push(Buffer.from(`\n[test harness] arca ran longer than ${timeoutMs / 1000} s and was killed; the services meanwhile:\n${report}\n`));
        child.kill('SIGKILL');
      });
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        args,
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
  return { child, pid, done };
}

/** Runs `node bin/arca ...args` to the end. */
export function runArca(args: string[], opts: ArcaOptions): Promise<ArcaResult> {
  return spawnArca(args, opts).done;
}

/** A one-paragraph account of a run, for assertion messages. */
export function describeRun(r: ArcaResult): string {
  const status = r.signal !== null ? `signal ${r.signal}` : `exit ${r.code}`;
  return `arca ${r.args.map((a) => JSON.stringify(a)).join(' ')} → ${status}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/** Runs and throws (with the whole output) unless the run exits 0. */
export async function arcaOk(args: string[], opts: ArcaOptions): Promise<ArcaResult> {
  const r = await runArca(args, opts);
  if (r.code !== 0) throw new Error(`expected success:\n${describeRun(r)}`);
  return r;
}

/** The backup id printed by `arca backup` (its last non-empty stdout line). */
export function backupIdFrom(r: ArcaResult): string {
  const lines = r.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const id = lines[lines.length - 1];
  if (id === undefined || !/^[0-9a-f]{32}$/.test(id)) {
    throw new Error(`expected a backup id (32 hex digits) as the last line of stdout:\n${describeRun(r)}`);
  }
  return id;
}

/** `arca backup NAME [...extra]`, expecting success; returns the id. */
export async function backup(name: string, opts: ArcaOptions, extra: string[] = []): Promise<string> {
  return backupIdFrom(await arcaOk(['backup', name, ...extra], opts));
}

/** A backup as `arca backups --json` prints it (issue 2). */
export interface BackupRecord {
  id: string;
  database: string;
  volume: string;
  level: number;
  parent: string | null;
  status: string;
  startedAt: string;
  finishedAt: string;
  expiresAt: string | null;
  bytesRead: number;
  bytesAdded: number;
}

const STRING_FIELDS = ['id', 'database', 'volume', 'status', 'startedAt', 'finishedAt'] as const;
const NUMBER_FIELDS = ['level', 'bytesRead', 'bytesAdded'] as const;
const NULLABLE_STRING_FIELDS = ['parent', 'expiresAt'] as const;

/** Checks one parsed value against the BackupRecord shape; throws on mismatch. */
export function toBackupRecord(value: unknown): BackupRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`a backup must be a JSON object, got ${JSON.stringify(value)}`);
  }
  const o = value as Record<string, unknown>;
  for (const f of STRING_FIELDS) {
    if (typeof o[f] !== 'string') throw new Error(`backup field ${f} must be a string in ${JSON.stringify(o)}`);
  }
  for (const f of NUMBER_FIELDS) {
    if (typeof o[f] !== 'number' || !Number.isFinite(o[f])) throw new Error(`backup field ${f} must be a number in ${JSON.stringify(o)}`);
  }
  for (const f of NULLABLE_STRING_FIELDS) {
    if (o[f] !== null && typeof o[f] !== 'string') throw new Error(`backup field ${f} must be a string or null in ${JSON.stringify(o)}`);
  }
  return o as unknown as BackupRecord;
}

/** `arca backups [NAME] --json`, expecting success and the documented shape. */
export async function listBackups(opts: ArcaOptions, name?: string): Promise<BackupRecord[]> {
  const r = await arcaOk(['backups', ...(name === undefined ? [] : [name]), '--json'], opts);
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.stdout);
  } catch {
    throw new Error(`\`backups --json\` printed no JSON:\n${describeRun(r)}`);
  }
  if (!Array.isArray(parsed)) throw new Error(`\`backups --json\` must print an array:\n${describeRun(r)}`);
  return parsed.map(toBackupRecord);
}

/** Finds one backup in a listing, failing clearly when it is not there. */
export function findBackup(list: BackupRecord[], id: string): BackupRecord {
  const b = list.find((x) => x.id === id);
  if (b === undefined) throw new Error(`backup ${id} is not listed; listed: ${list.map((x) => x.id).join(', ') || 'none'}`);
  return b;
}

/**
 * Asserts a failed run: its exit status is one of `codes`, stderr is exactly
 * one non-empty line, and nothing on it looks like a stack trace or a bug.
 */
export function expectCleanFailure(r: ArcaResult, codes: number[] = [1, 2]): void {
  const account = describeRun(r);
  expect(r.signal, account).toBeNull();
  expect(codes, account).toContain(r.code);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines.length, `stderr must be exactly one line\n${account}`).toBe(1);
  expect(r.stderr, `no stack trace without --debug\n${account}`).not.toMatch(/^\s+at\s/m);
  expect(r.stderr, `an internal error escaped\n${account}`).not.toMatch(
    /\b(TypeError|ReferenceError|RangeError|SyntaxError|AssertionError|Unhandled|undefined is not|Cannot read propert)/,
  );
}

// The benchmark's input: a `pg_dump -Fc -Z0` dump of the samples table made by
// ../shared/bench/samples.sh, before and after one "realistic" day of change.
// Both dumps are kept in .bench/samples-<rows>/ and reused by later runs with
// the same row count (making them takes minutes; the benchmark is about the
// backup tools, not about PostgreSQL).

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

export interface Dumps {
  rows: number;
  /** The dump of the freshly created table. */
  base: string;
  /** The dump after `samples.sh change realistic`. */
  changed: string;
  /** Whether both came from an earlier run. */
  reused: boolean;
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<void> {
  console.log(`  $ ${[cmd, ...args].join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}`))));
  });
}

async function dumpTo(file: string): Promise<void> {
  const database = process.env['PGDATABASE'] ?? 'bench';
  const temp = `${file}.partial`;
  rmSync(temp, { force: true });
  await run('pg_dump', ['-Fc', '-Z0', '-d', database, '-f', temp]);
  renameSync(temp, file);
}

/** Makes (or reuses) both dumps for `rows` rows under `benchDir`. */
export async function prepareDumps(samplesScript: string, benchDir: string, rows: number): Promise<Dumps> {
  const dir = path.join(benchDir, `samples-${rows}`);
  mkdirSync(dir, { recursive: true });
  const base = path.join(dir, 'base.dump');
  const changed = path.join(dir, 'changed.dump');
  if (existsSync(base) && existsSync(changed)) {
    console.log(`reusing the dumps in ${path.relative(process.cwd(), dir)} (delete them to make new ones)`);
    return { rows, base, changed, reused: true };
  }
  console.log(`making the samples table (${rows} rows) and its dumps; this takes a while once`);
  // The changed dump needs the table in its freshly created state, so both are made together.
  await run('bash', [samplesScript, 'create', String(rows)]);
  await dumpTo(base);
  await run('bash', [samplesScript, 'change', 'realistic']);
  await dumpTo(changed);
  console.log(`  base ${statSync(base).size} B, changed ${statSync(changed).size} B`);
  return { rows, base, changed, reused: false };
}

// The PostgreSQL part of `npm run bench`: Arca's PostgreSQL source against
// PostgreSQL's own tools and restic, on the samples database, in one run:
//   - backup speed: `pg_dump -Fc -Z0 > /dev/null` vs `arca backup` (real CLI,
//     fresh volume each time, --no-nice so both run at the same priority),
//     best of ARCA_BENCH_REPEAT rounds each, alternating;
//   - restore speed: `pg_restore -j 2` of a `pg_dump -Fc` file into a fresh
//     database vs `arca restore` into a fresh database (CHECKPOINT before each);
//   - dedup: after `samples.sh change realistic`, then `change scattered`, what
//     the next arca backup adds (vs the first backup's stored size), and what
//     restic adds backing up a `pg_dump -Fc -Z0` file of the same three states.
// The base table is made once per row count in database
// arca_bench_samples_<rows> and copied (CREATE DATABASE … TEMPLATE) for each run.
// Connection: the usual libpq variables (PGHOST default 127.0.0.1, PGPORT,
// PGUSER default postgres, PGPASSWORD); passwords never go on a command line.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { runMeasured, storedBytes, type Measured } from './measure.js';

const MB = 1e6;

export interface SourcesBenchOptions {
  root: string;
  runDir: string;
  rows: number;
  samplesScript: string;
  repeat: number;
}

function pgEnv(): Record<string, string> {
  return { PGHOST: process.env['PGHOST'] ?? '127.0.0.1', PGUSER: process.env['PGUSER'] ?? 'postgres' };
}

function pgUrl(db: string): string {
  const env = pgEnv();
  const port = process.env['PGPORT'] ?? '5432';
  return `postgres://${encodeURIComponent(env['PGUSER']!)}@${env['PGHOST']}:${port}/${db}`;
}

/** psql -c, in the `postgres` database unless `db`; returns stdout (tuples only). */
function psql(sql: string, db = 'postgres'): string {
  const r = spawnSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', sql], { env: { ...process.env, ...pgEnv() }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql ${sql.slice(0, 60)}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): void {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...pgEnv(), ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}

/** The samples table of `rows` rows, made once (samples.sh create) and reused while its marker comment is there. */
function baseDatabase(samplesScript: string, rows: number): string {
  const name = `arca_bench_samples_${rows}`;
  const marker = `arca bench base: samples.sh create ${rows}`;
  const comment = psql(`SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '${name}'`);
  if (comment === marker) return name;
  console.log(`  making ${name} (samples.sh create ${rows}); later runs reuse it`);
  psql(`DROP DATABASE IF EXISTS ${name}`);
  run('bash', [samplesScript, 'create', String(rows)], { PGDATABASE: name });
  psql(`VACUUM ANALYZE samples`, name);
  psql(`COMMENT ON DATABASE ${name} IS '${marker}'`);
  return name;
}

function freshCopy(base: string, name: string): void {
  psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  psql(`CREATE DATABASE ${name} TEMPLATE ${base}`);
}

const sh = (script: string): Promise<Measured> => runMeasured('sh', ['-c', script], { env: pgEnv() });
const secs = (s: number): string => `${s.toFixed(2)} s`;
const mb = (b: number): string => `${(b / MB).toFixed(1)} MB`;
const pct = (a: number, b: number): string => `${((100 * a) / b).toFixed(2)}%`;

export async function runSourcesBench(o: SourcesBenchOptions): Promise<Record<string, unknown>> {
  const base = baseDatabase(o.samplesScript, o.rows);
  const work = 'arca_bench_pg';
  freshCopy(base, work);
  psql('CHECKPOINT');
  const dir = path.join(o.runDir, 'postgres');
  mkdirSync(dir, { recursive: true });
  const arcaEnv = { ARCA_HOME: path.join(dir, 'arca-home'), ARCA_PASSWORD: randomBytes(16).toString('hex'), ...pgEnv() };
  const arca = (args: string[]): Promise<Measured> => runMeasured(process.execPath, [path.join(o.root, 'bin', 'arca'), ...args], { env: arcaEnv });
  const backupJson = async (args: string[]): Promise<{ m: Measured; id: string; bytesAdded: number }> => {
    const m = await arca(['--json', 'backup', ...args]);
    const b = JSON.parse(m.stdout) as { id: string; bytesAdded: number };
    return { m, id: b.id, bytesAdded: b.bytesAdded };
  };
  await arca(['db', 'add', 'pg', pgUrl(work)]);

  console.log(`\npostgres: backup of ${work} (${o.rows} rows), pg_dump -Fc -Z0 > /dev/null vs arca backup, ${o.repeat} round(s)`);
  const dumps: number[] = [];
  const backups: number[] = [];
  let first: { id: string; stored: number; volume: string } | undefined;
  for (let i = 0; i < o.repeat; i++) {
    const d = await sh(`pg_dump -Fc -Z0 -d ${work} > /dev/null`);
    const volume = path.join(dir, `volume-${i}`);
    await arca(['volume', 'add', `v${i}`, volume]);
    const b = await backupJson(['pg', '--volume', `v${i}`, '--no-nice']);
    dumps.push(d.wallSeconds);
    backups.push(b.m.wallSeconds);
    console.log(`  round ${i + 1}: pg_dump ${secs(d.wallSeconds)}, arca backup ${secs(b.m.wallSeconds)} (${(b.m.wallSeconds / d.wallSeconds).toFixed(2)}×)`);
    if (!first) first = { id: b.id, stored: storedBytes(volume), volume: `v${i}` };
    else rmSync(volume, { recursive: true, force: true });
  }
  const backupRatio = Math.min(...backups) / Math.min(...dumps);

  console.log(`postgres: restore, pg_restore -j 2 (of pg_dump -Fc) vs arca restore, into fresh databases`);
  const dumpFile = path.join(dir, 'samples.dump');
  run('pg_dump', ['-Fc', '-d', work, '-f', dumpFile]);
  const pgRestores: number[] = [];
  const arcaRestores: number[] = [];
  for (let i = 0; i < o.repeat; i++) {
    psql('DROP DATABASE IF EXISTS arca_bench_pgr WITH (FORCE)');
    psql('CREATE DATABASE arca_bench_pgr');
    psql('CHECKPOINT');
    const p = await sh(`pg_restore -j 2 -d arca_bench_pgr ${dumpFile}`);
    psql('DROP DATABASE arca_bench_pgr WITH (FORCE)');
    psql('DROP DATABASE IF EXISTS arca_bench_arcar WITH (FORCE)');
    psql('CHECKPOINT');
    const a = await arca(['restore', first!.id, '--to', pgUrl('arca_bench_arcar'), '--volume', first!.volume]);
    psql('DROP DATABASE arca_bench_arcar WITH (FORCE)');
    pgRestores.push(p.wallSeconds);
    arcaRestores.push(a.wallSeconds);
    console.log(`  round ${i + 1}: pg_restore -j 2 ${secs(p.wallSeconds)}, arca restore ${secs(a.wallSeconds)} (${(a.wallSeconds / p.wallSeconds).toFixed(2)}×)`);
  }
  rmSync(dumpFile, { force: true });
  const restoreRatio = Math.min(...arcaRestores) / Math.min(...pgRestores);

  console.log('postgres: dedup after samples.sh change realistic, then change scattered (arca vs restic of pg_dump -Fc -Z0)');
  const resticEnv = { RESTIC_REPOSITORY: path.join(dir, 'restic-repo'), RESTIC_PASSWORD: randomBytes(16).toString('hex'), RESTIC_CACHE_DIR: path.join(dir, 'restic-cache') };
  const restic = (args: string[]): Promise<Measured> => runMeasured('restic', args, { env: resticEnv });
  const plain = path.join(dir, 'plain');
  mkdirSync(plain, { recursive: true });
  const plainFile = path.join(plain, 'samples.dump');
  const resticState = async (): Promise<number> => {
    run('pg_dump', ['-Fc', '-Z0', '-d', work, '-f', plainFile]);
    const before = storedBytes(resticEnv.RESTIC_REPOSITORY);
    await restic(['backup', '--json', plain]);
    return storedBytes(resticEnv.RESTIC_REPOSITORY) - before;
  };
  await restic(['init']);
  const restic0 = await resticState();
  const states: Array<{ change: string; arcaAdded: number; resticAdded: number }> = [];
  for (const change of ['realistic', 'scattered']) {
    run('bash', [o.samplesScript, 'change', change], { PGDATABASE: work });
    const b = await backupJson(['pg', '--volume', first!.volume, '--no-nice']);
    const r = await resticState();
    states.push({ change, arcaAdded: b.bytesAdded, resticAdded: r });
    console.log(`  ${change}: arca added ${mb(b.bytesAdded)} (${pct(b.bytesAdded, first!.stored)}), restic added ${mb(r)} (${pct(r, restic0)})`);
  }
  psql(`DROP DATABASE IF EXISTS ${work} WITH (FORCE)`);

  const table: string[][] = [
    ['postgres', 'arca', 'reference', 'ratio'],
    ['backup (best of rounds)', secs(Math.min(...backups)), `pg_dump -Fc -Z0: ${secs(Math.min(...dumps))}`, `${backupRatio.toFixed(2)} (goal ≤ 1.25)`],
    ['restore (best of rounds)', secs(Math.min(...arcaRestores)), `pg_restore -j 2: ${secs(Math.min(...pgRestores))}`, `${restoreRatio.toFixed(2)} (goal ≤ 1.00)`],
    ['stored by the full backup', mb(first!.stored), `restic: ${mb(restic0)}`, (first!.stored / restic0).toFixed(2)],
    ...states.map((s) => [
      `added after change ${s.change}`,
      `${mb(s.arcaAdded)} = ${pct(s.arcaAdded, first!.stored)}`,
      `restic: ${mb(s.resticAdded)} = ${pct(s.resticAdded, restic0)}`,
      (s.arcaAdded / s.resticAdded).toFixed(3),
    ]),
  ];
  const widths = [0, 1, 2, 3].map((c) => Math.max(...table.map((r) => r[c]!.length)));
  console.log('');
  for (const r of table) console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
  const realistic = states.find((s) => s.change === 'realistic')!;
  return {
    rows: o.rows,
    rounds: o.repeat,
    backup: { pgDumpSeconds: dumps, arcaSeconds: backups, ratioBest: backupRatio },
    restore: { pgRestoreJ2Seconds: pgRestores, arcaSeconds: arcaRestores, ratioBest: restoreRatio },
    stored: { arcaFull: first!.stored, resticFull: restic0 },
    dedup: states.map((s) => ({ ...s, arcaShare: s.arcaAdded / first!.stored, resticShare: s.resticAdded / restic0 })),
    goals: {
      backupWithin125: backupRatio <= 1.25,
      restoreNoSlower: restoreRatio <= 1,
      realisticAddsAtMost1Percent: realistic.arcaAdded / first!.stored <= 0.01,
    },
  };
}

// `npm run bench`: Arca against restic on one ~1 GB PostgreSQL dump file, in
// the same run on the same machine. Backs the dump's folder up with each tool
// (as a files database for Arca), restores it and checks the bytes, then
// backs up the dump made after a realistic day of change. Prints wall time,
// stored size, peak RSS and the ratio arca/restic for each step, and writes
// the figures to .bench/results-<timestamp>.json.
//   ARCA_BENCH_ROWS   rows in the samples table (default 3000000, ~1.07 GB dump)
//   ARCA_BENCH_KEEP=1 keep the run's volumes, repositories and restores
//   ARCA_SHARED_DIR   where shared/ is (default: ../shared from the repository)
//   ARCA_BENCH_RSS=proc  measure peak RSS from /proc/<pid>/status VmHWM even where /usr/bin/time exists
//   ARCA_BENCH_ONLY   `files` (the dump file, above) or `postgres` (sources.ts: the PostgreSQL
//                     source against pg_dump, pg_restore -j 2 and restic); default both
//   ARCA_BENCH_REPEAT rounds of the PostgreSQL backup and restore timings (default 2; best of)
// Passwords go to both tools in the environment (ARCA_PASSWORD, RESTIC_PASSWORD).

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, statfsSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareDumps } from './dataset.js';
import { runSourcesBench } from './sources.js';
import { CommandFailed, runMeasured, sha256File, storedBytes, type Measured } from './measure.js';

const MB = 1e6;
const RSS_GOAL_BYTES = 300 * 1024 * 1024;

/** The checkout: the nearest folder above this module with Arca's package.json. */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'arca') return dir;
    } catch {
      // not here
    }
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the arca checkout above bench/run');
}

function versionOf(cmd: string, args: string[]): string | null {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split('\n')[0] ?? '' : null;
}

/** The summary line of `restic backup --json`. */
function resticSummary(stdout: string): { snapshotId: string; dataAdded: number } {
  for (const line of stdout.trim().split('\n').reverse()) {
    try {
      const o = JSON.parse(line) as { message_type?: string; snapshot_id?: string; data_added?: number };
      if (o.message_type === 'summary' && typeof o.snapshot_id === 'string' && typeof o.data_added === 'number') {
        return { snapshotId: o.snapshot_id, dataAdded: o.data_added };
      }
    } catch {
      // a status line cut short, or not JSON
    }
  }
  throw new Error(`restic backup printed no summary:\n${stdout.slice(-2000)}`);
}

interface StepFigures {
  wallSeconds: number;
  peakRssBytes: number | null;
}
const figures = (m: Measured): StepFigures => ({ wallSeconds: m.wallSeconds, peakRssBytes: m.peakRssBytes });

const fmtSeconds = (s: number): string => `${s.toFixed(2)} s`;
const fmtMB = (b: number | null): string => (b === null ? 'n/a' : `${(b / MB).toFixed(1)} MB`);
const ratio = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : a / b);
const fmtRatio = (r: number | null): string => (r === null ? 'n/a' : r.toFixed(2));

async function verifyRestore(file: string, want: string, tool: string): Promise<void> {
  if (!existsSync(file)) throw new Error(`${tool} restore: ${file} is missing`);
  const got = await sha256File(file);
  if (got !== want) throw new Error(`${tool} restored wrong bytes: sha256 ${got}, expected ${want}`);
  console.log(`  ${tool} restore verified: sha256 ${got.slice(0, 16)}…`);
}

async function main(): Promise<number> {
  const root = repoRoot();
  process.chdir(root);
  const rows = Number(process.env['ARCA_BENCH_ROWS'] ?? '3000000');
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`ARCA_BENCH_ROWS must be a positive integer`);

  const resticVersion = versionOf('restic', ['version']);
  if (resticVersion === null) {
    console.error('restic is not installed; the benchmark runs it beside Arca. Install it with:\n  apt-get install -y restic');
    return 1;
  }
  for (const tool of ['psql', 'pg_dump']) {
    if (versionOf(tool, ['--version']) === null) {
      console.error(`${tool} is not installed (apt-get install -y postgresql-client), and PostgreSQL must be running`);
      return 1;
    }
  }
  const shared = process.env['ARCA_SHARED_DIR'] ?? path.resolve(root, '..', 'shared');
  const samplesScript = path.join(shared, 'bench', 'samples.sh');
  if (!existsSync(samplesScript)) throw new Error(`${samplesScript} not found (set ARCA_SHARED_DIR to the shared/ folder)`);
  const arcaBin = path.join(root, 'bin', 'arca');
  if (!existsSync(path.join(root, 'dist', 'src', 'cli', 'main.js'))) throw new Error('Arca is not built: run `npm run build`');

  const benchDir = path.join(root, '.bench');
  mkdirSync(benchDir, { recursive: true });
  const free = statfsSync(benchDir);
  const freeBytes = free.bavail * free.bsize;
  if (freeBytes < 8e9) console.warn(`warning: only ${fmtMB(freeBytes)} free under ${benchDir}; a full run needs about 6 GB`);

  console.log(`arca benchmark: ${rows} rows; ${resticVersion}; node ${process.version}; ${cpus().length} CPUs`);
  const only = process.env['ARCA_BENCH_ONLY'];
  const repeat = Number(process.env['ARCA_BENCH_REPEAT'] ?? '2');
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error('ARCA_BENCH_REPEAT must be a positive integer');
  if (only === 'postgres') {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
    const runDir = path.join(benchDir, `run-${stamp}`);
    try {
      const postgres = await runSourcesBench({ root, runDir, rows, samplesScript, repeat });
      const out = path.join(benchDir, `results-${stamp}.json`);
      const machine = { cpus: cpus().length, node: process.version, restic: resticVersion };
      writeFileSync(out, `${JSON.stringify({ startedAt: new Date().toISOString(), rows, machine, postgres }, null, 2)}\n`);
      console.log(`\nwrote ${path.relative(root, out)}`);
      return 0;
    } finally {
      if (process.env['ARCA_BENCH_KEEP'] === '1') console.log(`kept ${runDir}`);
      else rmSync(runDir, { recursive: true, force: true });
    }
  }
  const dumps = await prepareDumps(samplesScript, benchDir, rows);
  const dumpBytes = statSync(dumps.base).size;
  const changedBytes = statSync(dumps.changed).size;
  // Hashing both also brings them into the page cache for both tools alike.
  const baseSha = await sha256File(dumps.base);
  const changedSha = await sha256File(dumps.changed);

  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const runDir = path.join(benchDir, `run-${stamp}`);
  const work = path.join(runDir, 'dump'); // the folder both tools back up
  mkdirSync(work, { recursive: true });
  const dumpFile = path.join(work, 'samples.dump');
  linkSync(dumps.base, dumpFile);

  const arcaEnv = { ARCA_HOME: path.join(runDir, 'arca-home'), ARCA_PASSWORD: randomBytes(16).toString('hex') };
  const resticEnv = {
    RESTIC_REPOSITORY: path.join(runDir, 'restic-repo'),
    RESTIC_PASSWORD: randomBytes(16).toString('hex'),
    RESTIC_CACHE_DIR: path.join(runDir, 'restic-cache'),
  };
  const arcaVolume = path.join(runDir, 'arca-volume');
  const arca = (args: string[]): Promise<Measured> => runMeasured(process.execPath, [arcaBin, ...args], { env: arcaEnv });
  const restic = (args: string[]): Promise<Measured> => runMeasured('restic', args, { env: resticEnv });
  const arcaAdded = async (id: string): Promise<number> => {
    const list = JSON.parse((await arca(['backups', 'samples', '--json'])).stdout) as { id: string; bytesAdded: number }[];
    const b = list.find((x) => x.id === id);
    if (b === undefined) throw new Error(`arca backups does not list ${id}`);
    return b.bytesAdded;
  };
  const lastLine = (s: string): string => s.trim().split('\n').pop()?.trim() ?? '';

  try {
    console.log(`\nround 1: ${fmtMB(dumpBytes)} dump`);
    const arcaInit = await arca(['volume', 'add', 'bench', arcaVolume]);
    await arca(['db', 'add', 'samples', work]);
    const arcaBackup1 = await arca(['backup', 'samples']);
    const arcaId1 = lastLine(arcaBackup1.stdout);
    const arcaAdded1 = await arcaAdded(arcaId1);
    const arcaStored1 = storedBytes(arcaVolume);
    console.log(`  arca backup: ${fmtSeconds(arcaBackup1.wallSeconds)}, stored ${fmtMB(arcaStored1)}`);
    const arcaRestoreDir = path.join(runDir, 'arca-restore');
    const arcaRestore = await arca(['restore', arcaId1, '--to', arcaRestoreDir]);
    await verifyRestore(path.join(arcaRestoreDir, 'samples.dump'), baseSha, 'arca');
    rmSync(arcaRestoreDir, { recursive: true, force: true });

    const resticInit = await restic(['init']);
    const resticBackup1 = await restic(['backup', '--json', work]);
    const r1 = resticSummary(resticBackup1.stdout);
    const resticStored1 = storedBytes(resticEnv.RESTIC_REPOSITORY);
    console.log(`  restic backup: ${fmtSeconds(resticBackup1.wallSeconds)}, stored ${fmtMB(resticStored1)}`);
    const resticRestoreDir = path.join(runDir, 'restic-restore');
    const resticRestore = await restic(['restore', r1.snapshotId, '--target', resticRestoreDir]);
    await verifyRestore(path.join(resticRestoreDir, dumpFile), baseSha, 'restic');
    rmSync(resticRestoreDir, { recursive: true, force: true });

    console.log(`\nround 2: after samples.sh change realistic (${fmtMB(changedBytes)} dump)`);
    unlinkSync(dumpFile);
    linkSync(dumps.changed, dumpFile);
    const arcaBackup2 = await arca(['backup', 'samples']);
    const arcaId2 = lastLine(arcaBackup2.stdout);
    const arcaAdded2 = await arcaAdded(arcaId2);
    const arcaStored2 = storedBytes(arcaVolume);
    const resticBackup2 = await restic(['backup', '--json', work]);
    const r2 = resticSummary(resticBackup2.stdout);
    const resticStored2 = storedBytes(resticEnv.RESTIC_REPOSITORY);
    // The second backup must restore right too, or its small "added" means nothing.
    const arcaRestore2Dir = path.join(runDir, 'arca-restore-2');
    await arca(['restore', arcaId2, '--to', arcaRestore2Dir]);
    await verifyRestore(path.join(arcaRestore2Dir, 'samples.dump'), changedSha, 'arca (round 2)');
    rmSync(arcaRestore2Dir, { recursive: true, force: true });

    type Row = [string, string, string, string];
    const row = (name: string, a: number | null, r: number | null, fmt: (x: number | null) => string): Row => [
      name,
      fmt(a),
      fmt(r),
      fmtRatio(ratio(a, r)),
    ];
    const secs = (x: number | null): string => (x === null ? 'n/a' : fmtSeconds(x));
    const rate = (m: Measured, bytes: number): number => bytes / m.wallSeconds;
    const mbps = (x: number | null): string => (x === null ? 'n/a' : `${(x / MB).toFixed(0)} MB/s`);
    const table: Row[] = [
      ['', 'arca', 'restic', 'arca/restic'],
      row('init', arcaInit.wallSeconds, resticInit.wallSeconds, secs),
      row('backup 1: wall time', arcaBackup1.wallSeconds, resticBackup1.wallSeconds, secs),
      row('backup 1: throughput', rate(arcaBackup1, dumpBytes), rate(resticBackup1, dumpBytes), mbps),
      row('backup 1: peak RSS', arcaBackup1.peakRssBytes, resticBackup1.peakRssBytes, fmtMB),
      row('stored after backup 1', arcaStored1, resticStored1, fmtMB),
      row('restore: wall time', arcaRestore.wallSeconds, resticRestore.wallSeconds, secs),
      row('restore: peak RSS', arcaRestore.peakRssBytes, resticRestore.peakRssBytes, fmtMB),
      row('backup 2: wall time', arcaBackup2.wallSeconds, resticBackup2.wallSeconds, secs),
      row('backup 2: peak RSS', arcaBackup2.peakRssBytes, resticBackup2.peakRssBytes, fmtMB),
      // What the second backup cost on disk. restic 0.14's own data_added counts
      // bytes before compression, so both are measured the same way: stored size.
      row('backup 2: added on disk', arcaStored2 - arcaStored1, resticStored2 - resticStored1, fmtMB),
      row('stored after backup 2', arcaStored2, resticStored2, fmtMB),
    ];
    const widths = [0, 1, 2, 3].map((c) => Math.max(...table.map((r) => r[c]?.length ?? 0)));
    console.log(`\n${rows} rows, dump ${fmtMB(dumpBytes)} (peak RSS by ${arcaBackup1.rssMethod})`);
    for (const r of table) console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  '));

    const arcaPeak = Math.max(...[arcaBackup1, arcaRestore, arcaBackup2].map((m) => m.peakRssBytes ?? 0));
    const goals = {
      backupNoSlower: arcaBackup1.wallSeconds <= resticBackup1.wallSeconds,
      storedNoLarger: arcaStored1 <= resticStored1,
      peakRssUnder300MiB: arcaPeak > 0 && arcaPeak < RSS_GOAL_BYTES,
    };
    console.log(
      `\ngoals: backup no slower than restic ${goals.backupNoSlower ? 'yes' : 'NO'}; ` +
        `stored no larger ${goals.storedNoLarger ? 'yes' : 'NO'}; ` +
        `arca peak RSS ${fmtMB(arcaPeak)} < 300 MiB ${goals.peakRssUnder300MiB ? 'yes' : 'NO'}`,
    );

    const postgres = only === 'files' ? undefined : await runSourcesBench({ root, runDir, rows, samplesScript, repeat });
    const results = {
      startedAt: new Date().toISOString(),
      rows,
      dump: { baseBytes: dumpBytes, changedBytes, reused: dumps.reused },
      machine: { cpus: cpus().length, node: process.version, restic: resticVersion, rssMethod: arcaBackup1.rssMethod },
      arca: {
        init: figures(arcaInit),
        // bytesAdded: as Arca reports it; stored: bytes in the volume afterwards.
        backup1: { ...figures(arcaBackup1), bytesAdded: arcaAdded1, stored: arcaStored1 },
        restore: figures(arcaRestore),
        backup2: { ...figures(arcaBackup2), bytesAdded: arcaAdded2, stored: arcaStored2 },
      },
      restic: {
        init: figures(resticInit),
        // dataAdded: restic's data_added (0.14: before compression); stored: bytes in the repository.
        backup1: { ...figures(resticBackup1), dataAdded: r1.dataAdded, stored: resticStored1 },
        restore: figures(resticRestore),
        backup2: { ...figures(resticBackup2), dataAdded: r2.dataAdded, stored: resticStored2 },
      },
      ratios: {
        backup1Wall: ratio(arcaBackup1.wallSeconds, resticBackup1.wallSeconds),
        backup1PeakRss: ratio(arcaBackup1.peakRssBytes, resticBackup1.peakRssBytes),
        stored1: ratio(arcaStored1, resticStored1),
        restoreWall: ratio(arcaRestore.wallSeconds, resticRestore.wallSeconds),
        restorePeakRss: ratio(arcaRestore.peakRssBytes, resticRestore.peakRssBytes),
        backup2Wall: ratio(arcaBackup2.wallSeconds, resticBackup2.wallSeconds),
        added2OnDisk: ratio(arcaStored2 - arcaStored1, resticStored2 - resticStored1),
        stored2: ratio(arcaStored2, resticStored2),
      },
      goals,
      ...(postgres ? { postgres } : {}),
    };
    const out = path.join(benchDir, `results-${stamp}.json`);
    writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nwrote ${path.relative(root, out)}`);
    return 0;
  } finally {
    if (process.env['ARCA_BENCH_KEEP'] === '1') console.log(`kept ${runDir}`);
    else rmSync(runDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof CommandFailed) console.error(`bench: ${err.message}`);
    else console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);

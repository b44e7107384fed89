// The S3 benchmark (`node dist/bench/s3.js`): backup and restore of one ~1 GB
// `pg_dump -Fc -Z0` file to a local S3 server (s3rver, as the tests use it),
// by Arca and by restic in the same run, both through a counting proxy:
// wall time, throughput, requests (and requests per GB of dump), bytes sent
// and stored, peak RSS, and the ratio arca/restic. Restores are checked byte
// for byte. Writes .bench/results-s3-<timestamp>.json.
//   ARCA_BENCH_ROWS   rows in the samples table (default 3000000, ~1.07 GB dump);
//                     the dump is made once from arca_bench_samples_<rows> and kept
//                     as .bench/s3-samples-<rows>.dump
//   ARCA_BENCH_KEEP=1 keep the run's folder
// Secrets (volume and repository passwords, S3 keys) travel in the environment only.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startS3Server, S3_TEST_CREDENTIALS, S3_TEST_REGION } from '../test/helpers/s3-server.js';
import { runMeasured, sha256File, type Measured } from './measure.js';
import { startCountingProxy, type RequestCounts } from './s3-counter.js';

const MB = 1e6;
const GB = 1e9;
const BUCKET = 'bench';

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

function sh(cmd: string, args: string[], env: Record<string, string> = {}): string {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
  return r.stdout.trim();
}

const pgEnv = { PGHOST: process.env['PGHOST'] ?? '127.0.0.1', PGUSER: process.env['PGUSER'] ?? 'postgres' };
const psql = (sql: string, db = 'postgres'): string => sh('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', sql], pgEnv);

/** The dump file for `rows` rows: cached, else dumped from arca_bench_samples_<rows> (made with samples.sh if missing). */
function prepareDump(root: string, benchDir: string, rows: number): string {
  const file = path.join(benchDir, `s3-samples-${rows}.dump`);
  if (existsSync(file)) {
    console.log(`reusing ${path.relative(root, file)}`);
    return file;
  }
  const db = `arca_bench_samples_${rows}`;
  if (psql(`SELECT count(*) FROM pg_database WHERE datname = '${db}'`) === '0') {
    const script = path.join(process.env['ARCA_SHARED_DIR'] ?? path.resolve(root, '..', 'shared'), 'bench', 'samples.sh');
    console.log(`making ${db} with ${script} create ${rows} (once)`);
    sh('bash', [script, 'create', String(rows)], { ...pgEnv, PGDATABASE: db });
    psql(`COMMENT ON DATABASE ${db} IS 'arca bench base: samples.sh create ${rows}'`);
  }
  console.log(`dumping ${db} (pg_dump -Fc -Z0) to ${path.relative(root, file)}`);
  sh('pg_dump', ['-Fc', '-Z0', '-d', db, '-f', `${file}.partial`], pgEnv);
  renameSync(`${file}.partial`, file);
  return file;
}

/** Bytes of the objects s3rver stores under `bucket/prefix` (its object files, not its sidecars). */
function storedUnder(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += storedUnder(p);
    else if (e.name.endsWith('._S3rver_object')) total += statSync(p).size;
  }
  return total;
}

interface Step {
  wallSeconds: number;
  throughputMBps: number;
  peakRssBytes: number | null;
  requests: RequestCounts;
  requestsPerGB: number;
}

async function main(): Promise<number> {
  const root = repoRoot();
  process.chdir(root);
  const rows = Number(process.env['ARCA_BENCH_ROWS'] ?? '3000000');
  if (!Number.isInteger(rows) || rows < 1) throw new Error('ARCA_BENCH_ROWS must be a positive integer');
  const resticVersion = spawnSync('restic', ['version'], { encoding: 'utf8' }).stdout?.trim() ?? '';
  if (!resticVersion) throw new Error('restic is not installed (apt-get install -y restic)');
  if (!existsSync(path.join(root, 'dist', 'src', 'cli', 'main.js'))) throw new Error('Arca is not built: run `npm run build`');
  const benchDir = path.join(root, '.bench');
  mkdirSync(benchDir, { recursive: true });
  const dump = prepareDump(root, benchDir, rows);
  const dumpBytes = statSync(dump).size;
  const sha = await sha256File(dump); // also brings the file into the page cache for both tools alike

  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const runDir = path.join(benchDir, `run-s3-${stamp}`);
  const work = path.join(runDir, 'dump');
  mkdirSync(work, { recursive: true });
  linkSync(dump, path.join(work, 'samples.dump'));
  const server = await startS3Server([BUCKET]);
  const proxy = await startCountingProxy(server.endpoint);
  console.log(`s3 benchmark: ${(dumpBytes / MB).toFixed(1)} MB dump; ${resticVersion}; node ${process.version}; ${cpus().length} CPUs; s3rver at ${server.endpoint}`);

  const aws = { AWS_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey, AWS_REGION: S3_TEST_REGION };
  const arcaEnv = { ...aws, AWS_ENDPOINT_URL: proxy.endpoint, ARCA_HOME: path.join(runDir, 'arca-home'), ARCA_PASSWORD: randomBytes(16).toString('hex') };
  const resticEnv = { ...aws, RESTIC_PASSWORD: randomBytes(16).toString('hex'), RESTIC_CACHE_DIR: path.join(runDir, 'restic-cache'), RESTIC_REPOSITORY: `s3:${proxy.endpoint}/${BUCKET}/restic` };
  const arca = (args: string[]) => runMeasured(process.execPath, [path.join(root, 'bin', 'arca'), ...args], { env: arcaEnv });
  const restic = (args: string[]) => runMeasured('restic', args, { env: resticEnv });
  const step = async (run: () => Promise<Measured>): Promise<Step & { m: Measured }> => {
    proxy.reset();
    const m = await run();
    const requests = proxy.counts();
    return { m, wallSeconds: m.wallSeconds, throughputMBps: dumpBytes / MB / m.wallSeconds, peakRssBytes: m.peakRssBytes, requests, requestsPerGB: requests.total / (dumpBytes / GB) };
  };
  const verify = async (file: string, tool: string) => {
    if ((await sha256File(file)) !== sha) throw new Error(`${tool} restored other bytes than it backed up`);
    console.log(`  ${tool} restore verified`);
  };

  try {
    await arca(['volume', 'add', 's3', `s3://${BUCKET}/arca`]);
    await arca(['db', 'add', 'samples', work, '--no-schedule']);
    const arcaBackup = await step(() => arca(['backup', 'samples']));
    const arcaId = arcaBackup.m.stdout.trim().split('\n').pop()!.trim();
    console.log(`  arca backup: ${arcaBackup.wallSeconds.toFixed(2)} s, ${arcaBackup.requests.total} requests`);
    const arcaOut = path.join(runDir, 'arca-restore');
    const arcaRestore = await step(() => arca(['restore', arcaId, '--to', arcaOut]));
    await verify(path.join(arcaOut, 'samples.dump'), 'arca');
    rmSync(arcaOut, { recursive: true, force: true });
    const arcaStored = storedUnder(path.join(server.directory, BUCKET, 'arca'));

    await restic(['init']);
    const resticBackup = await step(() => restic(['backup', '--json', work]));
    console.log(`  restic backup: ${resticBackup.wallSeconds.toFixed(2)} s, ${resticBackup.requests.total} requests`);
    const resticOut = path.join(runDir, 'restic-restore');
    const resticRestore = await step(() => restic(['restore', 'latest', '--target', resticOut]));
    await verify(path.join(resticOut, work, 'samples.dump'), 'restic');
    rmSync(resticOut, { recursive: true, force: true });
    const resticStored = storedUnder(path.join(server.directory, BUCKET, 'restic'));

    const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : a / b);
    const rowsOut: Array<[string, number | null, number | null, (x: number) => string]> = [
      ['backup: wall time', arcaBackup.wallSeconds, resticBackup.wallSeconds, (x) => `${x.toFixed(2)} s`],
      ['backup: throughput', arcaBackup.throughputMBps, resticBackup.throughputMBps, (x) => `${x.toFixed(0)} MB/s`],
      ['backup: requests', arcaBackup.requests.total, resticBackup.requests.total, (x) => `${x}`],
      ['backup: requests per GB', arcaBackup.requestsPerGB, resticBackup.requestsPerGB, (x) => x.toFixed(0)],
      ['backup: bytes sent', arcaBackup.requests.bytesUp, resticBackup.requests.bytesUp, (x) => `${(x / MB).toFixed(1)} MB`],
      ['backup: peak RSS', arcaBackup.peakRssBytes, resticBackup.peakRssBytes, (x) => `${(x / MB).toFixed(0)} MB`],
      ['stored', arcaStored, resticStored, (x) => `${(x / MB).toFixed(1)} MB`],
      ['restore: wall time', arcaRestore.wallSeconds, resticRestore.wallSeconds, (x) => `${x.toFixed(2)} s`],
      ['restore: throughput', arcaRestore.throughputMBps, resticRestore.throughputMBps, (x) => `${x.toFixed(0)} MB/s`],
      ['restore: requests', arcaRestore.requests.total, resticRestore.requests.total, (x) => `${x}`],
      ['restore: requests per GB', arcaRestore.requestsPerGB, resticRestore.requestsPerGB, (x) => x.toFixed(0)],
      ['restore: peak RSS', arcaRestore.peakRssBytes, resticRestore.peakRssBytes, (x) => `${(x / MB).toFixed(0)} MB`],
    ];
    const table = [['', 'arca', 'restic', 'arca/restic'], ...rowsOut.map(([name, a, r, f]) => [name, a === null ? 'n/a' : f(a), r === null ? 'n/a' : f(r), ratio(a, r)?.toFixed(2) ?? 'n/a'])];
    const widths = [0, 1, 2, 3].map((c) => Math.max(...table.map((r) => r[c]!.length)));
    console.log(`\n${(dumpBytes / MB).toFixed(1)} MB dump to a local S3 server (s3rver), through a counting proxy`);
    for (const r of table) console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
    const strip = ({ m: _m, ...rest }: Step & { m: Measured }) => rest;
    const results = {
      startedAt: new Date().toISOString(),
      rows,
      dumpBytes,
      machine: { cpus: cpus().length, node: process.version, restic: resticVersion, rssMethod: arcaBackup.m.rssMethod },
      arca: { backup: strip(arcaBackup), restore: strip(arcaRestore), stored: arcaStored },
      restic: { backup: strip(resticBackup), restore: strip(resticRestore), stored: resticStored },
      ratios: Object.fromEntries(rowsOut.map(([name, a, r]) => [name, ratio(a, r)])),
    };
    const out = path.join(benchDir, `results-s3-${stamp}.json`);
    writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nwrote ${path.relative(root, out)}`);
    return 0;
  } finally {
    await proxy.close();
    await server.stop();
    if (process.env['ARCA_BENCH_KEEP'] === '1') console.log(`kept ${runDir}`);
    else rmSync(runDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);

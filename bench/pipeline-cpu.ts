// Client CPU of a full PostgreSQL backup (decision 0006): runs `arca backup`
// (the real CLI, --no-nice, fresh volume each round) of the samples database
// and `pg_dump -Fc -Z0 > /dev/null` under /usr/bin/time -v, and prints wall
// time, user+sys CPU, CPU seconds per GB of COPY data and peak RSS for each,
// so a change to the write pipeline is judged by CPU spent, not only by wall
// time on a machine shared with other work.
//   node dist/bench/pipeline-cpu.js [--db NAME] [--rounds N] [--only arca|pg_dump] [--prof DIR] [--keep] [--build DIR]
// --build DIR runs the CLI of another build (DIR/src/cli/main.js, e.g. one made with
// `npx tsc -p tsconfig.build.json --outDir .bench/builds/x`) to compare versions.
// --prof DIR runs arca under `node --cpu-prof --cpu-prof-dir DIR` (profiles of the
// main thread and each blob worker). Connection: PGHOST (default 127.0.0.1), PGUSER
// (default postgres), PGPORT; the database must exist (bench/sources.ts makes it).

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface Timed {
  wall: number;
  user: number;
  sys: number;
  rssMB: number;
  /** Context switches: voluntary (waits) and involuntary (preempted). */
  switches: { voluntary: number; involuntary: number };
  stdout: string;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

/** Runs `cmd` under /usr/bin/time -v (through sh when `shell`), returning its times and peak RSS. */
function timed(cmd: string[], env: Record<string, string>): Promise<Timed> {
  const timeFile = path.join(tmpdir(), `arca-cpu-${process.pid}-${Date.now()}.txt`);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-v', '-o', timeFile, ...cmd], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - started) / 1e9;
      const report = readFileSync(timeFile, 'utf8');
      rmSync(timeFile, { force: true });
      if (code !== 0) return reject(new Error(`${cmd.join(' ')} exited with ${code}`));
      const num = (re: RegExp): number => Number(re.exec(report)?.[1] ?? NaN);
      resolve({
        wall,
        user: num(/User time \(seconds\): ([\d.]+)/),
        sys: num(/System time \(seconds\): ([\d.]+)/),
        rssMB: num(/Maximum resident set size \(kbytes\): (\d+)/) / 1024,
        switches: { voluntary: num(/Voluntary context switches: (\d+)/), involuntary: num(/Involuntary context switches: (\d+)/) },
        stdout: Buffer.concat(out).toString('utf8'),
      });
    });
  });
}

function line(what: string, t: Timed, gb: number): string {
  const cpu = t.user + t.sys;
  return `${what.padEnd(8)} wall ${t.wall.toFixed(2)} s, user ${t.user.toFixed(2)} s + sys ${t.sys.toFixed(2)} s = ${cpu.toFixed(2)} s (${(cpu / gb).toFixed(2)} s/GB), peak RSS ${t.rssMB.toFixed(0)} MB, context switches ${t.switches.voluntary} + ${t.switches.involuntary} preempted`;
}

async function main(): Promise<void> {
  const db = arg('--db', 'arca_bench_samples_3000000');
  const rounds = Number(arg('--rounds', '1'));
  const only = arg('--only', '');
  const prof = arg('--prof', '');
  const pgEnv = { PGHOST: process.env['PGHOST'] ?? '127.0.0.1', PGUSER: process.env['PGUSER'] ?? 'postgres' };
  const port = process.env['PGPORT'] ?? '5432';
  const home = mkdtempSync(path.join(tmpdir(), 'arca-cpu-'));
  const env = { ...pgEnv, ARCA_HOME: path.join(home, 'home'), ARCA_PASSWORD: randomBytes(16).toString('hex') };
  const build = arg('--build', '');
  const arca = build ? path.resolve(build, 'src', 'cli', 'main.js') : path.join(root, 'bin', 'arca');
  const node = prof ? [process.execPath, '--cpu-prof', '--cpu-prof-dir', path.resolve(prof)] : [process.execPath];
  try {
    await timed([process.execPath, arca, 'db', 'add', 'pg', `postgres://${pgEnv.PGUSER}@${pgEnv.PGHOST}:${port}/${db}`], env);
    for (let i = 0; i < rounds; i++) {
      if (only !== 'arca') {
        const d = await timed(['sh', '-c', `pg_dump -Fc -Z0 -d ${db} > /dev/null`], env);
        console.log(line('pg_dump', d, 1));
      }
      if (only !== 'pg_dump') {
        const volume = path.join(home, `volume-${i}`);
        await timed([process.execPath, arca, 'volume', 'add', `v${i}`, volume], env);
        const b = await timed([...node, arca, '--json', 'backup', 'pg', '--volume', `v${i}`, '--no-nice'], env);
        const r = JSON.parse(b.stdout) as { bytesRead: number; bytesAdded: number };
        const gb = r.bytesRead / 1e9;
        console.log(`${line('arca', b, gb)}; read ${(r.bytesRead / 1e6).toFixed(1)} MB, added ${(r.bytesAdded / 1e6).toFixed(1)} MB`);
        if (process.argv.includes('--keep')) console.log(`  kept ${volume}`);
        else rmSync(volume, { recursive: true, force: true });
      }
    }
  } finally {
    if (!process.argv.includes('--keep')) rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

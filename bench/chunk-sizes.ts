// The measurement behind the chunker's default sizes
// (docs/decisions/0002-chunk-sizes.md): for each candidate parameter set, how
// many chunks a PostgreSQL dump makes (index memory, per-blob overhead) and how
// many new bytes a second dump after a day of change adds (dedup), for a dump in
// primary-key order (COPY … ORDER BY id) and a physical-order one (pg_dump -Fc -Z0).
//
//   node dist/bench/chunk-sizes.js --samples /work/shared/bench/samples.sh [--rows 1000000]
//   node dist/bench/chunk-sizes.js --data DIR     (reuse dumps made earlier with --keep)
//
// Without --data it builds the `samples` table in a scratch database
// (PGHOST/PGUSER from the environment, default 127.0.0.1/postgres), dumps it,
// applies `change realistic`, dumps again; rebuilds it (the generator is seeded,
// so day 0 is byte-identical), applies `change scattered`, dumps again; then
// drops the database and, unless --keep, deletes the dumps.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { compress } from 'zstd-napi';
import { Chunker, type ChunkerParams } from '../src/content/chunker.js';
import { gearTable } from '../src/content/gear.js';

const KiB = 1024;
const MB = 1e6;
/** Memory per chunk in the in-memory index (format §7). */
const INDEX_BYTES_PER_CHUNK = 60;
/** Bytes a blob costs on the volume besides its payload: codec byte 1, nonce 12,
 * tag 16 (§5, §2), pack footer entry 45 (§6), index entry 49 (§7). */
const BLOB_OVERHEAD = 1 + 12 + 16 + 45 + 49;
const ZSTD_LEVEL = 3;
const FEED = 1 << 20; // the chunker is fed 1 MiB buffers, like a stream read

type Kind = 'copy' | 'pgdump';
type Change = 'realistic' | 'scattered';
const KINDS: Kind[] = ['copy', 'pgdump'];
const CHANGES: Change[] = ['realistic', 'scattered'];

/** "min/avg/max/normalization" with sizes in KiB, e.g. "16/64/256/2". */
function parseCandidate(spec: string): ChunkerParams {
  const [min, avg, max, nl] = spec.split('/').map(Number);
  if (min === undefined || avg === undefined || max === undefined || nl === undefined) throw new Error(`bad candidate ${spec}`);
  return { algorithm: 'fastcdc-gear32-v1', min: min * KiB, avg: avg * KiB, max: max * KiB, normalization: nl };
}

const DEFAULT_CANDIDATES = [
  '1/4/16/2',
  '2/8/32/2',
  '4/16/64/2',
  '8/32/128/2',
  '16/64/256/2',
  '32/128/512/2',
  '64/256/1024/2',
  '256/1024/4096/2', // restic's average, for reference
  // Variants around the likely choices: normalization level, a lower min.
  '4/16/64/1',
  '4/16/64/3',
  '2/16/64/2',
  '8/32/128/1',
  '8/32/128/3',
  '4/32/128/2',
].join(',');

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): void {
  const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
}

function prepare(dir: string, samples: string, rows: number): void {
  const db = 'arca_chunkbench';
  const env = { ...process.env, PGHOST: process.env.PGHOST ?? '127.0.0.1', PGUSER: process.env.PGUSER ?? 'postgres', PGDATABASE: db };
  const dump = (name: string): void => {
    run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `\\copy (select * from samples order by id) to '${join(dir, `${name}.copy`)}'`], env);
    run('pg_dump', ['-Fc', '-Z0', '-t', 'samples', '-f', join(dir, `${name}.pgdump`)], env);
  };
  try {
    run('bash', [samples, 'create', String(rows)], env);
    dump('day0');
    run('bash', [samples, 'change', 'realistic'], env);
    dump('day1-realistic');
    run('bash', [samples, 'create', String(rows)], env);
    run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `\\copy (select * from samples order by id) to '${join(dir, 'check.copy')}'`], env);
    if (sha(readFileSync(join(dir, 'check.copy'))) !== sha(readFileSync(join(dir, 'day0.copy')))) {
      throw new Error('the rebuilt table differs from day 0');
    }
    rmSync(join(dir, 'check.copy'));
    run('bash', [samples, 'change', 'scattered'], env);
    dump('day1-scattered');
  } finally {
    spawnSync('dropdb', ['--if-exists', db], { env, stdio: 'inherit' });
  }
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('base64');

/** Chunk lengths of `data`, fed in 1 MiB buffers, and the seconds the chunker took. */
function chunkLengths(data: Buffer, params: ChunkerParams, gear: Uint32Array): { lengths: number[]; seconds: number } {
  const chunker = new Chunker(params, gear);
  const lengths: number[] = [];
  let last = 0;
  const t0 = process.hrtime.bigint();
  for (let off = 0; off < data.length; off += FEED) {
    for (const cut of chunker.feed(data.subarray(off, off + FEED))) {
      lengths.push(off + cut - last);
      last = off + cut;
    }
  }
  const rest = chunker.finish();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (rest > 0) lengths.push(rest);
  return { lengths, seconds };
}

/** Payload size as the writer stores it (§5): zstd when it saves ≥ 1/32, else raw. */
function storedSize(chunk: Uint8Array): number {
  if (chunk.length < 64) return chunk.length;
  const z = compress(chunk, { compressionLevel: ZSTD_LEVEL }).length;
  return z <= chunk.length - (chunk.length >> 5) ? z : chunk.length;
}

interface Day1Result {
  chunks: number;
  newChunks: number;
  newRaw: number;
  newStored: number;
}

interface Row {
  kind: Kind;
  params: ChunkerParams;
  bytes: number;
  chunks: number;
  uniqueChunks: number;
  stored: number; // day 0: sum of stored payloads of unique chunks
  mbPerSecond: number;
  day1: Record<Change, Day1Result>;
}

function measure(kind: Kind, params: ChunkerParams, files: Record<'day0' | Change, Buffer>, gear: Uint32Array): Row {
  const day0 = files.day0;
  const { lengths, seconds } = chunkLengths(day0, params, gear);
  const known = new Set<string>();
  let stored = 0;
  let off = 0;
  for (const len of lengths) {
    const c = day0.subarray(off, off + len);
    off += len;
    const id = sha(c);
    if (known.has(id)) continue;
    known.add(id);
    stored += storedSize(c);
  }
  const day1 = {} as Record<Change, Day1Result>;
  for (const change of CHANGES) {
    const data = files[change];
    const r = chunkLengths(data, params, gear);
    const seen = new Set<string>();
    const res: Day1Result = { chunks: r.lengths.length, newChunks: 0, newRaw: 0, newStored: 0 };
    let o = 0;
    for (const len of r.lengths) {
      const c = data.subarray(o, o + len);
      o += len;
      const id = sha(c);
      if (known.has(id) || seen.has(id)) continue;
      seen.add(id);
      res.newChunks++;
      res.newRaw += len;
      res.newStored += storedSize(c);
    }
    day1[change] = res;
  }
  return {
    kind,
    params,
    bytes: day0.length,
    chunks: lengths.length,
    uniqueChunks: known.size,
    stored,
    mbPerSecond: day0.length / MB / seconds,
    day1,
  };
}

const fmtSize = (n: number): string => (n >= 1 << 20 ? `${n / (1 << 20)}M` : `${n / KiB}K`);
const pct = (a: number, b: number): string => `${((100 * a) / b).toFixed(1)}%`;
const mb = (n: number): string => (n / MB).toFixed(1);

/**
 * What a second backup adds on the volume: the new blobs' stored payloads, their
 * per-blob overhead, and the stream's list of chunk ids in its tree (32 bytes a
 * chunk; counted whole, since a shift near the start regroups every 4096-id list).
 */
const added = (d: Day1Result): number => d.newStored + d.newChunks * BLOB_OVERHEAD + d.chunks * 32;

function table(rows: Row[], wholeZstd: number): string {
  const out = [
    `whole dump as one zstd -${ZSTD_LEVEL} frame, for reference: ${mb(wholeZstd)} MB`,
    '',
    '| min/avg/max, nl | chunks | mean | index RAM MB/GB | day 0 stored MB | realistic: new raw MB | realistic: added MB (% of day 0) | scattered: new raw MB | scattered: added MB (% of day 0) | id list/backup MB | chunker MB/s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const p = r.params;
    const perGB = (r.chunks * 1e9) / r.bytes;
    const base = r.stored + r.uniqueChunks * BLOB_OVERHEAD;
    const { realistic, scattered } = r.day1;
    const cells = [
      `${fmtSize(p.min)}/${fmtSize(p.avg)}/${fmtSize(p.max)}, ${p.normalization}`,
      r.chunks,
      `${(r.bytes / r.chunks / KiB).toFixed(1)}K`,
      ((perGB * INDEX_BYTES_PER_CHUNK) / MB).toFixed(1),
      mb(base),
      mb(realistic.newRaw),
      `${mb(added(realistic))} (${pct(added(realistic), base)})`,
      mb(scattered.newRaw),
      `${mb(added(scattered))} (${pct(added(scattered), base)})`,
      mb(realistic.chunks * 32),
      r.mbPerSecond.toFixed(0),
    ];
    out.push(`| ${cells.join(' | ')} |`);
  }
  out.push(
    '',
    `day 0 stored = each distinct chunk zstd -${ZSTD_LEVEL} (kept only when it saves ≥ 1/32) + ${BLOB_OVERHEAD} B per blob ` +
      '(codec 1, nonce 12, tag 16, pack footer entry 45, index entry 49). added = new chunks stored the same way + the ' +
      'id list (32 B per chunk of the second dump). index RAM: 60 B per chunk.',
  );
  return out.join('\n');
}

const TITLES: Record<Kind, string> = {
  copy: 'COPY (SELECT … ORDER BY id): primary-key order',
  pgdump: 'pg_dump -Fc -Z0 -t samples: physical order',
};

interface Saved {
  rows: Row[];
  wholeZstd: Record<Kind, number>;
}

function report(saved: Saved): string {
  const out: string[] = [];
  for (const kind of KINDS) {
    const rows = saved.rows.filter((r) => r.kind === kind);
    if (rows.length === 0) continue;
    out.push(`### ${TITLES[kind]}, day 0 = ${mb(rows[0]!.bytes)} MB`, '', table(rows, saved.wholeZstd[kind]), '');
  }
  return out.join('\n');
}

function main(): void {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      samples: { type: 'string' },
      rows: { type: 'string', default: '1000000' },
      candidates: { type: 'string', default: DEFAULT_CANDIDATES },
      keep: { type: 'boolean', default: false },
      json: { type: 'string' },
      report: { type: 'string' },
    },
  });
  if (values.report !== undefined) {
    // Render the tables again from a --json file, without measuring.
    console.log(report(JSON.parse(readFileSync(values.report, 'utf8')) as Saved));
    return;
  }
  const candidates = values.candidates.split(',').map(parseCandidate);
  let dir = values.data;
  const scratch = dir === undefined;
  if (dir === undefined) {
    if (values.samples === undefined) throw new Error('give --data DIR or --samples PATH/TO/samples.sh');
    dir = mkdtempSync(join(tmpdir(), 'arca-chunkbench-'));
    console.error(`preparing dumps in ${dir} (${values.rows} rows)`);
    prepare(dir, values.samples, Number(values.rows));
  }
  // A fixed gear key, so the run can be repeated; other keys move single cuts, not the totals.
  const gear = gearTable(createHash('sha256').update('arca chunk-sizes bench').digest());
  const saved: Saved = { rows: [], wholeZstd: { copy: 0, pgdump: 0 } };
  try {
    for (const kind of KINDS) {
      const read = (name: string): Buffer => readFileSync(join(dir, `${name}.${kind}`));
      const files = { day0: read('day0'), realistic: read('day1-realistic'), scattered: read('day1-scattered') };
      saved.wholeZstd[kind] = compress(files.day0, { compressionLevel: ZSTD_LEVEL }).length;
      for (const params of candidates) {
        const row = measure(kind, params, files, gear);
        saved.rows.push(row);
        console.error(`${kind} ${params.min}/${params.avg}/${params.max}/${params.normalization}: ${row.chunks} chunks, ${row.mbPerSecond.toFixed(0)} MB/s`);
      }
    }
  } finally {
    if (scratch && !values.keep) rmSync(dir, { recursive: true, force: true });
    else if (scratch) console.error(`dumps kept in ${dir}`);
  }
  console.log(report(saved));
  if (values.json !== undefined) writeFileSync(values.json, JSON.stringify(saved, null, 2));
}

main();

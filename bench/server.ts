// The server benchmark (issue 5): 50 concurrent keep-alive connections on
// the read endpoints (databases, backups, progress, jobs, volumes, one job)
// over HTTPS with a Bearer token, first idle, then while a backup of a
// folder of incompressible files runs in the same server process. Prints
// requests, errors and p50/p90/p99/max latency per phase (goal: no errors,
// p99 under 100 ms while the backup runs) and writes them to
// .bench/server-<timestamp>.json. The load comes from a child process (the
// same script with --client), so the client does not share the server's
// event loop.
//
//   npm run build && node dist/bench/server.js [--mb 512] [--backups 30] [--connections 50] [--idle-seconds 5] [--keep]

import { fork } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { addDatabase, addVolume, catalogPath, openCatalog } from '../src/catalog/index.js';
import { createToken } from '../src/catalog/tokens.js';
import { addUser } from '../src/catalog/users.js';
import { initOrAttachVolume, openVolume, runBackup } from '../src/jobs/index.js';
import { createLogger, loadTls, Server } from '../src/server/index.js';

const { values: args } = parseArgs({
  options: {
    mb: { type: 'string', default: '512' },
    backups: { type: 'string', default: '30' },
    connections: { type: 'string', default: '50' },
    'idle-seconds': { type: 'string', default: '5' },
    keep: { type: 'boolean', default: false },
    client: { type: 'boolean', default: false },
  },
});
const MB = Number(args.mb);
const CONNECTIONS = Number(args.connections);
const PASSWORD = 'bench password for the server benchmark';

interface Phase {
  name: string;
  requests: number;
  errors: number;
  seconds: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** The server's event-loop delay during the phase (ms): how long its main thread was blocked. */
  loopP99?: number;
  loopMax?: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

type Get = (p: string, token: string, method?: string, body?: string) => Promise<{ status: number; text: string }>;

function requester(url: URL, ca: string, connections: number): Get {
  const agent = new https.Agent({ keepAlive: true, maxSockets: connections, ca });
  return (p, token, method = 'GET', body) =>
    new Promise((resolve, reject) => {
      const req = https.request(
        { hostname: url.hostname, port: url.port, path: p, method, agent, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (s: string) => (text += s)).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

/** The load generator (child process): runs a phase when told, until told to stop; answers with its figures. */
function client(): void {
  let stopped = false;
  process.on('message', (m: { type: string; name?: string; url?: string; ca?: string; token?: string; paths?: string[] }) => {
    if (m.type === 'stop') {
      stopped = true;
      return;
    }
    stopped = false;
    const get = requester(new URL(m.url!), m.ca!, CONNECTIONS);
    const latencies: number[] = [];
    let errors = 0;
    const started = performance.now();
    void Promise.all(
      Array.from({ length: CONNECTIONS }, async (_, c) => {
        for (let i = c; !stopped; i++) {
          const t0 = performance.now();
          try {
            if ((await get(m.paths![i % m.paths!.length]!, m.token!)).status !== 200) errors++;
          } catch {
            errors++;
          }
          latencies.push(performance.now() - t0);
        }
      }),
    ).then(() => {
      latencies.sort((a, b) => a - b);
      const r2 = (x: number) => Math.round(x * 100) / 100;
      const phase: Phase = {
        name: m.name!, requests: latencies.length, errors, seconds: r2((performance.now() - started) / 1000),
        p50: r2(percentile(latencies, 50)), p90: r2(percentile(latencies, 90)), p99: r2(percentile(latencies, 99)), max: r2(latencies.at(-1) ?? NaN),
      };
      process.send?.(phase);
    });
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'arca-bench-server-'));
  const home = path.join(dir, 'home');
  mkdirSync(home);
  const catalog = openCatalog(catalogPath(home));
  await addUser(catalog, { name: 'bench', role: 'viewer', password: PASSWORD });
  await addUser(catalog, { name: 'ops', role: 'operator', password: PASSWORD });
  const viewerToken = createToken(catalog, 'bench', 'bench').token;
  const operatorToken = createToken(catalog, 'ops', 'bench').token;
  const volumeDir = path.join(dir, 'volume');
  const { volumeId } = await initOrAttachVolume(volumeDir, PASSWORD);
  addVolume(catalog, { name: 'local', location: volumeDir, volumeId });

  // A small database with a history of backups (listings read their manifests) and a big one to back up.
  const small = path.join(dir, 'small');
  mkdirSync(small);
  writeFileSync(path.join(small, 'a.txt'), 'small\n');
  addDatabase(catalog, { name: 'small', url: `file://${small}` });
  const volume = await openVolume({ name: 'local', location: volumeDir }, PASSWORD);
  for (let i = 0; i < Number(args.backups); i++) {
    writeFileSync(path.join(small, 'a.txt'), `small ${i}\n`);
    await runBackup({ volume, database: { name: 'small', url: `file://${small}` }, level: 0, expiresAt: null });
  }
  await volume.close();
  const big = path.join(dir, 'big');
  mkdirSync(big);
  for (let i = 0; i < MB / 16; i++) writeFileSync(path.join(big, `f${i}`), randomBytes(16 * 1024 * 1024));
  addDatabase(catalog, { name: 'big', url: `file://${big}` });

  const tls = await loadTls(home);
  const server = new Server({ catalog, host: '127.0.0.1', port: 0, tls, volumePassword: async () => PASSWORD, version: 'bench', logger: createLogger({ level: 'silent' }) });
  const url = new URL(await server.start());
  const get = requester(url, tls.cert, CONNECTIONS);
  const child = fork(fileURLToPath(import.meta.url), ['--client', '--connections', String(CONNECTIONS)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const load = (name: string, paths: string[], stop: Promise<unknown>): Promise<Phase> =>
    new Promise((resolve) => {
      const loop = monitorEventLoopDelay({ resolution: 5 });
      loop.enable();
      child.once('message', (m) => {
        loop.disable();
        const ms = (ns: number) => Math.round(ns / 1e4) / 100;
        resolve({ ...(m as Phase), loopP99: ms(loop.percentile(99)), loopMax: ms(loop.max) });
      });
      child.send({ type: 'run', name, url: url.href, ca: tls.cert, token: viewerToken, paths });
      void stop.then(() => child.send({ type: 'stop' }));
    });
  const reads = ['/api/v1/databases', '/api/v1/databases/small/backups', '/api/v1/databases/big/backups/progress', '/api/v1/jobs?limit=20', '/api/v1/volumes'];

  // Warm up: open the volume (scrypt) and fill the manifest cache.
  await get('/api/v1/databases/small/backups', viewerToken);
  const idle = await load('idle', reads, new Promise((r) => setTimeout(r, Number(args['idle-seconds']) * 1000)));

  const started = await get('/api/v1/databases/big/backups/start', operatorToken, 'PUT', '{}');
  if (started.status !== 202) throw new Error(`backup did not start: ${started.status} ${started.text}`);
  const jobId = (JSON.parse(started.text) as { id: number }).id;
  const backupStart = performance.now();
  const watcher = (async () => {
    for (;;) {
      const j = JSON.parse((await get(`/api/v1/jobs/${jobId}`, viewerToken)).text) as { status: string; error: string | null };
      if (j.status !== 'running') return j;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const during = await load('during backup', [...reads, `/api/v1/jobs/${jobId}`], watcher);
  const job = await watcher;
  child.kill();
  const backupSeconds = (performance.now() - backupStart) / 1000;

  await server.stop();
  catalog.close();
  const result = { date: new Date().toISOString(), connections: CONNECTIONS, backupMB: MB, backupStatus: job.status, backupSeconds: Math.round(backupSeconds * 10) / 10, phases: [idle, during] };
  console.log(`server benchmark: ${CONNECTIONS} connections on the read endpoints over HTTPS; backup of ${MB} MB ${job.status} in ${result.backupSeconds} s`);
  console.log('phase           requests  errors  req/s   p50 ms  p90 ms  p99 ms  max ms  loop p99/max ms');
  for (const p of [idle, during]) {
    console.log(
      `${p.name.padEnd(15)} ${String(p.requests).padStart(8)}  ${String(p.errors).padStart(6)}  ${String(Math.round(p.requests / p.seconds)).padStart(5)}  ${p.p50.toFixed(1).padStart(7)}  ${p.p90.toFixed(1).padStart(6)}  ${p.p99.toFixed(1).padStart(6)}  ${p.max.toFixed(1).padStart(6)}  ${p.loopP99 ?? '?'}/${p.loopMax ?? '?'}`,
    );
  }
  console.log(during.errors === 0 && during.p99 < 100 ? 'goal met: no errors, p99 < 100 ms during the backup' : 'goal NOT met (no errors and p99 < 100 ms during the backup)');
  mkdirSync('.bench', { recursive: true });
  writeFileSync(path.join('.bench', `server-${result.date.replace(/[:.]/g, '-')}.json`), JSON.stringify(result, null, 2));
  if (job.status !== 'succeeded') console.log(`backup error: ${job.error ?? '?'}`);
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
}

if (args.client) client();
else await main();

// The prune benchmark (issue 4: prune of 1,000 backups under 10 s with
// bounded memory). Builds a local volume with N small backups laid out as
// real write sessions leave them — per backup one data pack (a few fresh
// blobs), one tree pack, one index object and one manifest, plus data shared
// by every backup — then, in a child process (so its peak RSS is prune's
// own), prunes half of them with keep-last N/2, and checks the result.
//
//   npm run build && node dist/bench/prune.js [--backups 1000] [--dir DIR] [--keep] [--build-only]
//   (or from the sources: npx tsx bench/prune.ts)

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LocalBackend } from '../src/backend/local/local-backend.js';
import { BlobPool } from '../src/content/blob-pool.js';
import { blobId, sealBlob } from '../src/content/blob-codec.js';
import { AAD } from '../src/content/seal.js';
import { runPrune } from '../src/jobs/prune-job.js';
import { checkRepository } from '../src/repository/checker.js';
import { encodeIndexObject, type IndexPack } from '../src/repository/index/index-object.js';
import type { Manifest } from '../src/repository/manifest.js';
import { indexKey, packKey, snapshotKey } from '../src/repository/object-keys.js';
import { BlobType } from '../src/repository/pack/pack-footer.js';
import { PackBuilder } from '../src/repository/pack/pack-builder.js';
import { Repository } from '../src/repository/repository.js';
import { encodeTree, type TreeNode } from '../src/repository/tree.js';

const PASSWORD = 'bench';
const CHEAP_KDF = { N: 1024, r: 8, p: 1 };

async function openRepo(dir: string): Promise<Repository> {
  return Repository.open(await LocalBackend.open(dir), PASSWORD);
}

/** One pack of the given blobs, stored; returns what its index entry list needs. */
async function storePack(repo: Repository, type: BlobType, blobs: Array<{ id: Buffer; plain: Buffer }>): Promise<IndexPack> {
  const b = new PackBuilder(type);
  for (const x of blobs) b.add(x.id, sealBlob(repo.keys.encKey, x.plain, 1), x.plain.length);
  const pack = b.finish(repo.keys.encKey);
  await repo.backend.put(packKey(pack.idHex), pack.bytes);
  return { id: pack.id, entries: pack.entries };
}

async function build(dir: string, backups: number): Promise<void> {
  const repo = await Repository.init(await LocalBackend.create(dir), PASSWORD, { scrypt: CHEAP_KDF });
  const blob = (plain: Buffer) => ({ id: blobId(repo.keys.idKey, plain), plain });
  const shared = [blob(randomBytes(64 * 1024)), blob(randomBytes(64 * 1024))];
  const sharedPack = await storePack(repo, BlobType.data, shared);
  await repo.putSealedContent(indexKey, AAD.index, encodeIndexObject({ sessionId: randomBytes(16), superseded: [], packs: [sharedPack] }));
  const start = Date.UTC(2024, 0, 1);
  for (let i = 0; i < backups; i++) {
    const fresh = [blob(randomBytes(4096)), blob(randomBytes(4096)), blob(Buffer.from(`log line ${i}\n`.repeat(200)))];
    const nodes: TreeNode[] = [
      { name: 'shared-a.bin', type: 'file', mode: 0o644, size: 65536, content: [shared[0]!.id.toString('hex')] },
      { name: 'shared-b.bin', type: 'file', mode: 0o644, size: 65536, content: [shared[1]!.id.toString('hex')] },
      { name: 'today.bin', type: 'file', mode: 0o644, size: 8192, content: [fresh[0]!.id.toString('hex'), fresh[1]!.id.toString('hex')] },
      { name: 'today.log', type: 'file', mode: 0o644, size: fresh[2]!.plain.length, content: [fresh[2]!.id.toString('hex')] },
    ];
    const root = blob(encodeTree(nodes));
    const packs = [await storePack(repo, BlobType.data, fresh), await storePack(repo, BlobType.tree, [root])];
    await repo.putSealedContent(indexKey, AAD.index, encodeIndexObject({ sessionId: randomBytes(16), superseded: [], packs }));
    const at = new Date(start + i * 3_600_000).toISOString();
    const manifest: Manifest = {
      version: 1, id: randomBytes(16).toString('hex'), database: 'bench', source: { kind: 'files', url: 'file:///bench' }, level: 0, parent: null,
      startedAt: at, finishedAt: at, expiresAt: null, root: root.id.toString('hex'), bytesRead: 139264, bytesAdded: 0, files: 4, host: 'bench',
      session: randomBytes(16).toString('hex'), extra: {},
    };
    await repo.putSealedJson(snapshotKey(manifest.id), AAD.manifest, manifest);
  }
}

/** The child: prune with keep-last `keep`, print the report's figures, wall time and peak RSS as JSON. */
async function pruneChild(dir: string, keep: number): Promise<void> {
  const repo = await openRepo(dir);
  const volume = { ref: { name: 'bench', location: dir }, volumeId: repo.config.id, repo, close: async () => undefined };
  const started = performance.now();
  const report = await runPrune({ volume, policies: { bench: { keepLast: keep } }, dryRun: false });
  const seconds = (performance.now() - started) / 1000;
  const { backupsRemoved, tombstonesPending, problems, ...figures } = report;
  const out = { seconds, peakRssBytes: process.resourceUsage().maxRSS * 1024, removed: backupsRemoved.length, pending: tombstonesPending.length, problems, ...figures };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { backups: { type: 'string', default: '1000' }, dir: { type: 'string' }, keep: { type: 'boolean' }, child: { type: 'string' }, 'build-only': { type: 'boolean' } } });
  const backups = Number(values.backups);
  if (values.child !== undefined) return pruneChild(values.child, Math.floor(backups / 2));
  const dir = values.dir ?? mkdtempSync(path.join(tmpdir(), 'arca-bench-prune-'));
  try {
    let t = performance.now();
    await build(dir, backups);
    console.log(`built ${backups} backups in ${dir} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    if (values['build-only']) return; // then: node dist/bench/prune.js --child DIR --backups N (e.g. under --cpu-prof)
    t = performance.now();
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', dir, '--backups', String(backups)], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`prune failed: ${child.stderr}`);
    const r = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { seconds: number; peakRssBytes: number };
    console.log(`prune: ${child.stdout.trim()}`);
    console.log(`prune of ${backups / 2} of ${backups} backups: ${r.seconds.toFixed(2)} s, peak RSS ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB (child process ${((performance.now() - t) / 1000).toFixed(1)} s with start-up)`);
    const repo = await openRepo(dir);
    const pool = new BlobPool(repo.keys, { zstdLevel: 1 });
    const check = await checkRepository(repo, { pool, readDataPercent: 0 });
    await pool.close();
    console.log(`check after prune: ${check.ok ? 'ok' : 'PROBLEMS'}, ${check.backups} backups, ${check.packs} packs`);
    if (!check.ok || check.backups !== backups - Math.floor(backups / 2)) process.exitCode = 1;
  } finally {
    if (!values.keep && values.dir === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

await main();

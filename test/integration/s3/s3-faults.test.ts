// S3 volumes through a faulty network: between Arca and a local S3 server
// (s3rver) a proxy fails about 11% of requests with 500/503, connection
// resets before, during and after the request, corrupted bodies and slow
// answers (test/helpers/s3-fault-proxy.ts). Backup, restore, check and prune
// (the jobs layer, as the CLI runs them) must all complete correctly, and a
// torn or corrupted upload must never become a visible object or a listed
// backup. Packs are small and go up as multipart uploads, so torn multipart
// uploads are exercised too. The seed is printed; ARCA_TEST_SEED replays it.

import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backend/backend.js';
import { RetryBackend } from '../../../src/backend/retry/retry-backend.js';
import { S3Backend, type S3BackendOptions } from '../../../src/backend/s3/s3-backend.js';
import { deleteBackups, listBackups, runBackup, runCheck, runPrune, runRestore, type OpenVolume } from '../../../src/jobs/index.js';
import { Repository } from '../../../src/repository/repository.js';
import { bulkTree, makeScratch, makeTree, Prng, setMtime, testSeed, treeSnapshot, writeFileStamped, type Scratch } from '../../helpers/index.js';
import { startFaultProxy, FAULT_KINDS, type FaultProxy } from '../../helpers/s3-fault-proxy.js';
import { startS3Server, S3_TEST_CREDENTIALS, S3_TEST_REGION, type S3TestServer } from '../../helpers/s3-server.js';

const PASSWORD = 'fault tolerant s3 volume';
const BUCKET = 'arca-faults';
const SCRYPT = { N: 1024, r: 8, p: 1 };
/** Small objects go multipart too, so faults hit CreateMultipartUpload, parts and CompleteMultipartUpload. */
const TUNING: S3BackendOptions = {
  credentials: S3_TEST_CREDENTIALS,
  defaultRegion: S3_TEST_REGION,
  multipartThreshold: 256 * 1024,
  partSize: 128 * 1024,
  connectTimeoutMs: 1000,
  idleTimeoutMs: 1500,
};

let server: S3TestServer;
let proxy: FaultProxy;
let scratch: Scratch;
const seed = testSeed();

beforeAll(async () => {
  console.log(`s3 fault tests: seed ${seed} (ARCA_TEST_SEED=${seed} replays it)`);
  scratch = makeScratch('s3-faults');
  server = await startS3Server([BUCKET]);
  proxy = await startFaultProxy({
    target: server.endpoint,
    seed,
    rates: { error: 0.03, 'reset-before': 0.015, 'reset-request': 0.02, 'reset-response': 0.02, corrupt: 0.01, slow: 0.015 },
    slowMs: [200, 2500],
  });
});

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  scratch?.cleanup();
});

function s3(prefix: string, via: 'proxy' | 'direct', options: S3BackendOptions = {}): S3Backend {
  const endpoint = via === 'proxy' ? proxy.endpoint : server.endpoint;
  return S3Backend.open(`s3://${BUCKET}/${prefix}?endpoint=${encodeURIComponent(endpoint)}`, { ...TUNING, ...options });
}

/** What openBackend builds, with short waits so the test stays quick. */
function withRetries(inner: Backend, attempts = 10): RetryBackend {
  return new RetryBackend(inner, { attempts, baseDelayMs: 20, maxDelayMs: 400 });
}

async function openVolume(backend: Backend, name: string): Promise<OpenVolume> {
  const repo = await Repository.open(backend, PASSWORD, name);
  return { ref: { name, location: backend.location }, volumeId: repo.config.id, repo, close: () => backend.close() };
}

/** Every object of the volume, read directly (no proxy): packs and index objects must hash to their names. */
async function expectWholeObjects(prefix: string): Promise<number> {
  const direct = s3(prefix, 'direct');
  let checked = 0;
  try {
    for await (const { key, size } of direct.list('')) {
      const data = await direct.get(key);
      expect(data.length, key).toBe(size);
      const named = /^(?:data\/[0-9a-f]{2}|index)\/([0-9a-f]{64})$/.exec(key)?.[1];
      if (named !== undefined) {
        expect(createHash('sha256').update(data).digest('hex'), `${key} holds other bytes than its name says`).toBe(named);
        checked++;
      }
    }
  } finally {
    await direct.close();
  }
  return checked;
}

describe('an S3 volume behind a faulty network', () => {
  it('backs up, restores, checks and prunes correctly while ~11% of requests fail', async () => {
    const src = scratch.path('src');
    makeTree(src, bulkTree(seed, 3 * 1024 * 1024));
    const backend = withRetries(s3('vol', 'proxy'));
    const init = await Repository.init(backend, PASSWORD, { packSize: 1024 * 1024, scrypt: SCRYPT });
    expect(init.config.packSize).toBe(1024 * 1024);
    const volume = await openVolume(backend, 'faulty');
    const database = { name: 'files', url: `file://${src}` };
    try {
      const first = await runBackup({ volume, database, level: 0, expiresAt: null });
      const before = treeSnapshot(src);
      const prng = new Prng(seed);
      writeFileStamped(`${src}/dir-0/added.bin`, randomBytes(prng.int(300_000, 900_000)), 1_700_000_000);
      writeFileStamped(`${src}/small/s-000.txt`, 'changed\n', 1_700_000_100);
      setMtime(`${src}/dir-0`, 1_700_000_200); // whole 1/64 s, as treeSnapshot compares (see tree.ts)
      const second = await runBackup({ volume, database, level: 1, expiresAt: null });
      const after = treeSnapshot(src);

      for (const [backup, expected] of [
        [first, before],
        [second, after],
      ] as const) {
        const to = scratch.path(`restore-${backup.id}`);
        await runRestore({ volume, backupId: backup.id, to, force: false });
        expect(treeSnapshot(to)).toEqual(expected);
      }
      const check = await runCheck({ volume, readDataPercent: 100 });
      expect(check.problems).toEqual([]);
      expect(check.ok).toBe(true);

      // Prune through the same faults: the first backup goes, the second still restores.
      await deleteBackups(volume, [first.id]);
      const pruned = await runPrune({ volume, policies: {}, dryRun: false });
      expect(pruned.problems).toEqual([]);
      expect((await listBackups(volume)).map((b) => b.id)).toEqual([second.id]);
      const again = scratch.path('restore-after-prune');
      await runRestore({ volume, backupId: second.id, to: again, force: false });
      expect(treeSnapshot(again)).toEqual(after);
      const recheck = await runCheck({ volume, readDataPercent: 100 });
      expect(recheck.problems).toEqual([]);
    } finally {
      await volume.close();
    }
    console.log(`s3 fault proxy: ${JSON.stringify(proxy.stats)}`);
    const faults = FAULT_KINDS.reduce((n, k) => n + proxy.stats[k], 0);
    expect(proxy.stats.requests).toBeGreaterThan(200);
    // ~8% of ~600 requests: ~50 faults expected. A count, not a rate: one run's rate varies too much for a bound that never fails by chance.
    expect(faults).toBeGreaterThanOrEqual(20);
    expect(await expectWholeObjects('vol')).toBeGreaterThan(3);
  });

  it('never shows a torn or corrupted upload as an object', async () => {
    const torn = await startFaultProxy({
      target: server.endpoint,
      seed: seed ^ 0x5eed,
      rates: { 'reset-request': 0.25, 'reset-response': 0.15, corrupt: 0.1, error: 0.05, 'reset-before': 0.05 },
    });
    // No RetryBackend: every fault reaches the caller as a failed put.
    const raw = S3Backend.open(`s3://${BUCKET}/torn?endpoint=${encodeURIComponent(torn.endpoint)}`, {
      ...TUNING,
      multipartThreshold: 96 * 1024,
      partSize: 32 * 1024,
    });
    const prng = new Prng(seed);
    const results = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const data = randomBytes(prng.int(1, 200 * 1024));
        const key = `data/${i.toString(16).padStart(2, '0')}/${createHash('sha256').update(data).digest('hex')}`;
        try {
          await raw.put(key, data);
          return { key, ok: true };
        } catch {
          return { key, ok: false };
        }
      }),
    );
    await raw.close();
    await torn.close();
    console.log(`torn-upload proxy: ${JSON.stringify(torn.stats)}; puts failed: ${results.filter((r) => !r.ok).length}/60`);
    expect(torn.stats['reset-request'] + torn.stats.corrupt).toBeGreaterThan(3);
    expect(results.some((r) => !r.ok)).toBe(true);
    // Everything visible is whole (hashes to its name), and every put that succeeded is visible.
    const direct = s3('torn', 'direct');
    const listed = new Set<string>();
    for await (const { key } of direct.list('')) listed.add(key);
    await direct.close();
    for (const r of results) if (r.ok) expect(listed.has(r.key), r.key).toBe(true);
    expect(await expectWholeObjects('torn')).toBe(listed.size);
  });

  it('lists no backup that failed part-way, and the volume still checks clean', async () => {
    const src = scratch.path('src-fail');
    makeTree(src, bulkTree(seed + 1, 2 * 1024 * 1024));
    const database = { name: 'fails', url: `file://${src}` };
    const clean = withRetries(s3('fail', 'direct'));
    await Repository.init(clean, PASSWORD, { packSize: 512 * 1024, scrypt: SCRYPT });
    const good = await openVolume(clean, 'clean');
    const kept = await runBackup({ volume: good, database, level: 0, expiresAt: null });
    makeTree(`${src}/more`, bulkTree(seed + 2, 1024 * 1024));
    // The same volume through a harsher proxy with retries off: the backup dies on its first fault.
    const harsh = await startFaultProxy({ target: server.endpoint, seed: seed ^ 0xfa11, rates: { error: 0.1, 'reset-request': 0.1, 'reset-response': 0.05 } });
    const viaHarsh = S3Backend.open(`s3://${BUCKET}/fail?endpoint=${encodeURIComponent(harsh.endpoint)}`, TUNING);
    const fragile = await openVolume(withRetries(viaHarsh, 1), 'fragile').catch(() => undefined);
    let failed = fragile === undefined;
    if (fragile) {
      try {
        await runBackup({ volume: fragile, database, level: 0, expiresAt: null });
      } catch {
        failed = true;
      } finally {
        await fragile.close();
      }
    }
    await harsh.close();
    expect(failed).toBe(true);
    const fresh = await openVolume(withRetries(s3('fail', 'direct')), 'clean-again');
    try {
      expect((await listBackups(fresh)).map((b) => b.id)).toEqual([kept.id]);
      const check = await runCheck({ volume: fresh, readDataPercent: 100 });
      expect(check.problems).toEqual([]);
    } finally {
      await fresh.close();
      await good.close();
    }
    await expectWholeObjects('fail');
  });
});

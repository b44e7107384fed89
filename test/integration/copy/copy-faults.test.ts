// A copy from one S3 volume to another, both through the fault proxy (about
// 10% of requests fail with 500/503, resets before, during and after the
// request, corrupted bodies, slow answers): it completes, the copy restores byte-identical from
// the target read directly, and check --read-data finds nothing wrong.

import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBackups, runBackup, runCheck, runCopy, runRestore } from '../../../src/jobs/index.js';
import { bulkTree, makeScratch, makeTree, setMtime, testSeed, treeSnapshot, type Scratch } from '../../helpers/index.js';
import { FAULT_KINDS, startFaultProxy, type FaultProxy } from '../../helpers/s3-fault-proxy.js';
import { startS3Server, type S3TestServer } from '../../helpers/s3-server.js';
import { createVolume, openSpec, s3Spec, withVolume } from './copy-helpers.js';

const BUCKET = 'arca-copy-faults';
const seed = testSeed();
let server: S3TestServer;
let proxy: FaultProxy;
let scratch: Scratch;

beforeAll(async () => {
  console.log(`copy fault test: seed ${seed} (ARCA_TEST_SEED=${seed} replays it)`);
  scratch = makeScratch('copy-faults');
  server = await startS3Server([BUCKET]);
  proxy = await startFaultProxy({
    target: server.endpoint,
    seed,
    rates: { error: 0.03, 'reset-before': 0.015, 'reset-request': 0.02, 'reset-response': 0.02, corrupt: 0.01, slow: 0.01 },
    slowMs: [200, 2500],
  });
});

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  scratch?.cleanup();
});

describe('arca copy to S3 through a faulty network', () => {
  it('completes, and the copy restores from the target and passes check', async () => {
    const src = scratch.path('src');
    mkdirSync(src);
    makeTree(src, bulkTree(seed, 6_000_000));
    setMtime(src, 1_700_000_000);
    const expected = treeSnapshot(src);
    const tuning = { connectTimeoutMs: 1000, idleTimeoutMs: 1500, multipartThreshold: 256 * 1024, partSize: 128 * 1024 };
    const A = s3Spec('A', proxy.endpoint, BUCKET, 'a', 'source password', tuning);
    const viaProxy = s3Spec('B', proxy.endpoint, BUCKET, 'b', 'remote password', tuning);
    const direct = s3Spec('B', server.endpoint, BUCKET, 'b', 'remote password');
    proxy.enabled = false;
    await createVolume(A, 256 * 1024);
    await createVolume(viaProxy, 256 * 1024);
    const backup = await withVolume(A, (a) => runBackup({ volume: a, database: { name: 'files', url: `file://${src}` }, level: 0, expiresAt: null }));
    proxy.enabled = true;

    const [from, to] = [await openSpec(A), await openSpec(viaProxy)];
    try {
      const report = await runCopy({ from, to });
      expect(report.copied.map((c) => c.id)).toEqual([backup.id]);
    } finally {
      await Promise.all([from.close(), to.close()]);
    }
    console.log(`s3 fault proxy: ${JSON.stringify(proxy.stats)}`);
    // At some 9% of ~280 requests, ~25 faults are expected; fewer than 8 would mean the proxy did not do its job
    // (a count, not a rate: the rate of one run varies too much for a bound that never fails by chance).
    const faults = FAULT_KINDS.reduce((n, k) => n + proxy.stats[k], 0);
    expect(faults).toBeGreaterThanOrEqual(8);

    await withVolume(direct, async (b) => {
      expect((await listBackups(b)).map((x) => x.id)).toEqual([backup.id]);
      const out = scratch.path('restored');
      await runRestore({ volume: b, backupId: backup.id, to: out, force: false });
      expect(treeSnapshot(out)).toEqual(expected);
      const check = await runCheck({ volume: b, readDataPercent: 100 });
      expect(check.problems).toEqual([]);
    });
  });
});

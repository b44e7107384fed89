// End to end across processes: while `arca backup` runs, `arca progress` in
// another process shows its phase, bytes, percent and ETA; `arca abort` in a
// third stops it; the aborted backup is not listed, the volume checks clean,
// the next backup reuses what was written, and `arca jobs` tells the story.

import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arcaOk,
  bulkTree,
  describeRun,
  expectCleanFailure,
  freshHome,
  listBackups,
  makeScratch,
  makeTree,
  requireBuiltCli,
  runArca,
  spawnArca,
  type Home,
  type Scratch,
} from '../../helpers/index.js';

interface ProgressJson {
  job: number;
  kind: string;
  database: string;
  phase: string | null;
  bytesDone: number;
  bytesTotal: number | null;
  percent: number | null;
  etaSeconds: number | null;
}

interface JobJson {
  id: number;
  kind: string;
  database: string | null;
  status: string;
  error: string | null;
  figures: Record<string, unknown>;
}

describe('progress and abort across processes', () => {
  let scratch: Scratch;
  let home: Home;
  const TOTAL = 100 * 1024 * 1024;

  beforeAll(async () => {
    requireBuiltCli();
    scratch = makeScratch('progress-abort');
    makeTree(scratch.path('big'), bulkTree(11, TOTAL));
    home = await freshHome(scratch.root);
    await arcaOk(['db', 'add', 'big', scratch.path('big')], home.opts);
  });

  afterAll(() => scratch?.cleanup());

  it('shows the running backup, stops it on request, and the next backup reuses its data', async () => {
    const idle = await arcaOk(['progress', 'big', '--json'], home.opts);
    expect(JSON.parse(idle.stdout)).toEqual([]);

    // 10 MB/s makes the backup take ~10 s: time enough to watch it and stop it.
    const running = spawnArca(['backup', 'big', '--rate-limit', '10MB/s'], home.opts);
    let seen: ProgressJson | undefined;
    for (let i = 0; i < 600 && seen === undefined; i++) {
      const p = await arcaOk(['progress', 'big', '--json'], home.opts);
      const views = JSON.parse(p.stdout) as ProgressJson[];
      if (views[0] && views[0].bytesDone > 0 && views[0].percent !== null) seen = views[0];
      else await sleep(100);
    }
    expect(seen, 'progress never showed bytes').toBeDefined();
    expect(seen).toMatchObject({ kind: 'backup', database: 'big', phase: 'backup' });
    expect(seen!.bytesTotal).toBeGreaterThanOrEqual(TOTAL);
    expect(seen!.percent).toBeGreaterThan(0);
    expect(seen!.percent).toBeLessThan(100);

    const text = await arcaOk(['progress'], home.opts);
    expect(text.stdout).toMatch(/backup of big/);
    expect(text.stdout).toMatch(/\d+(\.\d)?%/);
    expect(text.stdout).toMatch(/ETA/);

    const abort = await arcaOk(['abort', 'big', '--json'], home.opts);
    const ended = JSON.parse(abort.stdout) as JobJson[];
    expect(ended.map((j) => j.status)).toEqual(['aborted']);

    const r = await running.done;
    expectCleanFailure(r, [1]);
    expect(r.stderr, describeRun(r)).toMatch(/aborted/);
    expect(await listBackups(home.opts, 'big')).toEqual([]);
    const check = await arcaOk(['check', '--json'], home.opts);
    expect(JSON.parse(check.stdout)).toMatchObject({ ok: true });

    const next = await arcaOk(['backup', 'big', '--json'], home.opts);
    const b = JSON.parse(next.stdout) as { bytesRead: number; bytesAdded: number };
    expect(b.bytesRead).toBe(seen!.bytesTotal);
    // What the aborted backup stored is reused: the second one adds less than the whole tree.
    expect(b.bytesAdded).toBeLessThan(b.bytesRead);

    const jobs = JSON.parse((await arcaOk(['jobs', '--json'], home.opts)).stdout) as JobJson[];
    expect(jobs.map((j) => `${j.kind}:${j.status}`)).toEqual(['backup:succeeded', 'check:succeeded', 'backup:aborted']);
    expect(jobs[2]?.error).toMatch(/aborted/);
    expect(jobs[0]?.figures).toMatchObject({ bytesRead: b.bytesRead, bytesAdded: b.bytesAdded });
    const own = JSON.parse((await arcaOk(['jobs', '--db', 'big', '--kind', 'backup', '--json'], home.opts)).stdout) as JobJson[];
    expect(own).toHaveLength(2);
  });

  it('says so when there is nothing to abort, and refuses bad arguments', async () => {
    const none = await runArca(['abort', 'big'], home.opts);
    expectCleanFailure(none, [1]);
    expect(none.stderr).toContain('no job of big is running');
    expectCleanFailure(await runArca(['abort'], home.opts), [2]);
    expectCleanFailure(await runArca(['jobs', '--kind', 'nonsense'], home.opts), [2]);
    expectCleanFailure(await runArca(['abort', '--job', '-1'], home.opts), [2]);
  });
});

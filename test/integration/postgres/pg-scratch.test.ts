// A restore killed outright (SIGKILL of the real CLI) leaves its scratch
// database behind; the next restore on that server drops it, because its name
// proves it abandoned (this host, a pid that is gone, no session). Scratch
// databases of a live process or of another host are left alone.

import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arcaOk, backup, describeRun, freshHome, makeScratch, requireBuiltCli, spawnArca, type Home, type Scratch } from '../../helpers/index.js';
import { scratchName as liveScratchName } from '../../../src/sources/postgres/pg-scratch.js';
import { createDb, dropScratch, leftoverRestoreDbs, scratchName, sql, urlOf } from './pg-helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sessionsOn(db: string): Promise<number> {
  return (await sql('postgres', 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [db])).rows[0].n as number;
}

/** A pid that no process has any more. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(r.stdout.toString().trim());
}

describe('postgres restore scratch databases', () => {
  let scratch: Scratch;
  let home: Home;
  const planted: string[] = [];

  beforeAll(async () => {
    requireBuiltCli();
    scratch = makeScratch('pg-scratch');
    home = await freshHome(scratch.root);
  });

  afterAll(async () => {
    for (const name of planted) await sql('postgres', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await dropScratch();
    scratch?.cleanup();
  });

  it('a SIGKILLed restore leaves one; the next restore drops it, and only the abandoned ones', async () => {
    const db = await createDb({
      text: `CREATE TABLE t (id int PRIMARY KEY, v text);
             INSERT INTO t SELECT i, repeat(md5(i::text), 8) FROM generate_series(1, 400000) i;`,
    });
    await arcaOk(['db', 'add', 'killme', urlOf(db)], home.opts);
    const id = await backup('killme', home.opts);
    const before = new Set(await leftoverRestoreDbs());

    const run = spawnArca(['restore', id, '--to', urlOf(scratchName())], home.opts);
    let left: string | undefined;
    for (let i = 0; i < 1000 && !left; i++) {
      left = (await leftoverRestoreDbs()).find((n) => !before.has(n));
      if (!left) await sleep(10);
    }
    expect(left, 'the restore made no scratch database').toBeDefined();
    await sleep(300); // into the load
    run.child.kill('SIGKILL');
    const r = await run.done;
    expect(r.signal, describeRun(r)).toBe('SIGKILL');
    expect(await leftoverRestoreDbs()).toContain(left);
    // its server sessions (and a pg_restore child it left) end soon after
    for (let i = 0; i < 600 && (await sessionsOn(left!)) > 0; i++) await sleep(50);

    // planted: one of a live process (this test's), one of another host, one of a dead pid here
    const live = liveScratchName();
    const foreign = `arca_restore_${live.slice(13, 21) === 'ffffffff' ? 'eeeeeeee' : 'ffffffff'}_${deadPid()}_abcdef`;
    const dead = live.replace(`_${process.pid}_`, `_${deadPid()}_`);
    for (const name of [live, foreign, dead]) {
      await sql('postgres', `CREATE DATABASE ${name}`);
      planted.push(name);
    }

    const target = scratchName();
    const again = await arcaOk(['restore', id, '--to', urlOf(target)], home.opts);
    expect(again.code).toBe(0);
    const now = await leftoverRestoreDbs();
    expect(now).not.toContain(left);
    expect(now).not.toContain(dead);
    expect(now).toContain(live);
    expect(now).toContain(foreign);
    expect((await sql(target, 'SELECT count(*)::int AS n FROM t')).rows[0]).toEqual({ n: 400000 });
  });
});

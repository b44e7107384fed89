// End to end: one flipped byte in any kind of volume object is found.
// For a data pack, a tree pack, an index object, a manifest, the config and a
// key object in turn: flip one byte, `arca check --read-data` exits non-zero
// and (where a backup can be named) names the affected backup; a restore that
// touches the damage fails loudly and leaves no wrong bytes behind (every file
// it wrote is correct). The byte is flipped back afterwards, and the volume
// checks clean again.

import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arcaOk,
  backup,
  describeRun,
  dir,
  expectCleanFailure,
  file,
  flipByte,
  freshHome,
  listVolumeObjects,
  makeScratch,
  makeTree,
  objectsOfKind,
  requireBuiltCli,
  runArca,
  symlink,
  treeSnapshot,
  type ArcaResult,
  type Home,
  type Scratch,
  type SnapshotEntry,
  type VolumeObject,
} from '../helpers/index.js';

/** How a run's output names a backup: its id, or at least its first 8 hex digits. */
function names(r: ArcaResult, id: string): boolean {
  return (r.stdout + r.stderr).includes(id.slice(0, 8));
}

describe('files: one flipped byte', () => {
  let scratch: Scratch;
  let home: Home;
  let alpha: string;
  let beta: string;
  let alphaSource: SnapshotEntry[];
  let betaSource: SnapshotEntry[];
  /** Objects the alpha backup wrote (the volume was empty before but for keys and config). */
  let alphaObjects: VolumeObject[];
  let restores = 0;

  /** Flips one byte of `obj` for the duration of `body`, then flips it back. */
  async function withFlippedByte(obj: VolumeObject, offset: number, body: () => Promise<void>): Promise<void> {
    flipByte(obj.path, offset);
    try {
      await body();
    } finally {
      flipByte(obj.path, offset);
    }
  }

  /** Restores `id` into a new folder; returns the run and what ended up there. */
  async function restoreInto(id: string): Promise<{ r: ArcaResult; to: string; got: SnapshotEntry[] }> {
    const to = scratch.path(`restore-${++restores}`);
    const r = await runArca(['restore', id, '--to', to], home.opts);
    return { r, to, got: existsSync(to) ? treeSnapshot(to) : [] };
  }

  /** Every regular file a (failed) restore left behind is complete and correct. */
  function expectNoWrongBytes(got: SnapshotEntry[], want: SnapshotEntry[], account: string): void {
    const wanted = new Map(want.map((e) => [e.path, e]));
    for (const e of got) {
      const w = wanted.get(e.path);
      expect(w, `restore wrote ${e.path}, which is not in the backup\n${account}`).toBeDefined();
      if (e.type === 'file') {
        expect(e.sha256, `restore left wrong bytes in ${e.path}\n${account}`).toBe(w?.sha256);
      }
    }
  }

  async function expectCheckFails(affected: string[], unaffected: string[] = []): Promise<ArcaResult> {
    const r = await runArca(['check', '--read-data'], home.opts);
    const account = describeRun(r);
    expect(r.signal, account).toBeNull();
    expect(r.code, account).not.toBe(0);
    expect(r.stderr, `no stack trace without --debug\n${account}`).not.toMatch(/^\s+at\s/m);
    for (const id of affected) expect(names(r, id), `check must name affected backup ${id}\n${account}`).toBe(true);
    for (const id of unaffected) expect(names(r, id), `check must not blame backup ${id}\n${account}`).toBe(false);
    return r;
  }

  beforeAll(async () => {
    requireBuiltCli();
    scratch = makeScratch('corrupt');
    home = await freshHome(scratch.root);
    const alphaDir = scratch.path('alpha');
    const betaDir = scratch.path('beta');
    makeTree(
      alphaDir,
      {
        'big.bin': file({ random: 3_000_000 }),
        'log.txt': file({ text: 1_000_000 }),
        sub: dir({ 'a.bin': file({ random: 400_000 }), 'b.txt': file('alpha b\n'), link: symlink('../log.txt') }),
      },
      { seed: 'alpha' },
    );
    makeTree(
      betaDir,
      { 'other.bin': file({ random: 2_000_000 }), notes: dir({ 'n.txt': file('beta notes\n') }) },
      { seed: 'beta' },
    );
    alphaSource = treeSnapshot(alphaDir);
    betaSource = treeSnapshot(betaDir);
    await arcaOk(['db', 'add', 'alpha', `file://${alphaDir}`], home.opts);
    await arcaOk(['db', 'add', 'beta', `file://${betaDir}`], home.opts);

    const before = new Set(listVolumeObjects(home.volumeDir).map((o) => o.key));
    alpha = await backup('alpha', home.opts);
    alphaObjects = listVolumeObjects(home.volumeDir).filter((o) => !before.has(o.key));
    beta = await backup('beta', home.opts);
  });

  afterAll(() => scratch?.cleanup());

  it('starts from a volume that checks clean, with every object kind present', async () => {
    const r = await arcaOk(['check', '--read-data'], home.opts);
    expect(r.code).toBe(0);
    const kinds = new Set(listVolumeObjects(home.volumeDir).map((o) => o.kind));
    for (const k of ['key', 'config', 'pack', 'index', 'snapshot'] as const) expect(kinds, `no ${k} object`).toContain(k);
    // Data and trees go into separate packs, so alpha wrote at least two.
    expect(alphaObjects.filter((o) => o.kind === 'pack').length).toBeGreaterThanOrEqual(2);
    expect(alphaObjects.filter((o) => o.kind === 'index').length).toBeGreaterThanOrEqual(1);
    // A finished writer leaves no session lease behind.
    expect(objectsOfKind(home.volumeDir, 'session')).toEqual([]);
  });

  it('a data pack: check names the backup; restore fails and writes no wrong bytes; others still restore', async () => {
    const packs = alphaObjects.filter((o) => o.kind === 'pack').sort((a, b) => b.size - a.size);
    const pack = packs[0] as VolumeObject;
    await withFlippedByte(pack, Math.floor(pack.size / 3), async () => {
      await expectCheckFails([alpha], [beta]);
      const { r, got } = await restoreInto(alpha);
      expectCleanFailure(r, [1]);
      expectNoWrongBytes(got, alphaSource, describeRun(r));
      const ok = await restoreInto(beta);
      expect(ok.r.code, describeRun(ok.r)).toBe(0);
      expect(ok.got).toEqual(betaSource);
    });
  });

  it('a tree pack (the smallest): check names the backup; restore fails and writes no wrong bytes', async () => {
    const packs = alphaObjects.filter((o) => o.kind === 'pack').sort((a, b) => a.size - b.size);
    const pack = packs[0] as VolumeObject;
    // Byte 20 lies inside the first sealed blob (12-byte nonce, then ciphertext).
    await withFlippedByte(pack, 20, async () => {
      await expectCheckFails([alpha]);
      const { r, got } = await restoreInto(alpha);
      expectCleanFailure(r, [1]);
      expectNoWrongBytes(got, alphaSource, describeRun(r));
    });
  });

  it('an index object: check names the backup; a restore is either exact or fails cleanly', async () => {
    const index = alphaObjects.find((o) => o.kind === 'index') as VolumeObject;
    await withFlippedByte(index, Math.floor(index.size / 2), async () => {
      await expectCheckFails([alpha]);
      const { r, got } = await restoreInto(alpha);
      if (r.code === 0) expect(got, describeRun(r)).toEqual(alphaSource);
      else {
        expectCleanFailure(r, [1]);
        expectNoWrongBytes(got, alphaSource, describeRun(r));
      }
    });
  });

  it('a manifest: check names the backup; restore fails and writes nothing wrong', async () => {
    const manifest = alphaObjects.find((o) => o.kind === 'snapshot' && o.key === `snapshots/${alpha}`);
    expect(manifest, `no object snapshots/${alpha}`).toBeDefined();
    const m = manifest as VolumeObject;
    await withFlippedByte(m, Math.floor(m.size / 2), async () => {
      await expectCheckFails([alpha], [beta]);
      const { r, got } = await restoreInto(alpha);
      expect(r.code, describeRun(r)).not.toBe(0);
      expect(r.stderr, describeRun(r)).not.toMatch(/^\s+at\s/m);
      expectNoWrongBytes(got, alphaSource, describeRun(r));
    });
  });

  it('the config: check fails with one clear line; restore fails', async () => {
    const config = objectsOfKind(home.volumeDir, 'config')[0] as VolumeObject;
    await withFlippedByte(config, Math.floor(config.size / 2), async () => {
      const r = await runArca(['check', '--read-data'], home.opts);
      expectCleanFailure(r, [1]);
      const { r: rr, got } = await restoreInto(beta);
      expectCleanFailure(rr, [1]);
      expect(got).toEqual([]);
    });
  });

  it('the key object: check fails with one clear line; restore fails', async () => {
    const keys = objectsOfKind(home.volumeDir, 'key');
    expect(keys).toHaveLength(1);
    const key = keys[0] as VolumeObject;
    await withFlippedByte(key, Math.floor(key.size / 2), async () => {
      const r = await runArca(['check', '--read-data'], home.opts);
      expectCleanFailure(r, [1]);
      const { r: rr, got } = await restoreInto(beta);
      expectCleanFailure(rr, [1]);
      expect(got).toEqual([]);
    });
  });

  it('checks clean again once every byte is flipped back, and both backups restore', async () => {
    await arcaOk(['check', '--read-data'], home.opts);
    for (const [id, want] of [
      [alpha, alphaSource],
      [beta, betaSource],
    ] as const) {
      const { r, got } = await restoreInto(id);
      expect(r.code, describeRun(r)).toBe(0);
      expect(got).toEqual(want);
    }
  });
});

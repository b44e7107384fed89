// The PurgeEngine contract suite (src/jobs/purge/purge-engine.ts): every
// engine runs it against a real database through a small fixture that seeds
// items (rows or files) of known ages and reads back which are left.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PurgeRuleSpec } from '../../../src/catalog/purge-rules.js';
import type { BatchReport, PurgeEngine } from '../../../src/jobs/purge/index.js';
import { isArcaError } from '../../../src/errors.js';

export const DAY = 24 * 60 * 60 * 1000;
/** A whole second, so every engine stores it exactly. */
export const NOW = new Date('2026-03-01T12:00:00Z');

export interface PurgeFixture {
  engine: PurgeEngine;
  /** The rule selecting every item older than `olderThanMs` (no filter). */
  rule(olderThanMs: number): PurgeRuleSpec;
  /** Replaces the items with ids 1..ages.length, item i aged ages[i-1] ms before NOW. */
  seed(ages: number[]): Promise<void>;
  /** Ids of the items left, ascending. */
  remaining(): Promise<number[]>;
  /** Rules check() refuses with USAGE, and what the message says. */
  invalid: Array<{ rule: PurgeRuleSpec; message: RegExp }>;
  cleanup(): Promise<void>;
}

const ids = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function rejection(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected a rejection');
}

export function purgeEngineContract(name: string, make: () => Promise<PurgeFixture>): void {
  describe(`PurgeEngine contract: ${name}`, () => {
    let f: PurgeFixture;
    beforeEach(async () => {
      f = await make();
    });
    afterEach(async () => {
      await f.engine.close();
      await f.cleanup();
    });

    it('check() accepts a good rule and refuses bad ones with USAGE naming the problem', async () => {
      const checked = await f.engine.check(f.rule(30 * DAY));
      expect(checked.kind).toBe(f.rule(30 * DAY).kind);
      for (const bad of f.invalid) {
        const err = await rejection(f.engine.check(bad.rule));
        expect(isArcaError(err, 'USAGE'), err.message).toBe(true);
        expect(err.message).toMatch(bad.message);
      }
    });

    it('deletes exactly the items strictly older than the cutoff; the one exactly at it stays', async () => {
      // ids 1-5: 40..36 days; id 6: exactly 30 days (the cutoff); ids 7-10: younger.
      await f.seed([40, 39, 38, 37, 36, 30, 29, 10, 1, 0].map((d) => d * DAY));
      const rule = await f.engine.check(f.rule(30 * DAY));
      const cutoff = new Date(NOW.getTime() - 30 * DAY);
      const counted = await f.engine.count(rule, cutoff);
      expect(counted.items).toBe(5);
      const r = await f.engine.purge(rule, { cutoff, batchSize: 1000 });
      expect(r.items).toBe(counted.items);
      expect(r.bytes).toBe(counted.bytes);
      expect(r.batches).toBe(1);
      expect(await f.remaining()).toEqual(ids(6, 10));
      expect((await f.engine.count(rule, cutoff)).items).toBe(0);
    });

    it('deletes in batches of at most batchSize and reports each one', async () => {
      await f.seed([...Array<number>(25).fill(50 * DAY), ...Array<number>(5).fill(DAY)]);
      const rule = await f.engine.check(f.rule(30 * DAY));
      const batches: BatchReport[] = [];
      const r = await f.engine.purge(rule, { cutoff: new Date(NOW.getTime() - 30 * DAY), batchSize: 10, onBatch: (b) => batches.push(b) });
      expect(batches.map((b) => [b.batch, b.deleted])).toEqual([[1, 10], [2, 10], [3, 5]]);
      expect(r).toMatchObject({ items: 25, batches: 3 });
      expect(await f.remaining()).toEqual(ids(26, 30));
    });

    it('an exact multiple of batchSize needs no extra batch', async () => {
      await f.seed(Array<number>(20).fill(50 * DAY));
      const rule = await f.engine.check(f.rule(30 * DAY));
      const r = await f.engine.purge(rule, { cutoff: new Date(NOW.getTime() - 30 * DAY), batchSize: 10 });
      expect(r).toMatchObject({ items: 20, batches: 2 });
      expect(await f.remaining()).toEqual([]);
    });

    it('an abort stops between batches: committed batches stay deleted, the rest stays', async () => {
      await f.seed(Array<number>(30).fill(50 * DAY));
      const rule = await f.engine.check(f.rule(30 * DAY));
      const ctl = new AbortController();
      const err = await rejection(
        f.engine.purge(rule, { cutoff: new Date(NOW.getTime() - 30 * DAY), batchSize: 10, signal: ctl.signal, onBatch: () => ctl.abort() }),
      );
      expect(isArcaError(err, 'ABORTED'), err.message).toBe(true);
      expect((await f.remaining()).length).toBe(20);
    });

    it('nothing old: nothing deleted, no batch', async () => {
      await f.seed([1, 2, 3].map((d) => d * DAY));
      const rule = await f.engine.check(f.rule(30 * DAY));
      const cutoff = new Date(NOW.getTime() - 30 * DAY);
      expect((await f.engine.count(rule, cutoff)).items).toBe(0);
      expect(await f.engine.purge(rule, { cutoff, batchSize: 10 })).toMatchObject({ items: 0, batches: 0 });
      expect(await f.remaining()).toEqual([1, 2, 3]);
    });

    it('close() twice is harmless', async () => {
      await f.engine.close();
      await f.engine.close();
    });
  });
}

// The purge engines' shared pieces: globs, keyset conditions, the batch loop
// and the grace period of a batch running when an abort comes.
import { describe, expect, it } from 'vitest';
import { globToRegExp } from '../../../src/jobs/purge/files.js';
import { keysetCondition, Params, pickName, runBatches, withAbortGrace } from '../../../src/jobs/purge/purge-batches.js';

describe('globToRegExp', () => {
  const cases: Array<[string, string[], string[]]> = [
    ['*.log', ['a.log', '.hidden.log'], ['d/a.log', 'a.txt']],
    ['**/*.log', ['a.log', 'd/a.log', 'd/e/a.log'], ['a.txt', 'd/a.log.1']],
    ['logs/**', ['logs/a', 'logs/d/e'], ['logs', 'other/a']],
    ['logs/**/x?.[ab]', ['logs/x1.a', 'logs/d/xz.b'], ['logs/x1.c', 'logs/x12.a']],
    ['[!a]*.{log,txt}', ['b.log', 'c.txt'], ['a.log', 'b.csv']],
    ['a+b(1).log', ['a+b(1).log'], ['aab1.log']],
  ];
  for (const [glob, yes, no] of cases) {
    it(glob, () => {
      const re = globToRegExp(glob);
      for (const p of yes) expect(re.test(p), p).toBe(true);
      for (const p of no) expect(re.test(p), p).toBe(false);
    });
  }
  it('refuses globs that leave the directory or are malformed', () => {
    for (const bad of ['/etc/*', '../x', 'a/../b', 'a//b', 'a**', '[ab', '{a,b', 'a\\b', '{a,{b}}']) {
      expect(() => globToRegExp(bad), bad).toThrow(expect.objectContaining({ code: 'USAGE' }));
    }
  });
});

describe('keysetCondition', () => {
  it('writes row comparisons out so indexes serve them, in each placeholder style', () => {
    const p = new Params('$');
    p.add('x');
    expect(keysetCondition(['a', 'b'], [1, 2], '>', p, ['::int', '::text'])).toBe('(a > $2::int OR (a = $3::int AND b > $4::text))');
    expect(p.values).toEqual(['x', 1, 1, 2]);
    const q = new Params('?');
    expect(keysetCondition(['k'], [5], '<=', q)).toBe('k <= ?');
    expect(keysetCondition(['a', 'b', 'c'], [1, 2, 3], '<=', q)).toBe('(a < ? OR (a = ? AND (b < ? OR (b = ? AND c <= ?))))');
  });
});

describe('pickName', () => {
  it('prefers the exact spelling, else one match ignoring case', () => {
    expect(pickName('Ev', ['ev', 'Ev'])).toBe('Ev');
    expect(pickName('EV', ['ev'])).toBe('ev');
    expect(pickName('EV', ['ev', 'Ev'])).toBeUndefined();
  });
});

describe('runBatches and withAbortGrace', () => {
  it('runs until a batch says there is no more, reporting the batches that deleted something', async () => {
    const steps = [{ deleted: 3, bytes: 0, more: true }, { deleted: 0, bytes: 0, more: true }, { deleted: 2, bytes: 5, more: false }];
    const seen: number[] = [];
    const r = await runBatches({ cutoff: new Date(), batchSize: 3, onBatch: (b) => seen.push(b.batch) }, async () => steps.shift()!);
    expect(r).toEqual({ items: 5, bytes: 5, batches: 2 });
    expect(seen).toEqual([1, 2]);
  });

  it('an aborted signal stops before the next batch', async () => {
    const ctl = new AbortController();
    let n = 0;
    const run = runBatches({ cutoff: new Date(), batchSize: 1, signal: ctl.signal }, async () => {
      n++;
      ctl.abort();
      return { deleted: 1, bytes: 0, more: true };
    });
    await expect(run).rejects.toMatchObject({ code: 'ABORTED' });
    expect(n).toBe(1);
  });

  it('a running statement gets the grace period, then is cancelled', async () => {
    const ctl = new AbortController();
    let cancelled = 0;
    const quick = withAbortGrace(ctl.signal, new Promise((r) => setTimeout(() => r('done'), 30)), async () => void cancelled++, 200);
    ctl.abort();
    expect(await quick).toBe('done');
    let rejectSlow: (e: Error) => void = () => undefined;
    const slow = withAbortGrace(ctl.signal, new Promise((_, reject) => (rejectSlow = reject)), async () => {
      cancelled++;
      rejectSlow(new Error('canceled'));
    }, 50);
    await expect(slow).rejects.toThrow('canceled');
    expect(cancelled).toBe(1);
  });
});

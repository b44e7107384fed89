// The files purge engine: the shared contract, then globs over nested
// paths, symlinks never followed nor deleted, directories never deleted.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PurgeRuleSpec } from '../../../src/catalog/purge-rules.js';
import { openPurgeEngine } from '../../../src/jobs/purge/index.js';
import { makeScratch } from '../../helpers/index.js';
import { DAY, NOW, purgeEngineContract } from './purge-contract.js';

const scratch = makeScratch('purge-files');
afterAll(() => scratch.cleanup());
let n = 0;

const rule = (glob: string, olderThanMs: number): PurgeRuleSpec => ({ kind: 'files', glob, olderThan: `${olderThanMs / DAY}d`, olderThanMs });

function file(path: string, ageMs: number, bytes = 10): void {
  writeFileSync(path, 'x'.repeat(bytes));
  const t = (NOW.getTime() - ageMs) / 1000;
  utimesSync(path, t, t);
}

purgeEngineContract('files', async () => {
  const root = join(scratch.root, `dir${++n}`);
  mkdirSync(root);
  return {
    engine: await openPurgeEngine(pathToFileURL(root).href),
    rule: (ms) => rule('**/*.log', ms),
    seed: async (ages) => {
      for (const f of readdirSync(root)) rmSync(join(root, f), { recursive: true });
      // Spread over a nested folder, named so that walk order is id order.
      mkdirSync(join(root, 'z'));
      ages.forEach((a, i) => file(join(root, i % 2 ? 'z' : '', `${String(i + 1).padStart(3, '0')}.log`), a));
    },
    remaining: async () =>
      [...readdirSync(root), ...readdirSync(join(root, 'z'))].filter((f) => f.endsWith('.log')).map((f) => Number(f.slice(0, 3))).sort((a, b) => a - b),
    invalid: [
      { rule: rule('/etc/*.log', DAY), message: /relative to the directory/ },
      { rule: rule('../x/*.log', DAY), message: /"\." and "\.\." segments/ },
      { rule: rule('a**b', DAY), message: /\*\* must be a whole path segment/ },
      { rule: { kind: 'table', table: 't', column: 'c', olderThan: '1d', olderThanMs: DAY }, message: /--glob/ },
    ],
    cleanup: async () => undefined,
  };
});

describe('files purge engine', () => {
  it('matches the glob against the relative path; never follows or deletes symlinks; keeps directories', async () => {
    const root = join(scratch.root, 'tree');
    const outside = join(scratch.root, 'outside');
    mkdirSync(join(root, 'logs', 'old'), { recursive: true });
    mkdirSync(outside);
    file(join(outside, 'precious.log'), 100 * DAY);
    symlinkSync(outside, join(root, 'logs', 'link-to-outside'));
    symlinkSync(join(outside, 'precious.log'), join(root, 'logs', 'link.log'));
    file(join(root, 'top.log'), 100 * DAY, 5);
    file(join(root, 'logs', 'a.log'), 100 * DAY, 7);
    file(join(root, 'logs', 'a.txt'), 100 * DAY);
    file(join(root, 'logs', 'old', 'b.log'), 100 * DAY, 11);
    file(join(root, 'logs', 'young.log'), DAY);
    const e = await openPurgeEngine(pathToFileURL(root).href);
    const cutoff = new Date(NOW.getTime() - 30 * DAY);
    try {
      const r = await e.check(rule('logs/**/*.log', 30 * DAY));
      expect(await e.count(r, cutoff)).toEqual({ items: 2, bytes: 18 });
      expect(await e.purge(r, { cutoff, batchSize: 1 })).toEqual({ items: 2, bytes: 18, batches: 2 });
      expect(await e.count(await e.check(rule('*.log', 30 * DAY)), cutoff)).toEqual({ items: 1, bytes: 5 });
      expect(await e.count(await e.check(rule('logs/{a,young}.{log,txt}', 30 * DAY)), cutoff)).toEqual({ items: 1, bytes: 10 });
    } finally {
      await e.close();
    }
    expect(existsSync(join(outside, 'precious.log'))).toBe(true);
    expect(existsSync(join(root, 'logs', 'link.log'))).toBe(true);
    expect(existsSync(join(root, 'logs', 'old'))).toBe(true);
    expect(existsSync(join(root, 'logs', 'young.log'))).toBe(true);
    expect(existsSync(join(root, 'logs', 'a.log'))).toBe(false);
  });
});

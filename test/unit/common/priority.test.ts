// Job-thread priority for the server: a worker lowers only its own thread
// (the thread that created it keeps its nice value), and once job threads are
// lowered, child tools start under nice and ionice where those exist.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { jobThreadNice, LOW_PRIORITY_NICE, lowerJobThreads, lowPriorityCommand } from '../../../src/common/priority.js';

/** Field 19 of a /proc stat line (after the command in parentheses). */
function niceIn(stat: string): number {
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

/** Runs lowerCurrentThread() in a worker; resolves with the worker's nice value read there afterwards. */
function niceOfLoweredWorker(): Promise<number> {
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const module = new URL('../../../src/common/priority.ts', import.meta.url).href;
  const code = `
    const { parentPort } = await import('node:worker_threads');
    const { readFileSync } = await import('node:fs');
    (await import(${JSON.stringify(tsxApi)})).register();
    const { lowerCurrentThread } = await import(${JSON.stringify(module)});
    lowerCurrentThread();
    parentPort.postMessage(readFileSync('/proc/thread-self/stat', 'utf8'));`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, type: 'module' } as ConstructorParameters<typeof Worker>[1]);
    w.once('message', (stat: string) => {
      resolve(niceIn(stat));
      void w.terminate();
    });
    w.once('error', reject);
  });
}

describe.runIf(process.platform === 'linux')('job thread priority', () => {
  it('lowers only the calling worker thread, never the thread that answers requests', async () => {
    const before = niceIn(readFileSync('/proc/thread-self/stat', 'utf8'));
    const workerNice = await niceOfLoweredWorker();
    expect(workerNice).toBe(Math.max(before, LOW_PRIORITY_NICE));
    expect(niceIn(readFileSync('/proc/thread-self/stat', 'utf8'))).toBe(before);
  });

  it('leaves child tools alone until job threads are lowered, then wraps them in nice and ionice', () => {
    expect(jobThreadNice()).toBeNull();
    expect(lowPriorityCommand('pg_dump', ['-Fc', 'db'])).toEqual({ command: 'pg_dump', args: ['-Fc', 'db'] });
    lowerJobThreads();
    expect(jobThreadNice()).toBe(LOW_PRIORITY_NICE);
    const wrapped = lowPriorityCommand('pg_dump', ['-Fc', 'db']);
    const argv = [wrapped.command, ...wrapped.args];
    // The tool and its arguments come last and unchanged; nice (and ionice, where installed) before them.
    expect(argv.slice(-3)).toEqual(['pg_dump', '-Fc', 'db']);
    expect(argv[0]).toMatch(/\/nice$/);
    expect(argv.slice(1, 3)).toEqual(['-n', String(LOW_PRIORITY_NICE)]);
  });
});

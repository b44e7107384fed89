// Graceful shutdown in-process: stop() lets a request in flight finish, asks
// the jobs the server runs to stop (and waits for them), refuses new jobs,
// and stops accepting connections.
import { describe, expect, it } from 'vitest';
import { ArcaError } from '../../../src/errors.js';
import { startTestServer } from './fixture.js';

describe('Server.stop', () => {
  it('finishes requests in flight, stops running jobs, then refuses connections', async () => {
    const t = await startTestServer({ label: 'api-lifecycle' });
    let jobSawAbort: unknown = null;
    const job = t.server.jobs.start('test job', (signal) =>
      new Promise<string>((resolve) => {
        signal.addEventListener('abort', () => {
          jobSawAbort = signal.reason;
          setTimeout(() => resolve('recorded'), 200); // a job takes a moment to record its outcome
        });
      }),
    );
    expect(t.server.jobs.labels()).toEqual(['test job']);
    // Opening the volume derives its key (scrypt): this request is still running when stop() begins.
    const inFlight = t.as.viewer.get('/api/v1/databases/docs/backups');
    await new Promise((r) => setTimeout(r, 100));
    await t.server.stop();
    const answered = await inFlight;
    expect(answered.status, answered.text).toBe(200);
    expect(await job).toBe('recorded');
    expect(jobSawAbort).toBeInstanceOf(ArcaError);
    expect(t.server.jobs.size).toBe(0);
    expect(() => t.server.jobs.start('late', async () => 1)).toThrow(/shutting down/);
    await expect(t.anon.get('/healthz')).rejects.toThrow(/ECONNREFUSED/);
    await t.close();
  });
});

describe('Server.stop with a backup running and an event stream open', () => {
  it('ends the stream, aborts the backup and records it as aborted', async () => {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const { randomBytes } = await import('node:crypto');
    const { addDatabase } = await import('../../../src/catalog/index.js');
    const { getJob } = await import('../../../src/catalog/jobs.js');
    const { parseSse } = await import('./client.js');
    const t = await startTestServer({ label: 'api-lifecycle-jobs' });
    const big = t.scratch.path('big');
    mkdirSync(big);
    for (let i = 0; i < 40; i++) writeFileSync(`${big}/f${i}`, randomBytes(4 * 1024 * 1024));
    addDatabase(t.catalog, { name: 'big', url: `file://${big}` });
    const r = await t.as.operator.put('/api/v1/databases/big/backups/start', { body: {} });
    expect(r.status, r.text).toBe(202);
    const id = (r.json as { id: number }).id;
    const stream = t.as.viewer.get(`/api/v1/jobs/${id}/events?interval=100`);
    await new Promise((res) => setTimeout(res, 300));
    await t.server.stop();
    const events = parseSse((await stream).text);
    expect(['shutdown', 'end']).toContain(events.at(-1)!.event);
    expect(getJob(t.catalog, id)).toMatchObject({ status: 'aborted' });
    await t.close();
  });
});

// `arca --server URL …` (the built CLI, token in ARCA_TOKEN, the server's
// self-signed certificate in ARCA_SERVER_CA) against an in-process server:
// the same commands print the same JSON as a local run on the same catalog,
// a backup and a restore run on the server, and errors keep their exit status.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../../src/catalog/tokens.js';
import { requireBuiltCli, runArca, type ArcaResult } from '../../helpers/index.js';
import { startTestServer, type TestServer } from './fixture.js';

let t: TestServer;
let env: Record<string, string | undefined>;
beforeAll(async () => {
  requireBuiltCli();
  t = await startTestServer({ label: 'remote-cli' });
  env = { ARCA_TOKEN: createToken(t.catalog, 'operator', 'cli').token, ARCA_SERVER_CA: t.tls!.certFile, ARCA_PASSWORD: undefined };
});
afterAll(async () => t?.close());

const remote = (args: string[], extra: Record<string, string | undefined> = {}): Promise<ArcaResult> =>
  runArca(['--server', t.server.url, ...args], { home: t.scratch.path('client-home'), env: { ...env, ...extra } });
const local = (args: string[]): Promise<ArcaResult> => runArca(args, { home: t.home });

describe('arca --server', () => {
  it('lists databases, backups and jobs as a local run does', async () => {
    for (const args of [['--json', 'db', 'list'], ['--json', 'backups'], ['--json', 'backups', 'docs'], ['db', 'list'], ['backups', 'docs']]) {
      const [r, l] = [await remote(args), await local(args)];
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout, args.join(' ')).toBe(l.stdout);
    }
    const jobs = await remote(['--json', 'jobs', '--limit', '5']);
    expect(jobs.code, jobs.stderr).toBe(0);
    expect(JSON.parse(jobs.stdout)).toEqual(JSON.parse((await local(['--json', 'jobs', '--limit', '5'])).stdout));
    const progress = await remote(['progress', 'docs']);
    expect(progress.stdout.trim()).toBe('no job running for docs');
  });

  it('runs a backup and a restore on the server', async () => {
    const b = await remote(['backup', 'docs', '--level', '1', '--expire', '2d']);
    expect(b.code, b.stderr).toBe(0);
    const id = b.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const shown = JSON.parse((await local(['--json', 'backups', 'docs'])).stdout) as Array<{ id: string; level: number; expiresAt: string | null }>;
    expect(shown.find((x) => x.id === id)).toMatchObject({ level: 1, expiresAt: expect.any(String) });
    const to = t.scratch.path('restored-remote');
    const r = await remote(['--json', 'restore', id.slice(0, 12), '--to', to]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ backup: { id }, target: to });
    expect(readFileSync(`${to}/readme.txt`, 'utf8')).toBe('hello from the api test\n');
  });

  it('keeps error exit statuses and says what is missing', async () => {
    const missing = await remote(['backups', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^arca: server: no database named nope/);
    expect((await remote(['abort', 'docs'])).code).toBe(1);
    expect((await remote(['backup', 'docs', '--level', '12'])).code).toBe(2);
    const noToken = await remote(['db', 'list'], { ARCA_TOKEN: undefined });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('ARCA_TOKEN');
    const badToken = await remote(['db', 'list'], { ARCA_TOKEN: 'arca_000000000000_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' });
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toContain('invalid or revoked API token');
    const untrusted = await remote(['db', 'list'], { ARCA_SERVER_CA: undefined });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/cannot reach the server/);
    const unsupported = await remote(['volume', 'list']);
    expect(unsupported.code).toBe(2);
    expect(unsupported.stderr).toContain('does not run against a server');
  });
});

// `arca serve` as a real process, with users and tokens made by the real CLI:
// the first start without users says how to create one; the self-signed
// certificate is made once (key 0600) and reused; a token works over HTTPS
// and stops working once revoked; --insecure-http serves plain HTTP; SIGTERM
// stops the server cleanly (exit 0).
import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arcaOk,
  describeRun,
  expectCleanFailure,
  makeScratch,
  requireBuiltCli,
  runArca,
  spawnArca,
  type ArcaOptions,
  type Scratch,
  type SpawnedArca,
} from '../../helpers/index.js';
import { ApiClient } from './client.js';

let scratch: Scratch;
let opts: ArcaOptions;

beforeAll(() => {
  requireBuiltCli();
  scratch = makeScratch('serve-cli');
  opts = { home: scratch.path('home') };
});
afterAll(() => scratch?.cleanup());

/** Starts `arca serve` and waits for its "listening on URL" line. */
async function serve(extra: string[] = []): Promise<{ run: SpawnedArca; url: string; stdout: () => string }> {
  const run = spawnArca(['serve', '--listen', '127.0.0.1:0', '--log-level', 'warn', ...extra], opts);
  let out = '';
  run.child.stdout?.on('data', (b: Buffer) => (out += b.toString('utf8')));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const m = /listening on (\S+)/.exec(out);
    if (m) return { run, url: m[1]!, stdout: () => out };
    if (run.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  run.child.kill('SIGKILL');
  throw new Error(`arca serve did not start:\n${describeRun(await run.done)}`);
}

async function stop(run: SpawnedArca): Promise<string> {
  run.child.kill('SIGTERM');
  const r = await run.done;
  expect(r.code, describeRun(r)).toBe(0);
  expect(r.signal).toBeNull();
  return r.stderr;
}

describe('arca serve', () => {
  it('first start: no users yet (says how to add one), a new self-signed certificate; SIGTERM exits 0', async () => {
    const { run, url, stdout } = await serve();
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(stdout()).toMatch(/created a self-signed certificate/);
    const certFile = scratch.path('home', 'tls', 'server.crt');
    const keyFile = scratch.path('home', 'tls', 'server.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const client = new ApiClient(url, readFileSync(certFile, 'utf8'));
    expect((await client.get('/healthz')).status).toBe(200);
    expect((await client.get('/api/v1/databases')).status).toBe(401);
    const stderr = await stop(run);
    expect(stderr).toContain('arca user add NAME --role admin');
  });

  it('users and tokens from the CLI; the certificate is reused; a revoked token stops working', async () => {
    const cert = readFileSync(scratch.path('home', 'tls', 'server.crt'), 'utf8');
    await arcaOk(['user', 'add', 'root', '--role', 'admin', '--password-stdin'], { ...opts, input: 'root password 1\n' });
    await arcaOk(['user', 'add', 'watcher', '--role', 'viewer', '--password-stdin'], { ...opts, input: 'watcher password 2' });
    const noTty = await runArca(['user', 'add', 'x', '--role', 'viewer'], opts);
    expectCleanFailure(noTty, [2]);
    expect(noTty.stderr).toMatch(/--password-stdin/);
    expectCleanFailure(await runArca(['user', 'add', 'y', '--role', 'boss', '--password-stdin'], { ...opts, input: 'long enough' }), [2]);
    expectCleanFailure(await runArca(['user', 'add', 'root', '--role', 'viewer', '--password-stdin'], { ...opts, input: 'long enough' }), [1]);
    const users = JSON.parse((await arcaOk(['user', 'list', '--json'], opts)).stdout) as Array<{ name: string; role: string }>;
    expect(users.map((u) => [u.name, u.role])).toEqual([['root', 'admin'], ['watcher', 'viewer']]);

    const created = JSON.parse((await arcaOk(['token', 'create', '--user', 'watcher', '--name', 'grafana', '--json'], opts)).stdout) as { id: string; token: string };
    const listed = await arcaOk(['token', 'list', '--json'], opts);
    expect(listed.stdout).not.toContain(created.token);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id: created.id, user: 'watcher', name: 'grafana' })]);

    const { run, url, stdout } = await serve();
    expect(stdout()).not.toMatch(/created a self-signed certificate/);
    expect(readFileSync(scratch.path('home', 'tls', 'server.crt'), 'utf8')).toBe(cert);
    const client = new ApiClient(url, cert);
    expect((await client.get('/api/v1/databases', { auth: { user: 'root', password: 'root password 1' } })).status).toBe(200);
    expect((await client.get('/api/v1/volumes', { auth: { token: created.token } })).status).toBe(200);
    expect((await client.post('/api/v1/databases', { name: 'x', url: '/tmp' }, { auth: { token: created.token } })).status).toBe(403);
    await arcaOk(['token', 'revoke', created.id], opts);
    expect((await client.get('/api/v1/volumes', { auth: { token: created.token } })).status).toBe(401);
    await arcaOk(['user', 'passwd', 'root', '--password-stdin'], { ...opts, input: 'root password 3\n' });
    expect((await client.get('/api/v1/jobs', { auth: { user: 'root', password: 'root password 3' } })).status).toBe(200);
    const stderr = await stop(run);
    expect(stderr).not.toContain('arca user add');
    expect(stderr).not.toContain('root password');
  });

  it('--insecure-http serves plain HTTP', async () => {
    const { run, url } = await serve(['--insecure-http']);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await new ApiClient(url, null).get('/api/v1/jobs', { auth: { user: 'watcher', password: 'watcher password 2' } });
    expect(r.status).toBe(200);
    await stop(run);
  });

  it('refuses --insecure-http with --tls-cert, half a key pair, and a busy port', async () => {
    expectCleanFailure(await runArca(['serve', '--insecure-http', '--tls-cert', 'a.crt', '--tls-key', 'a.key'], opts), [2]);
    expectCleanFailure(await runArca(['serve', '--tls-cert', 'a.crt'], opts), [2]);
    expectCleanFailure(await runArca(['serve', '--listen', 'nonsense'], opts), [2]);
    const { run, url } = await serve();
    const busy = await runArca(['serve', '--listen', `127.0.0.1:${new URL(url).port}`], opts);
    expectCleanFailure(busy, [1]);
    expect(busy.stderr).toMatch(/address is in use/);
    await stop(run);
  });
});

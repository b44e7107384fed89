// Who may do what, over real HTTPS: every endpoint for each role (allowed or
// 403, and forbidden changes change nothing), 401 without or with wrong
// credentials, Bearer tokens (working, revoked, of a removed user), and the
// failed-login throttle per user and per address (429 with Retry-After).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDatabases, listVolumes } from '../../../src/catalog/index.js';
import { finishJob, startJob } from '../../../src/catalog/jobs.js';
import { createToken, listTokens, revokeToken } from '../../../src/catalog/tokens.js';
import { addUser, removeUser, setUserPassword, type UserRole } from '../../../src/catalog/users.js';
import { errorOf, type ApiClient, type ApiResponse } from './client.js';
import { PASSWORDS, startTestServer, TEST_SCRYPT, type TestServer } from './fixture.js';

interface Endpoint {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  least: UserRole;
  body?: () => unknown;
}

const ENDPOINTS: Endpoint[] = [
  { method: 'GET', path: '/api/v1/databases', least: 'viewer' },
  { method: 'GET', path: '/api/v1/databases/docs', least: 'viewer' },
  { method: 'GET', path: '/api/v1/databases/docs/backups', least: 'viewer' },
  { method: 'GET', path: '/api/v1/databases/docs/backups/progress', least: 'viewer' },
  { method: 'GET', path: '/api/v1/volumes', least: 'viewer' },
  { method: 'GET', path: '/api/v1/jobs', least: 'viewer' },
  { method: 'GET', path: '/openapi.json', least: 'viewer' },
  { method: 'PUT', path: '/api/v1/databases/docs/backups/abort', least: 'operator' },
  { method: 'POST', path: '/api/v1/databases', least: 'admin', body: () => ({ name: 'added', url: t.scratch.path('docs') }) },
  { method: 'DELETE', path: '/api/v1/databases/spare', least: 'admin' },
  { method: 'POST', path: '/api/v1/volumes', least: 'admin', body: () => ({ name: 'made', location: t.scratch.path('made') }) },
];
const RANK: Record<UserRole, number> = { viewer: 0, operator: 1, admin: 2 };

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ label: 'api-auth', trustProxy: true });
});
afterAll(async () => t?.close());

function call(client: ApiClient, e: Endpoint, headers?: Record<string, string>): Promise<ApiResponse> {
  return client.request(e.method, e.path, { ...(e.body ? { body: e.body() } : {}), ...(headers ? { headers } : {}) });
}

function expectStatus(r: ApiResponse, status: number, what: string): void {
  expect(r.status, `${what}: ${r.text}`).toBe(status);
}

describe('roles', () => {
  for (const role of ['viewer', 'operator', 'admin'] as const) {
    it(`a ${role} may do what its role allows and gets 403 (nothing changed) for the rest`, async () => {
      for (const e of ENDPOINTS) {
        const what = `${role} ${e.method} ${e.path}`;
        const before = { dbs: listDatabases(t.catalog).map((d) => d.name), vols: listVolumes(t.catalog).map((v) => v.name) };
        const allowed = RANK[role] >= RANK[e.least];
        // Fresh state for the changes an allowed call makes.
        const running = e.path.endsWith('/abort') ? startJob(t.catalog, { kind: 'backup', database: 'docs', volume: 'local' }) : null;
        if (e.method === 'DELETE') await t.as.admin.post('/api/v1/databases', { name: 'spare', url: t.scratch.path('docs') });
        try {
          const r = await call(t.as[role], e);
          if (!allowed) {
            expectStatus(r, 403, what);
            expect(errorOf(r).code).toBe('FORBIDDEN');
            expect(errorOf(r).message).toContain(`needs the ${e.least} role`);
            if (e.method !== 'DELETE') {
              expect(listDatabases(t.catalog).map((d) => d.name), what).toEqual(before.dbs);
              expect(listVolumes(t.catalog).map((v) => v.name), what).toEqual(before.vols);
            }
          } else {
            expect(r.status, `${what}: ${r.text}`).toBeGreaterThanOrEqual(200);
            expect(r.status, `${what}: ${r.text}`).toBeLessThan(300);
          }
        } finally {
          if (running) finishJob(t.catalog, running.id, { status: 'aborted' });
          if (e.method === 'DELETE' && listDatabases(t.catalog).some((d) => d.name === 'spare')) {
            await t.as.admin.delete('/api/v1/databases/spare');
          }
          if (e.path === '/api/v1/databases' && e.method === 'POST') await t.as.admin.delete('/api/v1/databases/added');
        }
      }
    });
  }
});

describe('authentication', () => {
  it('answers 401 with WWW-Authenticate without credentials, with wrong ones, and with a malformed header', async () => {
    const attempts: Array<[string, ApiClient]> = [
      ['none', t.anon],
      ['wrong password', t.anon.withAuth({ user: 'admin', password: 'not the password' })],
      ['unknown user', t.anon.withAuth({ user: 'mallory', password: PASSWORDS.admin })],
      ['malformed', t.anon.withAuth({ header: 'Basic !!!' })],
      ['other scheme', t.anon.withAuth({ header: 'Digest abc' })],
      ['bad token', t.anon.withAuth({ token: 'arca_000000000000_' + 'A'.repeat(43) })],
    ];
    for (const e of ENDPOINTS) {
      t.advance(5 * 60_000 + 1000); // the user-name throttle (5 failures per 5 minutes) stays out of the way too
      for (const [label, client] of attempts) {
        // Each failure comes from its own address, so the throttle stays out of the way.
        const r = await call(client, e, { 'x-forwarded-for': `10.1.${ENDPOINTS.indexOf(e)}.${attempts.findIndex(([l]) => l === label)}` });
        expectStatus(r, 401, `${label}: ${e.method} ${e.path}`);
        expect(r.headers['www-authenticate']).toMatch(/^Basic realm="arca".*Bearer realm="arca"/);
        expect(errorOf(r).code).toBe('UNAUTHORIZED');
      }
    }
    expect(listDatabases(t.catalog).map((d) => d.name)).toEqual(['docs']);
    t.advance(5 * 60_000 + 1000);
  });

  it('accepts a Bearer token until it is revoked, and not once its user is removed', async () => {
    await addUser(t.catalog, { name: 'robot', role: 'operator', password: 'robot password 4' }, TEST_SCRYPT);
    const created = createToken(t.catalog, 'robot', 'ci');
    const bearer = t.anon.withAuth({ token: created.token });
    expectStatus(await bearer.get('/api/v1/databases'), 200, 'token');
    expect(listTokens(t.catalog, 'robot')[0]!.lastUsedAt).not.toBeNull();
    expectStatus(await bearer.post('/api/v1/databases', { name: 'x', url: '/tmp' }), 403, 'operator token, admin endpoint');
    const tampered = t.anon.withAuth({ token: created.token.slice(0, -1) + (created.token.endsWith('A') ? 'B' : 'A') });
    expectStatus(await tampered.get('/api/v1/databases', { headers: { 'x-forwarded-for': '10.2.0.1' } }), 401, 'tampered');
    revokeToken(t.catalog, created.id);
    expectStatus(await bearer.get('/api/v1/databases', { headers: { 'x-forwarded-for': '10.2.0.2' } }), 401, 'revoked');
    const second = createToken(t.catalog, 'robot');
    expectStatus(await t.anon.withAuth({ token: second.token }).get('/api/v1/volumes'), 200, 'second token');
    removeUser(t.catalog, 'robot');
    expect(listTokens(t.catalog, 'robot')).toEqual([]);
    expectStatus(await t.anon.withAuth({ token: second.token }).get('/api/v1/volumes', { headers: { 'x-forwarded-for': '10.2.0.3' } }), 401, 'removed user');
  });

  it('forgets a remembered login as soon as the password changes', async () => {
    await addUser(t.catalog, { name: 'carol', role: 'viewer', password: 'carol password 5' }, TEST_SCRYPT);
    const carol = t.anon.withAuth({ user: 'carol', password: 'carol password 5' });
    expectStatus(await carol.get('/api/v1/jobs'), 200, 'first login');
    await setUserPassword(t.catalog, 'carol', 'carol password 6', TEST_SCRYPT);
    expectStatus(await carol.get('/api/v1/jobs', { headers: { 'x-forwarded-for': '10.3.0.1' } }), 401, 'old password');
    expectStatus(await t.anon.withAuth({ user: 'carol', password: 'carol password 6' }).get('/api/v1/jobs'), 200, 'new password');
  });
});

describe('failed-login throttle', () => {
  const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });

  it('locks a user name after 5 failures in 5 minutes, from any address, even with the right password', async () => {
    const wrong = t.anon.withAuth({ user: 'viewer', password: 'guess' });
    for (let i = 1; i <= 5; i++) expectStatus(await wrong.get('/api/v1/jobs', from(`10.4.0.${i}`)), 401, `failure ${i}`);
    const locked = await t.as.viewer.get('/api/v1/jobs', from('10.4.1.1'));
    expectStatus(locked, 429, 'locked user');
    expect(errorOf(locked).code).toBe('RATE_LIMITED');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(300);
    expectStatus(await t.as.operator.get('/api/v1/jobs', from('10.4.1.1')), 200, 'another user, same address');
    t.advance(5 * 60_000 + 1000);
    expectStatus(await t.as.viewer.get('/api/v1/jobs', from('10.4.1.1')), 200, 'after the window');
  });

  it('locks an address after 5 failures in 5 minutes, whoever it tries', async () => {
    for (let i = 1; i <= 5; i++) {
      const who = t.anon.withAuth(i % 2 ? { token: `arca_${'0'.repeat(12)}_${'x'.repeat(43)}` } : { user: `nobody${i}`, password: 'guess' });
      expectStatus(await who.get('/api/v1/volumes', from('10.5.0.1')), 401, `failure ${i}`);
    }
    const locked = await t.as.admin.get('/api/v1/volumes', from('10.5.0.1'));
    expectStatus(locked, 429, 'locked address');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expectStatus(await t.as.admin.get('/api/v1/volumes', from('10.5.0.2')), 200, 'another address');
    expectStatus(await t.anon.get('/healthz', from('10.5.0.1')), 200, '/healthz needs no login');
    t.advance(4 * 60_000);
    expectStatus(await t.as.admin.get('/api/v1/volumes', from('10.5.0.1')), 429, 'still within the window');
    t.advance(60_000 + 1000);
    expectStatus(await t.as.admin.get('/api/v1/volumes', from('10.5.0.1')), 200, 'after the window');
  });
});

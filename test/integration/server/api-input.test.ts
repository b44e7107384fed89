// Bad input gets a 4xx with a clear `{error: {code, message}}` and changes
// nothing: malformed JSON, empty bodies, unknown fields, wrong types, names
// with "/" or "..", wrong content types, oversized bodies. No answer ever
// carries a stack trace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDatabases, listVolumes } from '../../../src/catalog/index.js';
import { errorOf, type ApiResponse } from './client.js';
import { startTestServer, type TestServer } from './fixture.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ label: 'api-input' });
});
afterAll(async () => t?.close());

function state(): string {
  return JSON.stringify({ dbs: listDatabases(t.catalog), vols: listVolumes(t.catalog) });
}

function expectClean4xx(r: ApiResponse, status: number, what: string, message?: RegExp): void {
  expect(r.status, `${what}: ${r.text}`).toBe(status);
  const error = errorOf(r);
  expect(error.code).toBe(status === 413 ? 'TOO_LARGE' : status === 404 ? 'NOT_FOUND' : 'USAGE');
  if (message) expect(error.message, what).toMatch(message);
  expect(r.text, what).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
}

describe('bodies', () => {
  const dir = (): string => t.scratch.path('docs');
  const cases: Array<[string, () => { rawBody: string; headers?: Record<string, string> }, RegExp]> = [
    ['malformed JSON', () => ({ rawBody: '{"name": "x", "url": ' }), /not valid JSON/],
    ['trailing garbage', () => ({ rawBody: '{"name": "x", "url": "/tmp"} xyz' }), /not valid JSON/],
    ['empty body', () => ({ rawBody: '' }), /empty/],
    ['an array', () => ({ rawBody: '[]' }), /expected object/],
    ['null', () => ({ rawBody: 'null' }), /expected object|not valid JSON/],
    ['unknown field', () => ({ rawBody: JSON.stringify({ name: 'x', url: dir(), admin: true }) }), /Unrecognized key: "admin"/],
    ['wrong type', () => ({ rawBody: JSON.stringify({ name: 42, url: dir() }) }), /name/],
    ['missing field', () => ({ rawBody: JSON.stringify({ name: 'x' }) }), /url/],
    ['a name with /', () => ({ rawBody: JSON.stringify({ name: 'a/b', url: dir() }) }), /invalid database name/],
    ['a name with ..', () => ({ rawBody: JSON.stringify({ name: '..', url: dir() }) }), /invalid database name/],
    ['a name a..b', () => ({ rawBody: JSON.stringify({ name: 'a..b', url: dir() }) }), /without '\.\.'/],
    ['an empty name', () => ({ rawBody: JSON.stringify({ name: '', url: dir() }) }), /invalid database name/],
    ['a proto key', () => ({ rawBody: '{"name": "x", "url": "/tmp", "__proto__": {"admin": true}}' }), /./],
    ['text/plain', () => ({ rawBody: JSON.stringify({ name: 'x', url: dir() }), headers: { 'content-type': 'text/plain' } }), /expected object/],
  ];
  for (const [label, body, message] of cases) {
    it(`POST /api/v1/databases with ${label} → 400, nothing changed`, async () => {
      const before = state();
      const r = await t.as.admin.request('POST', '/api/v1/databases', body());
      expectClean4xx(r, 400, label, message);
      expect(state()).toBe(before);
    });
  }

  it('an unsupported content type is refused (415), a huge body too (413); nothing changed', async () => {
    const before = state();
    const xml = await t.as.admin.request('POST', '/api/v1/volumes', { rawBody: '<volume/>', headers: { 'content-type': 'application/xml' } });
    expect(xml.status).toBe(415);
    expect(errorOf(xml).code).toBe('USAGE');
    const huge = await t.as.admin.request('POST', '/api/v1/volumes', { rawBody: JSON.stringify({ name: 'v', location: `/${'x'.repeat(2 * 1024 * 1024)}` }) });
    expectClean4xx(huge, 413, 'huge body');
    const wrongType = await t.as.admin.post('/api/v1/volumes', { name: 'v', location: ['/tmp/x'] });
    expectClean4xx(wrongType, 400, 'location array', /location/);
    const badName = await t.as.admin.post('/api/v1/volumes', { name: '../escape', location: t.scratch.path('escape') });
    expectClean4xx(badName, 400, 'volume ../escape', /invalid volume name/);
    expect(state()).toBe(before);
  });
});

describe('paths and query strings', () => {
  const paths: Array<[string, number]> = [
    ['/api/v1/databases/a..b', 400],
    ['/api/v1/databases/..', 400],
    ['/api/v1/databases/a%2Fb', 400],
    ['/api/v1/databases/%2E%2E', 400],
    ['/api/v1/databases/.hidden', 400],
    ['/api/v1/databases/a..b/backups', 400],
    ['/api/v1/databases/%2E%2E/backups/progress', 400],
    ['/api/v1/jobs?db=..', 400],
    ['/api/v1/jobs?limit=1.5', 400],
    ['/api/v1/jobs?limit=-1', 400],
    ['/api/v1/jobs?kind=backup&kind=check', 400],
    ['/api/v1/databases?verbose=1', 400],
    ['/api/v1/unknown', 404],
  ];
  for (const [path, status] of paths) {
    it(`GET ${path} → ${status}`, async () => {
      expectClean4xx(await t.as.viewer.get(path), status, path);
    });
  }

  it('DELETE of a bad name → 400 and nothing removed', async () => {
    const before = state();
    expectClean4xx(await t.as.admin.delete('/api/v1/databases/do..cs'), 400, 'delete do..cs');
    expectClean4xx(await t.as.admin.delete('/api/v1/databases/docs%2F..'), 400, 'delete docs/..');
    expect(state()).toBe(before);
  });

  it('PUT abort of a bad name → 400', async () => {
    expectClean4xx(await t.as.operator.put('/api/v1/databases/x%2Fy/backups/abort'), 400, 'abort x/y');
  });
});

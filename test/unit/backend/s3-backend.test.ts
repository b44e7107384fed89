// S3Backend against a local S3-compatible server (s3rver on loopback, started
// here): the shared Backend contract, with single PUTs and with every object
// a multipart upload, plus what is S3's own: prefixes, pagination, error
// classification without secrets, and openBackend('s3://…').

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendError } from '../../../src/backend/backend.js';
import { openBackend } from '../../../src/backend/open-backend.js';
import { RetryBackend } from '../../../src/backend/retry/retry-backend.js';
import { S3Backend, type S3BackendOptions } from '../../../src/backend/s3/s3-backend.js';
import { startS3Server, S3_TEST_CREDENTIALS, S3_TEST_REGION, type S3TestServer } from '../../helpers/s3-server.js';
import { backendError, collect, runBackendContract } from './contract.js';

let server: S3TestServer;
beforeAll(async () => {
  server = await startS3Server(['arca-test', 'other-bucket']);
});
afterAll(async () => {
  await server?.stop();
});

let counter = 0;
function make(options: S3BackendOptions = {}, bucket = 'arca-test', prefix = `t${++counter}-${randomBytes(4).toString('hex')}`): S3Backend {
  return S3Backend.open(`s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(server.endpoint)}`, {
    credentials: S3_TEST_CREDENTIALS,
    defaultRegion: S3_TEST_REGION,
    ...options,
  });
}

runBackendContract('S3Backend (s3rver)', async () => ({ backend: make(), cleanup: async () => undefined }));

runBackendContract('S3Backend, every object a multipart upload', async () => ({
  backend: make({ multipartThreshold: 1, partSize: 64 * 1024, partConcurrency: 3 }),
  cleanup: async () => undefined,
}));

describe('S3Backend specifics', () => {
  it('keeps each volume under its own prefix, and a bucket-wide volume sees them all', async () => {
    const a = make({}, 'other-bucket', 'vols/a');
    const b = make({}, 'other-bucket', 'vols/b');
    const whole = make({}, 'other-bucket', '');
    await a.put('config', Buffer.from('A'));
    await b.put('config', Buffer.from('BB'));
    expect((await a.get('config')).toString()).toBe('A');
    expect(await collect(b.list(''))).toEqual([{ key: 'config', size: 2 }]);
    expect(await collect(whole.list('vols/'))).toEqual([
      { key: 'vols/a/config', size: 1 },
      { key: 'vols/b/config', size: 2 },
    ]);
    expect(a.location).toBe('s3://other-bucket/vols/a');
    expect(whole.location).toBe('s3://other-bucket');
    await Promise.all([a.close(), b.close(), whole.close()]);
  });

  it('pages through long listings', async () => {
    const s = make({ listPageSize: 3 });
    const keys = Array.from({ length: 11 }, (_, i) => `snapshots/s${String(i).padStart(2, '0')}`);
    await Promise.all(keys.map((k) => s.put(k, Buffer.from(k))));
    await s.put('data/00/x', Buffer.alloc(5));
    expect((await collect(s.list('snapshots/'))).map((o) => o.key)).toEqual(keys);
    expect(await collect(s.list(''))).toHaveLength(12);
    await s.close();
  });

  it('puts a multi-part object whole, with parts uploaded at once and the limit on requests kept', async () => {
    const s = make({ multipartThreshold: 100_000, partSize: 40_000, partConcurrency: 4, connections: 2 });
    const data = randomBytes(250_001);
    await s.put('data/ab/big', data);
    expect((await s.get('data/ab/big')).equals(data)).toBe(true);
    expect((await s.get('data/ab/big', { offset: 39_990, length: 20 })).equals(data.subarray(39_990, 40_010))).toBe(true);
    expect(await s.stat('data/ab/big')).toEqual({ key: 'data/ab/big', size: data.length });
    await s.close();
  });

  it('skips objects whose names are not volume keys (folder markers, foreign files)', async () => {
    const whole = make({}, 'other-bucket', '');
    const s = make({}, 'other-bucket', 'mixed');
    await s.put('config', Buffer.from('c'));
    // Written by another tool through the bucket-wide view: not valid volume keys below "mixed/".
    await whole.put('mixed/ok', Buffer.from('x'));
    expect((await collect(s.list(''))).map((o) => o.key)).toEqual(['config', 'ok']);
    await Promise.all([s.close(), whole.close()]);
  });

  it('says clearly, and permanently, when the bucket does not exist', async () => {
    const s = make({}, 'no-such-bucket');
    const err = await backendError(s.put('config', Buffer.from('x')));
    expect(err.permanent).toBe(true);
    expect(err.notFound).toBe(false);
    expect(err.message).toMatch(/bucket "no-such-bucket" does not exist .*NoSuchBucket.*create it first/);
    expect((await backendError(collect(s.list('')))).permanent).toBe(true);
    await s.close();
  });

  it('reports refused credentials as permanent, without the secret or the key id', async () => {
    const s = make({ credentials: { accessKeyId: 'AKIAUNKNOWNKEY123456', secretAccessKey: 'very-secret-value-123' } });
    const err = await backendError(s.get('config'));
    expect(err.permanent).toBe(true);
    expect(err.message).toMatch(/access denied \(InvalidAccessKeyId, HTTP 403.*AWS_ACCESS_KEY_ID/);
    const everything = `${err.message} ${String(err.stack)} ${JSON.stringify(err)} ${String(err.cause)}`;
    expect(everything).not.toContain('very-secret-value-123');
    expect(everything).not.toContain('AKIAUNKNOWNKEY123456');
    await s.close();
  });

  it('reports an unreachable endpoint as transient, naming the endpoint', async () => {
    const s = S3Backend.open('s3://arca-test/x?endpoint=http://127.0.0.1:9', {
      credentials: S3_TEST_CREDENTIALS,
      defaultRegion: S3_TEST_REGION,
    });
    const err = await backendError(s.stat('config'));
    expect(err.permanent).toBe(false);
    expect(err.message).toContain('http://127.0.0.1:9');
    expect(err.message).toContain('ECONNREFUSED');
    await s.close();
  });

  it('uses path-style addressing with a custom endpoint unless told otherwise', async () => {
    const s = make();
    expect(s.pathStyle).toBe(true);
    expect(s.endpoint).toBe(server.endpoint);
    const v = S3Backend.open('s3://bkt/p?endpoint=http://127.0.0.1:9&path-style=false', { credentials: S3_TEST_CREDENTIALS });
    expect(v.pathStyle).toBe(false);
    const aws = S3Backend.open('s3://bkt/p', { credentials: S3_TEST_CREDENTIALS, env: {} });
    expect(aws.pathStyle).toBe(false);
    expect(aws.endpoint).toBe('AWS S3');
    const fromEnv = S3Backend.open('s3://bkt/p', { credentials: S3_TEST_CREDENTIALS, env: { AWS_ENDPOINT_URL: 'http://10.0.0.1:9000/' } });
    expect([fromEnv.endpoint, fromEnv.pathStyle]).toEqual(['http://10.0.0.1:9000', true]);
    const s3Specific = S3Backend.open('s3://bkt/p', {
      credentials: S3_TEST_CREDENTIALS,
      env: { AWS_ENDPOINT_URL: 'http://10.0.0.1:9000', AWS_ENDPOINT_URL_S3: 'https://s3.example.com' },
    });
    expect(s3Specific.endpoint).toBe('https://s3.example.com');
    const ignored = S3Backend.open('s3://bkt/p', {
      credentials: S3_TEST_CREDENTIALS,
      env: { AWS_ENDPOINT_URL: 'http://10.0.0.1:9000', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' },
    });
    expect(ignored.endpoint).toBe('AWS S3');
    await Promise.all([s, v, aws, fromEnv, s3Specific, ignored].map((b) => b.close()));
  });

  it('openBackend opens s3:// locations wrapped in RetryBackend, the one retry layer', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
      AWS_REGION: S3_TEST_REGION,
      AWS_ENDPOINT_URL_S3: server.endpoint,
    });
    try {
      const b = await openBackend('s3://arca-test/opened', { create: true });
      expect(b).toBeInstanceOf(RetryBackend);
      expect((b as RetryBackend).inner).toBeInstanceOf(S3Backend);
      expect(b.location).toBe('s3://arca-test/opened');
      await b.put('config', Buffer.from('cfg'));
      expect((await b.get('config')).toString()).toBe('cfg');
      // A permanent error is not retried: one request, at once.
      const started = Date.now();
      const err = await backendError(b.get('missing'));
      expect(err).toBeInstanceOf(BackendError);
      expect(err.notFound).toBe(true);
      expect(Date.now() - started).toBeLessThan(1000);
      await b.close();
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});

// How S3 failures become BackendErrors: which are not-found, permanent or
// transient, and that messages say what to do without carrying secrets. Plus
// a body corrupted on the way: the server refuses it and the put fails
// transiently (so RetryBackend sends it again), storing nothing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendError } from '../../../src/backend/backend.js';
import { S3Backend } from '../../../src/backend/s3/s3-backend.js';
import { toBackendError } from '../../../src/backend/s3/s3-errors.js';
import { Limiter } from '../../../src/backend/s3/limiter.js';
import { planParts } from '../../../src/backend/s3/s3-multipart.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/s3-fault-proxy.js';
import { startS3Server, S3_TEST_CREDENTIALS, S3_TEST_REGION, type S3TestServer } from '../../helpers/s3-server.js';
import { backendError, collect } from './contract.js';

const ctx = { location: 's3://b/p', bucket: 'b', doing: 'writing', key: 'data/ab/x', endpoint: 'https://s3.example.com' };

/** An error shaped like the SDK's service exceptions. */
function service(name: string, status: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} message`), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, requestId: 'R1' }, ...extra });
}
function network(code: string): Error {
  return Object.assign(new Error(`connect ${code}`), { code });
}
function classify(err: unknown): BackendError {
  const mapped = toBackendError(err, ctx);
  expect(mapped).toBeInstanceOf(BackendError);
  return mapped as BackendError;
}

describe('toBackendError', () => {
  it('maps missing keys to not-found, and a missing bucket to a permanent error saying what to do', () => {
    for (const e of [service('NoSuchKey', 404), service('NotFound', 404), service('Unknown', 404)]) {
      const m = classify(e);
      expect([m.notFound, m.permanent, m.code, m.key]).toEqual([true, true, 'NOT_FOUND', 'data/ab/x']);
    }
    const bucket = classify(service('NoSuchBucket', 404));
    expect([bucket.notFound, bucket.permanent]).toEqual([false, true]);
    expect(bucket.message).toMatch(/bucket "b" does not exist at https:\/\/s3.example.com .*create it first/);
  });

  it('makes refused credentials permanent, and never shows the SDK text (which may echo a key id)', () => {
    for (const name of ['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'Unknown']) {
      const m = classify(service(name, 403, { message: 'AWSAccessKeyId AKIASECRETISH StringToSign …', AWSAccessKeyId: 'AKIASECRETISH' }));
      expect(m.permanent).toBe(true);
      expect(m.message).toMatch(/access denied .*AWS_ACCESS_KEY_ID/);
      expect(`${m.message} ${String(m.cause)}`).not.toContain('AKIASECRETISH');
      expect(m.cause).toBeUndefined();
    }
  });

  it('makes a wrong region and other client errors permanent, ranges past the end pastEnd', () => {
    expect(classify(service('PermanentRedirect', 301)).message).toMatch(/another region.*AWS_REGION/);
    expect(classify(service('AuthorizationHeaderMalformed', 400)).permanent).toBe(true);
    expect(classify(service('InvalidRequest', 400)).permanent).toBe(true);
    expect(classify(service('NotImplemented', 501)).permanent).toBe(true);
    const range = classify(service('InvalidRange', 416));
    expect([range.permanent, range.pastEnd]).toEqual([true, true]);
  });

  it('makes 5xx, throttling, timeouts, resets and refused digests transient', () => {
    for (const e of [
      service('InternalError', 500),
      service('ServiceUnavailable', 503),
      service('SlowDown', 503),
      service('Unknown', 502),
      service('TooManyRequests', 429),
      service('RequestTimeout', 400),
      service('BadDigest', 400),
      service('XAmzContentSHA256Mismatch', 400),
      service('IncompleteBody', 400),
      service('RequestTimeTooSkewed', 403),
      network('ECONNRESET'),
      network('ECONNREFUSED'),
      network('ETIMEDOUT'),
      network('EPIPE'),
      Object.assign(new Error('socket timed out'), { name: 'TimeoutError' }),
      new Error('aborted'),
    ]) {
      expect(classify(e).permanent, String((e as { name?: string }).name)).toBe(false);
    }
    expect(classify(network('ECONNRESET')).message).toContain('connection to https://s3.example.com failed (ECONNRESET) while writing data/ab/x');
  });

  it('explains missing credentials and region, and passes bugs through untouched', () => {
    expect(classify(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' })).message).toMatch(
      /no AWS credentials found: set AWS_ACCESS_KEY_ID/,
    );
    expect(classify(new Error('Region is missing')).message).toMatch(/no AWS region configured: set AWS_REGION/);
    const bug = new TypeError('x is not a function');
    expect(toBackendError(bug, ctx)).toBe(bug);
  });
});

describe('S3 helpers', () => {
  it('Limiter keeps at most `limit` calls running', async () => {
    const limiter = new Limiter(3);
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        limiter.run(async () => {
          peak = Math.max(peak, ++running);
          await new Promise((r) => setTimeout(r, 2));
          running--;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(limiter.inFlight).toBe(0);
  });

  it('planParts covers the object, growing parts to stay within 10 000', () => {
    expect(planParts(10, 4)).toEqual([
      { offset: 0, length: 4 },
      { offset: 4, length: 4 },
      { offset: 8, length: 2 },
    ]);
    const many = planParts(100_000, 1);
    expect(many).toHaveLength(10_000);
    expect(many.reduce((n, p) => n + p.length, 0)).toBe(100_000);
  });
});

describe('a body corrupted on the way to S3', () => {
  let server: S3TestServer;
  let proxy: FaultProxy;
  beforeAll(async () => {
    server = await startS3Server(['arca-test']);
    proxy = await startFaultProxy({ target: server.endpoint, seed: 1, rates: { corrupt: 1 } });
  });
  afterAll(async () => {
    await proxy?.close();
    await server?.stop();
  });

  it('is refused by the server (BadDigest), fails transiently and stores nothing, single or multipart', async () => {
    for (const multipartThreshold of [1 << 30, 1]) {
      const s = S3Backend.open(`s3://arca-test/c${multipartThreshold}?endpoint=${encodeURIComponent(proxy.endpoint)}`, {
        credentials: S3_TEST_CREDENTIALS,
        defaultRegion: S3_TEST_REGION,
        multipartThreshold,
        partSize: 1024,
      });
      const err = await backendError(s.put('data/aa/x', Buffer.alloc(4000, 7)));
      expect(err.permanent).toBe(false);
      expect(err.message).toContain('BadDigest');
      proxy.enabled = false;
      expect(await collect(s.list(''))).toEqual([]);
      proxy.enabled = true;
      await s.close();
    }
  });
});

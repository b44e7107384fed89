import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isArcaError } from '../../../src/errors.js';
import { describeLocation, openBackend, parseLocation } from '../../../src/backend/open-backend.js';
import { RetryBackend } from '../../../src/backend/retry/retry-backend.js';
import { runBackendContract } from './contract.js';

runBackendContract('openBackend(path, { create: true })', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'arca-open-'));
  const backend = await openBackend(path.join(dir, 'vol'), { create: true });
  return { backend, cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
});

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isArcaError(err, 'USAGE')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected a USAGE error');
}

describe('parseLocation and describeLocation', () => {
  it('resolves relative and absolute paths', () => {
    expect(parseLocation('/srv/backups')).toEqual({ kind: 'local', path: '/srv/backups' });
    expect(parseLocation('backups/vol1')).toEqual({ kind: 'local', path: path.resolve('backups/vol1') });
    expect(parseLocation('./a:b')).toEqual({ kind: 'local', path: path.resolve('a:b') });
    expect(describeLocation('../x')).toBe(path.resolve('../x'));
  });

  it('parses s3:// locations: bucket, prefix and parameters', () => {
    expect(parseLocation('s3://my-bucket/backups/db1/')).toEqual({
      kind: 's3',
      url: 's3://my-bucket/backups/db1',
      s3: { bucket: 'my-bucket', prefix: 'backups/db1/', display: 's3://my-bucket/backups/db1' },
    });
    expect(parseLocation('s3://my-bucket')).toMatchObject({ url: 's3://my-bucket', s3: { prefix: '' } });
    expect(parseLocation('s3://b-1/p?region=eu-west-1&endpoint=http://127.0.0.1:9000/&path-style=false')).toMatchObject({
      url: 's3://b-1/p',
      s3: { region: 'eu-west-1', endpoint: 'http://127.0.0.1:9000', pathStyle: false },
    });
    expect(describeLocation('s3://b-1/p?region=eu-west-1')).toBe('s3://b-1/p');
    expect(usage(() => parseLocation('s3://bucket/a//b'))).toMatch(/invalid prefix/);
    expect(usage(() => parseLocation('s3://bucket/a%01b'))).toMatch(/invalid prefix/);
    expect(usage(() => parseLocation('s3://bucket:9000/a'))).toMatch(/no port/);
    expect(usage(() => parseLocation('s3://bucket/a?endpoint=ftp://x'))).toMatch(/http:\/\/ or https:\/\//);
    expect(usage(() => parseLocation('s3://bucket/a?path-style=maybe'))).toMatch(/true or false/);
  });

  it('decodes file:// URLs', () => {
    expect(parseLocation('file:///srv/my%20backups/v%C3%A4')).toEqual({ kind: 'local', path: '/srv/my backups/vä' });
    expect(parseLocation('file://localhost/srv/x')).toEqual({ kind: 'local', path: '/srv/x' });
    expect(describeLocation('FILE:///srv/a/../b')).toBe('/srv/b');
  });

  it('rejects unusable locations with USAGE errors that name them', () => {
    expect(usage(() => parseLocation(''))).toMatch(/empty volume location/);
    expect(usage(() => parseLocation('file://host/srv'))).toMatch(/host "host"/);
    expect(usage(() => parseLocation('file:///a%2Fb'))).toMatch(/invalid file URL/);
    expect(usage(() => parseLocation('ftp://example.com/x'))).toMatch(/unsupported volume location "ftp:\/\/example.com\/x"/);
    expect(usage(() => parseLocation('backups:2024'))).toMatch(/write \.\/backups:2024/);
  });

  it('never shows credentials', () => {
    const msg = usage(() => parseLocation('https://user:hunter2@example.com/x?token=abc'));
    expect(msg).not.toMatch(/hunter2|token|abc/);
    expect(describeLocation('s3://AKIA:secret@bucket/prefix?x=1')).toBe('s3://bucket/prefix');
    expect(usage(() => parseLocation('s3://AKIA:hunter2@bucket/p'))).not.toMatch(/AKIA|hunter2/);
  });
});

describe('openBackend', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'arca-open-'));
  });
  afterAll(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('opens a local volume, wrapped in retries, from a path or a file URL', async () => {
    const root = path.join(dir, 'v 1');
    const created = await openBackend(root, { create: true });
    expect(created).toBeInstanceOf(RetryBackend);
    expect(created.location).toBe(root);
    await created.put('config', Buffer.from('c'));
    const viaUrl = await openBackend(pathToFileURL(root).href);
    expect((await viaUrl.get('config')).toString()).toBe('c');
  });

  it('fails with NOT_FOUND for a missing folder unless asked to create it', async () => {
    const missing = path.join(dir, 'missing');
    await expect(openBackend(missing)).rejects.toSatisfy((err) => isArcaError(err, 'NOT_FOUND') && String(err).includes(missing));
  });

  it('refuses unusable s3:// locations and other schemes', async () => {
    await expect(openBackend('s3://x/prefix')).rejects.toThrow(/invalid bucket name "x"/);
    await expect(openBackend('s3://AKIAX:secret@bucket/p')).rejects.toThrow(/must not contain credentials/);
    await expect(openBackend('s3://bucket/p?color=red')).rejects.toThrow(/unknown parameter "color"/);
    await expect(openBackend('gopher://x')).rejects.toSatisfy((err) => isArcaError(err, 'USAGE'));
  });
});

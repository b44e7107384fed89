// `arca volume add NAME s3://bucket/prefix` end to end with the built CLI,
// against a local S3 server (s3rver on loopback): credentials, region and
// endpoint come from the standard AWS environment variables only, never from
// the command line. Init, backup, restore, check, attach from a second
// catalog, and clean one-line errors (without secrets) for refused
// credentials and a missing bucket.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arcaOk,
  backup,
  expectCleanFailure,
  listBackups,
  makeScratch,
  makeTree,
  requireBuiltCli,
  richTree,
  runArca,
  treeSnapshot,
  type ArcaOptions,
  type Scratch,
} from '../../helpers/index.js';
import { startS3Server, S3_TEST_CREDENTIALS, S3_TEST_REGION, type S3TestServer } from '../../helpers/s3-server.js';

const BUCKET = 'arca-cli';

describe('arca with an S3 volume', () => {
  let scratch: Scratch;
  let server: S3TestServer;
  let awsEnv: Record<string, string | undefined>;
  let home: ArcaOptions;

  beforeAll(async () => {
    requireBuiltCli();
    scratch = makeScratch('s3-cli');
    server = await startS3Server([BUCKET]);
    awsEnv = {
      AWS_ENDPOINT_URL: server.endpoint,
      AWS_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
      AWS_REGION: S3_TEST_REGION,
      // Hermetic: nothing of the machine's own AWS setup counts.
      AWS_PROFILE: undefined,
      AWS_SESSION_TOKEN: undefined,
      AWS_ENDPOINT_URL_S3: undefined,
      AWS_CONFIG_FILE: scratch.path('no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: scratch.path('no-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    home = { home: scratch.path('home'), env: awsEnv };
  });

  afterAll(async () => {
    await server?.stop();
    scratch?.cleanup();
  });

  it('creates a volume, backs up, restores and checks, all on S3', async () => {
    const src = scratch.path('src');
    makeTree(src, richTree(src));
    const added = await arcaOk(['volume', 'add', 's3vol', `s3://${BUCKET}/backups/v1`], home);
    expect(added.stdout).toContain(`created volume s3vol at s3://${BUCKET}/backups/v1`);
    await arcaOk(['db', 'add', 'docs', src, '--no-schedule'], home);
    const id = await backup('docs', home);
    const listed = await listBackups(home, 'docs');
    expect(listed.map((b) => [b.id, b.volume])).toEqual([[id, 's3vol']]);

    const to = scratch.path('restored');
    await arcaOk(['restore', id, '--to', to], home);
    expect(treeSnapshot(to)).toEqual(treeSnapshot(src));
    const check = await arcaOk(['check', '--read-data'], home);
    expect(check.stderr).toBe('');

    // A second catalog attaches the same S3 volume and restores from it alone.
    const other: ArcaOptions = { home: scratch.path('home2'), env: awsEnv };
    const attached = await arcaOk(['volume', 'add', 'again', `s3://${BUCKET}/backups/v1`], other);
    expect(attached.stdout).toContain('attached volume again');
    const to2 = scratch.path('restored-2');
    await arcaOk(['restore', id.slice(0, 8), '--to', to2], other);
    expect(treeSnapshot(to2)).toEqual(treeSnapshot(src));
  });

  it('fails cleanly, without secrets, for refused credentials and a missing bucket', async () => {
    const secret = 'wrong-secret-value-hunter2';
    const badKeys: ArcaOptions = {
      home: home.home,
      env: { ...awsEnv, AWS_ACCESS_KEY_ID: 'AKIAWRONGKEY0000TEST', AWS_SECRET_ACCESS_KEY: secret },
    };
    const refused = await runArca(['backups'], badKeys);
    expectCleanFailure(refused, [1]);
    expect(refused.stderr).toMatch(/access denied \((InvalidAccessKeyId|HTTP 403).*AWS_ACCESS_KEY_ID/);
    expect(refused.stdout + refused.stderr).not.toContain(secret);
    expect(refused.stdout + refused.stderr).not.toContain('AKIAWRONGKEY0000TEST');

    const fresh: ArcaOptions = { home: scratch.path('home3'), env: awsEnv };
    const missing = await runArca(['volume', 'add', 'nope', 's3://no-such-bucket/x'], fresh);
    expectCleanFailure(missing, [1]);
    expect(missing.stderr).toMatch(/bucket "no-such-bucket" does not exist/);

    const unusable = await runArca(['volume', 'add', 'creds', `s3://AKIAX:${secret}@${BUCKET}/x`], fresh);
    expectCleanFailure(unusable, [2]);
    expect(unusable.stderr).not.toContain(secret);
  });
});

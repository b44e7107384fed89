// Secrets never reach output: URL passwords and password= fields are masked.

import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../../src/common/redact.js';

describe('redactSecrets', () => {
  it('masks the password of any URL and keeps the rest', () => {
    expect(redactSecrets('postgres://app:s3cr%40t@db:5432/prod?sslmode=require')).toBe('postgres://app:***@db:5432/prod?sslmode=require');
    expect(redactSecrets('cannot reach mysql://root:pw@127.0.0.1/x now')).toBe('cannot reach mysql://root:***@127.0.0.1/x now');
    expect(redactSecrets('s3://key:secret@bucket/prefix')).toBe('s3://key:***@bucket/prefix');
    expect(redactSecrets("host=db password='a b' user=x")).toBe('host=db password=*** user=x');
  });

  it('leaves URLs without a password alone', () => {
    for (const s of ['postgres://app@db/prod', 'file:///srv/data', 'https://example.com/a:b@c']) expect(redactSecrets(s)).toBe(s);
  });
});

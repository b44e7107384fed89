// The server certificate: a self-signed one is made once (key 0600) and
// reused; given files are checked (both needed, key must match).
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadTls } from '../../../src/server/tls.js';
import { parseListen } from '../../../src/cli/commands/serve.js';

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'arca-tls-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

describe('loadTls', () => {
  it('makes a self-signed certificate once and reuses it', async () => {
    const first = await loadTls(home, { hosts: ['backup.example'] });
    expect(first.source).toBe('generated');
    expect(statSync(first.keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'tls')).mode & 0o777).toBe(0o700);
    const x509 = new X509Certificate(first.cert);
    expect(x509.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(x509.subjectAltName).toContain('DNS:backup.example');
    const second = await loadTls(home);
    expect(second.source).toBe('reused');
    expect(second.fingerprint).toBe(first.fingerprint);
    expect(second.cert).toBe(first.cert);
  });

  it('uses given files, and refuses half a pair or a key of another certificate', async () => {
    const a = await loadTls(join(home, 'a'));
    const b = await loadTls(join(home, 'b'));
    const given = await loadTls(home, { certFile: a.certFile, keyFile: a.keyFile });
    expect(given.source).toBe('files');
    await expect(loadTls(home, { certFile: a.certFile })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(loadTls(home, { certFile: a.certFile, keyFile: b.keyFile })).rejects.toThrow(/does not belong/);
    await expect(loadTls(home, { certFile: join(home, 'missing.crt'), keyFile: a.keyFile })).rejects.toThrow(/no such file/);
    writeFileSync(join(home, 'junk.crt'), 'not a certificate');
    await expect(loadTls(home, { certFile: join(home, 'junk.crt'), keyFile: a.keyFile })).rejects.toThrow(/not a PEM certificate/);
  });
});

describe('parseListen', () => {
  it('reads HOST:PORT', () => {
    expect(parseListen('127.0.0.1:8443')).toEqual({ host: '127.0.0.1', port: 8443 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListen('backup.local:443')).toEqual({ host: 'backup.local', port: 443 });
    for (const bad of ['8443', '127.0.0.1', ':8443', '1.2.3.4:70000', 'a b:1', '::1:80']) expect(() => parseListen(bad)).toThrow();
  });
});

// The server's TLS certificate: the files given with --tls-cert/--tls-key, or
// a self-signed certificate generated on first start and kept in
// `<home>/tls/` (the key with mode 0600), then reused on every later start so
// clients can pin it. The SHA-256 fingerprint is printed at start.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { ArcaError, errorMessage } from '../errors.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
  /** 'files': given by the user; 'generated': made now; 'reused': made on an earlier start. */
  source: 'files' | 'generated' | 'reused';
  /** SHA-256 fingerprint, colon-separated hex. */
  fingerprint: string;
}

export interface TlsOptions {
  certFile?: string;
  keyFile?: string;
  /** Host names and addresses the generated certificate is for (besides localhost, 127.0.0.1, ::1). */
  hosts?: readonly string[];
}

export function tlsDir(home: string): string {
  return join(home, 'tls');
}

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : errorMessage(err);
    throw new ArcaError(code === 'ENOENT' ? 'NOT_FOUND' : 'USAGE', `cannot read the TLS ${what} ${file}: ${why}`);
  }
}

/** Checks that the key belongs to the certificate; returns the certificate's fingerprint. */
function validatePair(cert: string, key: string, certFile: string, keyFile: string): string {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new ArcaError('USAGE', `${certFile} is not a PEM certificate: ${errorMessage(err)}`);
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key))) {
      throw new ArcaError('USAGE', `the key ${keyFile} does not belong to the certificate ${certFile}`);
    }
  } catch (err) {
    if (err instanceof ArcaError) throw err;
    throw new ArcaError('USAGE', `${keyFile} is not a PEM private key (an encrypted key is not supported)`);
  }
  return x509.fingerprint256;
}

function writePrivate(file: string, content: string, mode: number): void {
  const temp = `${file}.tmp-${process.pid}`;
  writeFileSync(temp, content, { mode });
  chmodSync(temp, mode); // against a umask that narrowed nothing, or a leftover temp file
  renameSync(temp, file);
}

async function generateSelfSigned(dir: string, hosts: readonly string[]): Promise<{ cert: string; key: string }> {
  const names = new Set(['localhost', '127.0.0.1', '::1', ...hosts.filter((h) => h !== '' && h !== '0.0.0.0' && h !== '::')]);
  const altNames = [...names].map((h) => (isIP(h) ? { type: 7 as const, ip: h } : { type: 2 as const, value: h }));
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + 5 * 365 * 24 * 3600_000);
  const pems = await generate([{ name: 'commonName', value: 'arca' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return { cert: pems.cert, key: pems.private };
}

/** The certificate and key to serve with (see the module comment). */
export async function loadTls(home: string, options: TlsOptions = {}): Promise<TlsMaterial> {
  if ((options.certFile === undefined) !== (options.keyFile === undefined)) {
    throw new ArcaError('USAGE', '--tls-cert and --tls-key go together: give both, or neither for a self-signed certificate');
  }
  if (options.certFile !== undefined && options.keyFile !== undefined) {
    const cert = readPem(options.certFile, 'certificate');
    const key = readPem(options.keyFile, 'key');
    const fingerprint = validatePair(cert, key, options.certFile, options.keyFile);
    return { cert, key, certFile: options.certFile, keyFile: options.keyFile, source: 'files', fingerprint };
  }
  const dir = tlsDir(home);
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  let existing: { cert: string; key: string } | null = null;
  try {
    existing = { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ArcaError('BACKEND', `cannot read the server certificate in ${dir}: ${errorMessage(err)}`);
    }
  }
  if (existing) {
    const fingerprint = validatePair(existing.cert, existing.key, certFile, keyFile);
    return { ...existing, certFile, keyFile, source: 'reused', fingerprint };
  }
  const made = await generateSelfSigned(dir, options.hosts ?? []);
  try {
    writePrivate(keyFile, made.key, 0o600);
    writePrivate(certFile, made.cert, 0o644);
  } catch (err) {
    throw new ArcaError('BACKEND', `cannot store the server certificate in ${dir}: ${errorMessage(err)}`);
  }
  const fingerprint = validatePair(made.cert, made.key, certFile, keyFile);
  return { ...made, certFile, keyFile, source: 'generated', fingerprint };
}

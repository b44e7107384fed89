// Key material of a volume: the random master key, the sub-keys derived from it
// (format §3), and wrapping the master key under a password (key objects).

import { createHash, hkdfSync, randomBytes, scrypt as scryptCb } from 'node:crypto';
import { promisify } from 'node:util';
import { ArcaError } from '../errors.js';
import { openSealed, seal } from './seal.js';

const scrypt = promisify(scryptCb) as (
  password: string | Buffer,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

export const MASTER_KEY_BYTES = 32;

export interface ContentKeys {
  /** AES-256-GCM key for every sealed item. */
  encKey: Buffer;
  /** HMAC-SHA256 key for blob ids. */
  idKey: Buffer;
  /** Seed of the chunker's gear table. */
  gearKey: Buffer;
}

export function newMasterKey(): Buffer {
  return randomBytes(MASTER_KEY_BYTES);
}

export function deriveKeys(masterKey: Buffer): ContentKeys {
  const sub = (info: string) => Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), info, 32));
  return { encKey: sub('arca/v1/encrypt'), idKey: sub('arca/v1/chunk-id'), gearKey: sub('arca/v1/gear') };
}

export interface ScryptParams {
  name: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string; // base64
}

/** The key object stored (plaintext JSON) at `keys/<id>`. */
export interface KeyObject {
  version: 1;
  kdf: ScryptParams;
  created: string;
  wrapped: string; // base64 of sealed(masterKey)
  /** hex SHA-256 of the other fields (canonical JSON): tells a damaged key object from a wrong password. */
  checksum: string;
}

function keyChecksum(k: Omit<KeyObject, 'checksum'>): string {
  const canonical = JSON.stringify({ version: k.version, kdf: { name: k.kdf.name, N: k.kdf.N, r: k.kdf.r, p: k.kdf.p, salt: k.kdf.salt }, created: k.created, wrapped: k.wrapped });
  return createHash('sha256').update(canonical).digest('hex');
}

const KEY_AAD = 'arca/v1/key';
export const DEFAULT_SCRYPT = { N: 1 << 17, r: 8, p: 1 } as const;

async function deriveKek(password: string, kdf: ScryptParams): Promise<Buffer> {
  if (kdf.name !== 'scrypt' || !Number.isInteger(kdf.N) || kdf.N < 2 || kdf.N > 1 << 22 || kdf.r < 1 || kdf.r > 32 || kdf.p < 1 || kdf.p > 16) {
    throw new ArcaError('FORMAT', 'key object has unsupported KDF parameters');
  }
  const maxmem = 128 * kdf.N * kdf.r * kdf.p + 64 * 1024 * 1024;
  return scrypt(password.normalize('NFC'), Buffer.from(kdf.salt, 'base64'), 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem });
}

export async function wrapMasterKey(
  masterKey: Buffer,
  password: string,
  cost: { N: number; r: number; p: number } = DEFAULT_SCRYPT,
): Promise<KeyObject> {
  const kdf: ScryptParams = { name: 'scrypt', ...cost, salt: randomBytes(32).toString('base64') };
  const kek = await deriveKek(password, kdf);
  const body = { version: 1 as const, kdf, created: new Date().toISOString(), wrapped: seal(kek, KEY_AAD, masterKey).toString('base64') };
  return { ...body, checksum: keyChecksum(body) };
}

/** The master key, or undefined when the password does not open this key object. */
export async function unwrapMasterKey(key: KeyObject, password: string): Promise<Buffer | undefined> {
  if (key.version !== 1) throw new ArcaError('FORMAT', `key object version ${String(key.version)} is not supported by this Arca`);
  const kek = await deriveKek(password, key.kdf);
  try {
    const master = openSealed(kek, KEY_AAD, Buffer.from(key.wrapped, 'base64'));
    return master.length === MASTER_KEY_BYTES ? master : undefined;
  } catch {
    return undefined;
  }
}

export function parseKeyObject(bytes: Buffer, name: string): KeyObject {
  try {
    const obj = JSON.parse(bytes.toString('utf8')) as KeyObject;
    if (typeof obj.wrapped !== 'string' || typeof obj.kdf !== 'object' || obj.checksum !== keyChecksum(obj)) throw new Error('checksum');
    return obj;
  } catch {
    throw new ArcaError('CORRUPT', `key object ${name} is damaged (not a valid key file)`);
  }
}

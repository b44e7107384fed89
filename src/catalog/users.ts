// Users of the server: the catalog's `users` table, and their passwords,
// hashed with scrypt (node:crypto) under a random per-user salt. The hash is
// stored with its parameters (`scrypt$<log2 N>$<r>$<p>$<salt>$<hash>`), so
// they can be raised later without breaking existing users. Passwords are
// never stored, logged or put in an error message.
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ArcaError } from '../errors.js';
import { validateName } from '../common/names.js';
import { guard, isUniqueViolation, type Catalog } from './catalog.js';

export const USER_ROLES = ['viewer', 'operator', 'admin'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export interface UserRecord {
  name: string;
  role: UserRole;
  /** ISO 8601. */
  createdAt: string;
}

export interface NewUser {
  name: string;
  role: UserRole;
  password: string;
}

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;

/** scrypt cost: N = 2^15, r = 8, p = 1 (32 MiB, tens of ms), OWASP's recommended minimum. */
export interface ScryptParams {
  log2N: number;
  r: number;
  p: number;
}
export const DEFAULT_SCRYPT: ScryptParams = { log2N: 15, r: 8, p: 1 };
const SALT_BYTES = 16;
const HASH_BYTES = 32;

interface UserRow {
  name: string;
  role: string;
  password_hash: string;
  created_at: string;
}

function fromRow(row: UserRow): UserRecord {
  return { name: row.name, role: row.role as UserRole, createdAt: row.created_at };
}

export function isUserRole(value: string): value is UserRole {
  return (USER_ROLES as readonly string[]).includes(value);
}

export function validatePassword(password: string): string {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new ArcaError('USAGE', `a password needs at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new ArcaError('USAGE', `a password may have at most ${MAX_PASSWORD_LENGTH} characters`);
  }
  return password;
}

function scrypt(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.log2N;
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r };
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFC'), salt, HASH_BYTES, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** A new `scrypt$…` hash of `password` with a fresh salt. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await scrypt(password, salt, params);
  return ['scrypt', params.log2N, params.r, params.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

const HASH_FORMAT = /^scrypt\$(\d{1,2})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

/** True when `password` matches `stored` (compared in constant time). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = HASH_FORMAT.exec(stored);
  if (!m) throw new ArcaError('CORRUPT', 'a password hash in the catalog has an unknown format');
  const params: ScryptParams = { log2N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  const expected = Buffer.from(m[5]!, 'base64');
  const actual = await scrypt(password, Buffer.from(m[4]!, 'base64'), params);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A hash nobody's password matches, verified for unknown users so they take as long as known ones. */
let decoyHash: Promise<string> | null = null;
function decoy(): Promise<string> {
  decoyHash ??= hashPassword(randomBytes(24).toString('base64'));
  return decoyHash;
}

/** Adds a user. ALREADY_EXISTS when the name is taken. */
export async function addUser(catalog: Catalog, user: NewUser, params: ScryptParams = DEFAULT_SCRYPT): Promise<UserRecord> {
  validateName('user', user.name);
  if (!isUserRole(user.role)) throw new ArcaError('USAGE', `a role is one of ${USER_ROLES.join(', ')}`);
  const passwordHash = await hashPassword(validatePassword(user.password), params);
  const record: UserRecord = { name: user.name, role: user.role, createdAt: catalog.now().toISOString() };
  return guard(() => {
    try {
      catalog.db
        .prepare<[string, string, string, string]>('INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)')
        .run(record.name, record.role, passwordHash, record.createdAt);
      return record;
    } catch (err) {
      if (isUniqueViolation(err, 'users.name')) {
        throw new ArcaError('ALREADY_EXISTS', `a user named ${user.name} already exists`, { cause: err });
      }
      throw err;
    }
  });
}

export function getUser(catalog: Catalog, name: string): UserRecord | null {
  const row = guard(() =>
    catalog.db.prepare<[string], UserRow>('SELECT name, role, password_hash, created_at FROM users WHERE name = ?').get(name),
  );
  return row ? fromRow(row) : null;
}

export function requireUser(catalog: Catalog, name: string): UserRecord {
  const found = getUser(catalog, name);
  if (found) return found;
  throw new ArcaError('NOT_FOUND', `no user named ${name}`);
}

export function listUsers(catalog: Catalog): UserRecord[] {
  return guard(() =>
    catalog.db.prepare<[], UserRow>('SELECT name, role, password_hash, created_at FROM users ORDER BY name').all().map(fromRow),
  );
}

export function countUsers(catalog: Catalog): number {
  return guard(() => catalog.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM users').get()?.n ?? 0);
}

/** Removes a user and (by cascade) their tokens. NOT_FOUND when there is none. */
export function removeUser(catalog: Catalog, name: string): void {
  const result = guard(() => catalog.db.prepare<[string]>('DELETE FROM users WHERE name = ?').run(name));
  if (result.changes === 0) throw new ArcaError('NOT_FOUND', `no user named ${name}`);
}

/** Sets a new password. NOT_FOUND when there is no such user. */
export async function setUserPassword(
  catalog: Catalog,
  name: string,
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<void> {
  requireUser(catalog, name);
  const passwordHash = await hashPassword(validatePassword(password), params);
  const result = guard(() =>
    catalog.db.prepare<[string, string]>('UPDATE users SET password_hash = ? WHERE name = ?').run(passwordHash, name),
  );
  if (result.changes === 0) throw new ArcaError('NOT_FOUND', `no user named ${name}`);
}

/** What a successful password check returns: the user and the hash it matched (a cache key that changes with the password). */
export interface VerifiedUser {
  user: UserRecord;
  passwordHash: string;
}

/** The user whose name and password these are, or null. Unknown names cost as much time as known ones. */
export async function verifyUserPassword(catalog: Catalog, name: string, password: string): Promise<VerifiedUser | null> {
  const row = guard(() =>
    catalog.db.prepare<[string], UserRow>('SELECT name, role, password_hash, created_at FROM users WHERE name = ?').get(name),
  );
  if (!row || password.length > MAX_PASSWORD_LENGTH) {
    await verifyPassword(password.slice(0, MAX_PASSWORD_LENGTH), await decoy());
    return null;
  }
  return (await verifyPassword(password, row.password_hash)) ? { user: fromRow(row), passwordHash: row.password_hash } : null;
}

/** The user's current password hash (to revalidate a cached login), or null when the user is gone. */
export function currentPasswordHash(catalog: Catalog, name: string): { user: UserRecord; passwordHash: string } | null {
  const row = guard(() =>
    catalog.db.prepare<[string], UserRow>('SELECT name, role, password_hash, created_at FROM users WHERE name = ?').get(name),
  );
  return row ? { user: fromRow(row), passwordHash: row.password_hash } : null;
}

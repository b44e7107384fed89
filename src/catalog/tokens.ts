// API tokens: the catalog's `tokens` table. A token reads
// `arca_<id>_<secret>`: the id (public, 12 hex digits) finds the row, the
// secret (32 random bytes, base64url) is checked against its SHA-256 in
// constant time. Tokens are high-entropy, so a plain SHA-256 is enough; the
// token itself is shown once, at creation, and never stored.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ArcaError } from '../errors.js';
import { guard, type Catalog } from './catalog.js';
import { isUserRole, requireUser, type UserRecord } from './users.js';

export interface TokenRecord {
  id: string;
  user: string;
  name: string | null;
  /** ISO 8601. */
  createdAt: string;
  lastUsedAt: string | null;
}

export interface CreatedToken extends TokenRecord {
  /** The token itself: shown once, never stored. */
  token: string;
}

interface TokenRow {
  id: string;
  user: string;
  hash: string;
  name: string | null;
  created_at: string;
  last_used_at: string | null;
}

const COLUMNS = 'id, user, hash, name, created_at, last_used_at';
const TOKEN_FORMAT = /^arca_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
export const TOKEN_ID_FORMAT = /^[0-9a-f]{12}$/;
const MAX_LABEL = 100;
/** last_used_at is written at most this often per token (not on every request). */
const LAST_USED_RESOLUTION_MS = 60_000;

function fromRow(row: TokenRow): TokenRecord {
  return { id: row.id, user: row.user, name: row.name, createdAt: row.created_at, lastUsedAt: row.last_used_at };
}

function sha256(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** True when `text` has the shape of a token (so it is never echoed back, e.g. in an error). */
export function looksLikeToken(text: string): boolean {
  return TOKEN_FORMAT.test(text);
}

/** Creates a token for `user`; the result's `token` is the only time it is visible. */
export function createToken(catalog: Catalog, user: string, name?: string | null): CreatedToken {
  requireUser(catalog, user);
  const label = name === undefined || name === null || name.trim() === '' ? null : name.trim();
  if (label !== null && (label.length > MAX_LABEL || [...label].some((ch) => ch < ' ' || ch === '\u007f'))) {
    throw new ArcaError('USAGE', `a token name is at most ${MAX_LABEL} printable characters`);
  }
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const createdAt = catalog.now().toISOString();
  guard(() =>
    catalog.db
      .prepare<[string, string, string, string | null, string]>(
        'INSERT INTO tokens (id, user, hash, name, created_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(id, user, sha256(secret).toString('hex'), label, createdAt),
  );
  return { id, user, name: label, createdAt, lastUsedAt: null, token: `arca_${id}_${secret}` };
}

/** Tokens (of one user, or all), oldest first. */
export function listTokens(catalog: Catalog, user?: string): TokenRecord[] {
  return guard(() => {
    const rows =
      user === undefined
        ? catalog.db.prepare<[], TokenRow>(`SELECT ${COLUMNS} FROM tokens ORDER BY created_at, id`).all()
        : catalog.db.prepare<[string], TokenRow>(`SELECT ${COLUMNS} FROM tokens WHERE user = ? ORDER BY created_at, id`).all(user);
    return rows.map(fromRow);
  });
}

/** Revokes (deletes) a token by id. NOT_FOUND when there is none. */
export function revokeToken(catalog: Catalog, id: string): TokenRecord {
  const row = guard(() =>
    catalog.db.prepare<[string], TokenRow>(`DELETE FROM tokens WHERE id = ? RETURNING ${COLUMNS}`).get(id),
  );
  if (!row) throw new ArcaError('NOT_FOUND', `no token ${id}`);
  return fromRow(row);
}

/** The user a token belongs to, or null for an unknown, revoked or malformed token. Records its use. */
export function verifyToken(catalog: Catalog, token: string): { user: UserRecord; tokenId: string } | null {
  const m = TOKEN_FORMAT.exec(token);
  if (!m) return null;
  // One query for the token and its user: the server asks this on every request.
  const row = guard(() =>
    catalog.db
      .prepare<[string], TokenRow & { role: string | null; user_created_at: string | null }>(
        `SELECT t.id, t.user, t.hash, t.name, t.created_at, t.last_used_at, u.role, u.created_at AS user_created_at
           FROM tokens t LEFT JOIN users u ON u.name = t.user WHERE t.id = ?`,
      )
      .get(m[1]!),
  );
  const expected = row ? Buffer.from(row.hash, 'hex') : Buffer.alloc(32);
  const matches = timingSafeEqual(sha256(m[2]!), expected.length === 32 ? expected : Buffer.alloc(32));
  if (!row || !matches || row.role === null || row.user_created_at === null || !isUserRole(row.role)) return null;
  const user: UserRecord = { name: row.user, role: row.role, createdAt: row.user_created_at };
  const now = catalog.now();
  if (row.last_used_at === null || now.getTime() - Date.parse(row.last_used_at) >= LAST_USED_RESOLUTION_MS) {
    try {
      guard(() => catalog.db.prepare<[string, string]>('UPDATE tokens SET last_used_at = ? WHERE id = ?').run(now.toISOString(), row.id));
    } catch {
      // A busy catalog only delays the "last used" stamp.
    }
  }
  return { user, tokenId: row.id };
}

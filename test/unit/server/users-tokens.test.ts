// Users and API tokens in the catalog (migration 3): scrypt hashes with salt
// and parameters, verification, unknown users, password changes, tokens
// shown once and stored hashed, revocation, cascade on user removal; and the
// Authorization header parser.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCatalog, type Catalog } from '../../../src/catalog/index.js';
import { createToken, listTokens, revokeToken, verifyToken } from '../../../src/catalog/tokens.js';
import {
  addUser,
  countUsers,
  hashPassword,
  listUsers,
  removeUser,
  setUserPassword,
  verifyPassword,
  verifyUserPassword,
} from '../../../src/catalog/users.js';
import { parseAuthorization } from '../../../src/server/authenticator.js';

const FAST = { log2N: 10, r: 8, p: 1 };
let dir: string;
let catalog: Catalog;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'arca-users-'));
  catalog = openCatalog(join(dir, 'catalog.db'));
});
afterEach(() => {
  catalog.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('users', () => {
  it('stores scrypt hashes with a per-user salt and the parameters, never the password', async () => {
    const a = await hashPassword('same password', FAST);
    const b = await hashPassword('same password', FAST);
    expect(a).toMatch(/^scrypt\$10\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('same password', a)).toBe(true);
    expect(await verifyPassword('same passwort', a)).toBe(false);
    expect(await hashPassword('x'.repeat(8))).toMatch(/^scrypt\$15\$8\$1\$/);
  });

  it('adds, verifies, lists, changes and removes users', async () => {
    await addUser(catalog, { name: 'alice', role: 'admin', password: 'alice secret' }, FAST);
    await expect(addUser(catalog, { name: 'alice', role: 'viewer', password: 'whatever1' }, FAST)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await expect(addUser(catalog, { name: 'bob', role: 'viewer', password: 'short' }, FAST)).rejects.toMatchObject({ code: 'USAGE' });
    await expect(addUser(catalog, { name: 'a/b', role: 'viewer', password: 'long enough' }, FAST)).rejects.toMatchObject({ code: 'USAGE' });
    expect(listUsers(catalog)).toEqual([{ name: 'alice', role: 'admin', createdAt: expect.any(String) }]);
    expect(countUsers(catalog)).toBe(1);
    const raw = catalog.db.prepare('SELECT * FROM users').all();
    expect(JSON.stringify(raw)).not.toContain('alice secret');
    expect((await verifyUserPassword(catalog, 'alice', 'alice secret'))?.user.role).toBe('admin');
    expect(await verifyUserPassword(catalog, 'alice', 'wrong')).toBeNull();
    expect(await verifyUserPassword(catalog, 'nobody', 'alice secret')).toBeNull();
    await setUserPassword(catalog, 'alice', 'new secret 1', FAST);
    expect(await verifyUserPassword(catalog, 'alice', 'alice secret')).toBeNull();
    expect(await verifyUserPassword(catalog, 'alice', 'new secret 1')).not.toBeNull();
    removeUser(catalog, 'alice');
    expect(() => removeUser(catalog, 'alice')).toThrow(/no user named alice/);
  });
});

describe('tokens', () => {
  it('are shown once, stored as SHA-256, verified, revoked, and removed with their user', async () => {
    await addUser(catalog, { name: 'ci', role: 'operator', password: 'ci password' }, FAST);
    const t = createToken(catalog, 'ci', 'build server');
    expect(t.token).toMatch(/^arca_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(catalog.db.prepare('SELECT * FROM tokens').all())).not.toContain(t.token.slice(18));
    expect(listTokens(catalog)).toEqual([{ id: t.id, user: 'ci', name: 'build server', createdAt: t.createdAt, lastUsedAt: null }]);
    expect(verifyToken(catalog, t.token)?.user.name).toBe('ci');
    expect(listTokens(catalog)[0]!.lastUsedAt).not.toBeNull();
    expect(verifyToken(catalog, t.token.slice(0, -2) + 'zz')).toBeNull();
    expect(verifyToken(catalog, 'arca_nothex')).toBeNull();
    expect(() => createToken(catalog, 'nobody')).toThrow(/no user named nobody/);
    revokeToken(catalog, t.id);
    expect(verifyToken(catalog, t.token)).toBeNull();
    expect(() => revokeToken(catalog, t.id)).toThrow(/no token/);
    const u = createToken(catalog, 'ci');
    removeUser(catalog, 'ci');
    expect(verifyToken(catalog, u.token)).toBeNull();
    expect(listTokens(catalog)).toEqual([]);
  });
});

describe('parseAuthorization', () => {
  it('reads Basic and Bearer credentials and flags anything else', () => {
    const basic = `Basic ${Buffer.from('alice:pa:ss word').toString('base64')}`;
    expect(parseAuthorization(basic)).toEqual({ kind: 'basic', name: 'alice', password: 'pa:ss word' });
    expect(parseAuthorization('bearer abc')).toEqual({ kind: 'bearer', token: 'abc' });
    expect(parseAuthorization(undefined)).toBeNull();
    expect(parseAuthorization('')).toBeNull();
    expect(parseAuthorization('Basic !!!')).toEqual({ kind: 'malformed' });
    expect(parseAuthorization(`Basic ${Buffer.from('nocolon').toString('base64')}`)).toEqual({ kind: 'malformed' });
    expect(parseAuthorization('Digest a b')).toEqual({ kind: 'malformed' });
  });
});

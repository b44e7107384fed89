// Who is calling: HTTP Basic (user name and password, checked with scrypt) or
// Bearer (an API token). Failed logins are throttled per user name and per
// client address (LoginLimiter). A successful password check is remembered
// for a few minutes under an HMAC of the credentials with a per-process key,
// so a client that sends Basic credentials on every request does not pay for
// scrypt every time; changing or removing the user invalidates it at once.
import { createHmac, randomBytes } from 'node:crypto';
import type { Catalog } from '../catalog/catalog.js';
import { currentPasswordHash, verifyUserPassword, type UserRecord } from '../catalog/users.js';
import { verifyToken } from '../catalog/tokens.js';
import { isValidName } from '../common/names.js';
import { HttpArcaError } from './http-errors.js';
import { LoginLimiter, type LimiterKey } from './login-limiter.js';

export interface Principal {
  user: UserRecord;
  via: 'password' | 'token';
  tokenId?: string;
}

export const WWW_AUTHENTICATE = 'Basic realm="arca", charset="UTF-8", Bearer realm="arca"';

interface CachedLogin {
  name: string;
  passwordHash: string;
  expiresAt: number;
}

export interface AuthenticatorOptions {
  limiter?: LoginLimiter;
  /** How long a verified password is remembered (ms). Default 5 minutes. */
  cacheMs?: number;
  now?: () => number;
}

function unauthorized(message: string): HttpArcaError {
  return new HttpArcaError('UNAUTHORIZED', message, { 'WWW-Authenticate': WWW_AUTHENTICATE });
}

type Credentials = { kind: 'basic'; name: string; password: string } | { kind: 'bearer'; token: string } | { kind: 'malformed' };

/** Parses an Authorization header; null when there is none. */
export function parseAuthorization(header: string | undefined): Credentials | null {
  if (header === undefined || header.trim() === '') return null;
  const m = /^\s*(\S+)\s+(\S+)\s*$/.exec(header);
  if (!m) return { kind: 'malformed' };
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'bearer') return { kind: 'bearer', token: m[2]! };
  if (scheme !== 'basic' || !/^[A-Za-z0-9+/]+={0,2}$/.test(m[2]!)) return { kind: 'malformed' };
  const decoded = Buffer.from(m[2]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return { kind: 'malformed' };
  return { kind: 'basic', name: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export class Authenticator {
  readonly limiter: LoginLimiter;
  private readonly cacheKey = randomBytes(32);
  private readonly cache = new Map<string, CachedLogin>();
  private readonly cacheMs: number;
  private readonly now: () => number;

  constructor(
    private readonly catalog: Catalog,
    options: AuthenticatorOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.limiter = options.limiter ?? new LoginLimiter({ now: this.now });
    this.cacheMs = options.cacheMs ?? 5 * 60_000;
  }

  /** The caller, or HttpArcaError UNAUTHORIZED (401) / RATE_LIMITED (429). */
  async authenticate(header: string | undefined, address: string): Promise<Principal> {
    const credentials = parseAuthorization(header);
    if (credentials === null) {
      throw unauthorized('authentication required: send Basic credentials (user and password) or a Bearer API token');
    }
    const keys: LimiterKey[] = [`address:${address}`];
    if (credentials.kind === 'basic' && isValidName(credentials.name)) keys.push(`user:${credentials.name}`);
    const wait = this.limiter.retryAfterSeconds(keys);
    if (wait > 0) {
      throw new HttpArcaError('RATE_LIMITED', `too many failed logins; try again in ${wait} s`, { 'Retry-After': String(wait) });
    }
    const principal = await this.check(credentials);
    if (principal === null) {
      this.limiter.fail(keys);
      throw unauthorized(
        credentials.kind === 'bearer'
          ? 'invalid or revoked API token'
          : credentials.kind === 'basic'
            ? 'wrong user name or password'
            : 'malformed Authorization header: use "Basic <base64 of user:password>" or "Bearer <token>"',
      );
    }
    if (principal.via === 'password') this.limiter.succeed(principal.user.name);
    return principal;
  }

  private async check(credentials: Credentials): Promise<Principal | null> {
    switch (credentials.kind) {
      case 'malformed':
        return null;
      case 'bearer': {
        const found = verifyToken(this.catalog, credentials.token);
        return found ? { user: found.user, via: 'token', tokenId: found.tokenId } : null;
      }
      case 'basic':
        return this.checkPassword(credentials.name, credentials.password);
    }
  }

  private async checkPassword(name: string, password: string): Promise<Principal | null> {
    if (!isValidName(name)) return null;
    const key = createHmac('sha256', this.cacheKey).update(name).update('\0').update(password).digest('base64');
    const cached = this.cache.get(key);
    const now = this.now();
    if (cached && cached.expiresAt > now) {
      const current = currentPasswordHash(this.catalog, name);
      if (current && current.passwordHash === cached.passwordHash) return { user: current.user, via: 'password' };
      this.cache.delete(key);
    }
    const verified = await verifyUserPassword(this.catalog, name, password);
    if (!verified) return null;
    this.remember(key, { name, passwordHash: verified.passwordHash, expiresAt: now + this.cacheMs });
    return { user: verified.user, via: 'password' };
  }

  private remember(key: string, login: CachedLogin): void {
    this.cache.set(key, login);
    if (this.cache.size > 1000) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }
}

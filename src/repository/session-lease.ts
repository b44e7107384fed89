// A writer's lease on the volume (format §9): `sessions/<id>`, renewed while
// the writer runs, deleted when it ends. Prune reads these to tell live data
// from garbage.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Backend } from '../backend/backend.js';
import { isNotFound } from '../backend/backend.js';
import { AAD, openSealed, seal } from '../content/seal.js';
import { ArcaError, isArcaError } from '../errors.js';
import { SESSIONS_PREFIX, baseName, sessionKey } from './object-keys.js';

export const LEASE_RENEW_MS = 60_000;
/** A lease not renewed for this long belongs to a dead writer. */
export const LEASE_STALE_MS = 15 * 60_000;
/**
 * A writer whose own lease was last renewed longer ago than this refuses to
 * commit: prune may soon call it dead (LEASE_STALE_MS) and remove what it
 * relies on. The gap to LEASE_STALE_MS is the time a manifest put may take.
 */
export const LEASE_COMMIT_LIMIT_MS = 10 * 60_000;

export interface SessionRecord {
  id: string;
  host: string;
  pid: number;
  purpose: string;
  startedAt: string;
  renewedAt: string;
}

export class SessionLease {
  readonly id: Buffer = randomBytes(16);
  readonly idHex = this.id.toString('hex');
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = new Date().toISOString();
  /** When the lease was last stored (ms), 0 before start. */
  private renewedMs = 0;

  constructor(
    private readonly backend: Backend,
    private readonly encKey: Buffer,
    private readonly purpose: string,
  ) {}

  async start(): Promise<void> {
    await this.write();
    this.timer = setInterval(() => {
      this.write().catch(() => undefined); // a missed renewal is retried at the next tick
    }, LEASE_RENEW_MS);
    this.timer.unref();
  }

  /**
   * Throws unless the lease was renewed recently enough for prune to still
   * count this writer as alive (a machine that slept, a volume that was
   * unreachable for minutes): its backup must not be recorded then.
   */
  assertFresh(now = Date.now()): void {
    const age = now - this.renewedMs;
    if (this.renewedMs === 0 || age > LEASE_COMMIT_LIMIT_MS) {
      throw new ArcaError(
        'ABORTED',
        `this writer's session lease was not renewed for ${Math.round(age / 60_000)} minutes (the machine slept or the volume was unreachable); ` +
          'a prune may have removed data it relied on, so the backup was not recorded; run it again',
      );
    }
  }

  async end(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.backend.delete(sessionKey(this.idHex));
  }

  private async write(): Promise<void> {
    const rec: SessionRecord = {
      id: this.idHex,
      host: hostname(),
      pid: process.pid,
      purpose: this.purpose,
      startedAt: this.startedAt,
      renewedAt: new Date().toISOString(),
    };
    const at = Date.now();
    await this.backend.put(sessionKey(this.idHex), seal(this.encKey, AAD.session, Buffer.from(JSON.stringify(rec))));
    this.renewedMs = Math.max(this.renewedMs, at);
  }
}

export interface SessionList {
  /** Leases renewed within LEASE_STALE_MS. */
  live: SessionRecord[];
  /** Leases of dead writers (not renewed for LEASE_STALE_MS). */
  stale: SessionRecord[];
  /** Keys of leases that cannot be read; counted as live (we cannot tell). */
  unreadable: string[];
}

/** Reads every lease on the volume and sorts them into live and stale. */
export async function listSessions(backend: Backend, encKey: Buffer, now = Date.now()): Promise<SessionList> {
  const out: SessionList = { live: [], stale: [], unreadable: [] };
  const keys: string[] = [];
  for await (const o of backend.list(SESSIONS_PREFIX)) keys.push(o.key);
  for (const key of keys) {
    let rec: SessionRecord;
    try {
      rec = JSON.parse(openSealed(encKey, AAD.session, await backend.get(key), `session ${key}`).toString('utf8')) as SessionRecord;
    } catch (err) {
      if (isNotFound(err)) continue; // the writer ended while we listed
      if (!isArcaError(err, 'CORRUPT') && !(err instanceof SyntaxError)) throw err;
      out.unreadable.push(key);
      continue;
    }
    const renewed = Date.parse(rec.renewedAt);
    if (rec.id !== baseName(key) || Number.isNaN(renewed)) out.unreadable.push(key);
    else if (now - renewed > LEASE_STALE_MS) out.stale.push(rec);
    else out.live.push(rec);
  }
  return out;
}

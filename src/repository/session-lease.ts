// A writer's lease on the volume (format §9): `sessions/<id>`, renewed while
// the writer runs, deleted when it ends. Prune reads these to tell live data
// from garbage.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Backend } from '../backend/backend.js';
import { AAD, seal } from '../content/seal.js';
import { sessionKey } from './object-keys.js';

export const LEASE_RENEW_MS = 60_000;
/** A lease not renewed for this long belongs to a dead writer. */
export const LEASE_STALE_MS = 15 * 60_000;

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
    await this.backend.put(sessionKey(this.idHex), seal(this.encKey, AAD.session, Buffer.from(JSON.stringify(rec))));
  }
}

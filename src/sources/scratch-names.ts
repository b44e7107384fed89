// Names of the scratch databases restores load into (PostgreSQL and
// MySQL/MariaDB alike): `arca_restore_<host>_<pid>_<random>`, host being 8 hex
// digits of the SHA-256 of this machine's host name and pid the restoring
// process, so a restore killed outright leaves a name that proves whose it
// was. Each engine's cleanup (pg-scratch.ts, mysql-scratch.ts) drops only
// the names isOrphanName() proves abandoned, and only without a session.

import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

const PREFIX = 'arca_restore_';
const NAME = /^arca_restore_([0-9a-f]{8})_(\d+)_[0-9a-f]+$/;

function hostTag(): string {
  return createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
}

/** A new scratch database name that records this host and process. */
export function scratchName(): string {
  return `${PREFIX}${hostTag()}_${process.pid}_${randomBytes(6).toString('hex')}`;
}

/** True while a process with this pid exists (EPERM: it exists, but is not ours). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The scratch database `name` was made on this host by a process that is gone. */
export function isOrphanName(name: string): boolean {
  const m = NAME.exec(name);
  if (!m || m[1] !== hostTag()) return false;
  const pid = Number(m[2]);
  return pid !== process.pid && !processExists(pid);
}

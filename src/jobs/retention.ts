// Retention: which backups of ONE database a prune removes, as a pure
// function of the backups, a policy and an injected clock (restic's
// ApplyPolicy shape). Expired backups go whatever the policy says; of the
// rest, with a policy, a backup stays when some rule keeps it: keep-last N
// keeps the N newest, keep-hourly/daily/weekly/monthly/yearly N keep the
// newest backup of each of the N newest hours/days/ISO weeks/months/years
// (UTC) that have backups. An empty policy keeps every backup not expired.

import { ArcaError, errorMessage } from '../errors.js';
import { listDatabases, type Catalog } from '../catalog/index.js';

export const RETENTION_RULES = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;
export type RetentionRule = (typeof RETENTION_RULES)[number];
export type RetentionPolicy = Partial<Record<RetentionRule, number>>;

/** The CLI's and the reasons' name of a rule: keepDaily → keep-daily. */
export function ruleFlag(rule: RetentionRule): string {
  return rule.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export interface RetentionInput {
  id: string;
  startedAt: string;
  expiresAt: string | null;
}

export interface RetentionDecision {
  id: string;
  startedAt: string;
  action: 'keep' | 'remove';
  reasons: string[];
}

/** The largest count a rule accepts (more than anyone keeps; guards against typos like 1e9). */
export const MAX_RULE_COUNT = 100_000;

/** Checks a policy read from the catalog or typed by a user; throws USAGE naming the bad rule. */
export function validatePolicy(raw: unknown, what = 'retention policy'): RetentionPolicy {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ArcaError('USAGE', `the ${what} must be an object of keep rules`);
  const out: RetentionPolicy = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!(RETENTION_RULES as readonly string[]).includes(key)) {
      throw new ArcaError('USAGE', `the ${what} has an unknown rule "${key}" (known: ${RETENTION_RULES.map((r) => ruleFlag(r)).join(', ')})`);
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_RULE_COUNT) {
      throw new ArcaError('USAGE', `${ruleFlag(key as RetentionRule)} must be a whole number from 0 to ${MAX_RULE_COUNT}`);
    }
    if (value > 0) out[key as RetentionRule] = value;
  }
  return out;
}

export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  return RETENTION_RULES.every((r) => !policy[r]);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The ISO 8601 week (year and number) of a UTC date: weeks start on Monday; week 1 holds the year's first Thursday. */
export function isoWeek(d: Date): { year: number; week: number } {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7; // Monday 1 … Sunday 7
  t.setUTCDate(t.getUTCDate() + 4 - day); // the Thursday of this week decides the year
  const year = t.getUTCFullYear();
  const week = Math.ceil(((t.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return { year, week };
}

/** The bucket a rule puts a backup in, as shown in reasons: 2026-11-20T13, 2026-11-20, 2026-W47, 2026-11, 2026. */
export function bucketOf(rule: Exclude<RetentionRule, 'keepLast'>, d: Date): string {
  const y = pad(d.getUTCFullYear(), 4);
  switch (rule) {
    case 'keepHourly':
      return `${y}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}`;
    case 'keepDaily':
      return `${y}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    case 'keepWeekly': {
      const w = isoWeek(d);
      return `${pad(w.year, 4)}-W${pad(w.week)}`;
    }
    case 'keepMonthly':
      return `${y}-${pad(d.getUTCMonth() + 1)}`;
    case 'keepYearly':
      return y;
  }
}

/**
 * Decides, for each backup of one database, keep or remove, with reasons.
 * A backup is expired when `now >= expiresAt`. Decisions come back newest first.
 */
export function applyRetention(backups: readonly RetentionInput[], policy: RetentionPolicy, now: Date): RetentionDecision[] {
  const sorted = [...backups].sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.id.localeCompare(a.id));
  const decisions: RetentionDecision[] = [];
  const alive: RetentionDecision[] = [];
  for (const b of sorted) {
    const expired = b.expiresAt !== null && Date.parse(b.expiresAt) <= now.getTime();
    const d: RetentionDecision = { id: b.id, startedAt: b.startedAt, action: expired ? 'remove' : 'keep', reasons: expired ? [`expired at ${b.expiresAt}`] : [] };
    decisions.push(d);
    if (!expired) alive.push(d);
  }
  if (isEmptyPolicy(policy)) {
    for (const d of alive) d.reasons.push('no retention policy; not expired');
    return decisions;
  }
  const last = policy.keepLast ?? 0;
  alive.forEach((d, i) => {
    if (i < last) d.reasons.push(`kept by keep-last (${i + 1} of ${last})`);
  });
  for (const rule of RETENTION_RULES) {
    if (rule === 'keepLast') continue;
    let left = policy[rule] ?? 0;
    let previous: string | undefined;
    for (const d of alive) {
      if (left === 0) break;
      const bucket = bucketOf(rule, new Date(d.startedAt));
      if (bucket === previous) continue; // an older backup of a bucket already kept
      previous = bucket;
      d.reasons.push(`kept by ${ruleFlag(rule)} (${bucket})`);
      left--;
    }
  }
  for (const d of alive) {
    if (d.reasons.length === 0) {
      d.action = 'remove';
      d.reasons.push('dropped by policy');
    }
  }
  return decisions;
}

/** The retention policy of every registered database (`settings.retention`), for `arca prune` and the API. */
export function retentionPolicies(catalog: Catalog): Record<string, RetentionPolicy> {
  const out: Record<string, RetentionPolicy> = {};
  for (const d of listDatabases(catalog)) {
    const raw = d.settings['retention'];
    if (raw === undefined || raw === null) continue;
    try {
      out[d.name] = validatePolicy(raw, `retention policy of database ${d.name}`);
    } catch (err) {
      throw new ArcaError('USAGE', `${errorMessage(err)}; fix it with: arca db retention ${d.name} --clear`, { cause: err });
    }
  }
  return out;
}

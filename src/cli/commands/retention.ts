// `arca db retention DB [--keep-last N] [--keep-hourly N] … [--clear]`: sets
// or shows a database's retention policy (the catalog's databases.settings
// key `retention`). Given rules are merged into the policy; 0 removes a rule;
// --clear removes the policy first. `arca prune` applies it.
import { InvalidArgumentError, type Command } from 'commander';
import { validateName } from '../../common/names.js';
import { requireDatabase, updateDatabaseSettings, type DatabaseSettings } from '../../catalog/index.js';
// Pure helpers, imported from their module (not the jobs index, which CLI tests replace).
import { isEmptyPolicy, RETENTION_RULES, ruleFlag, validatePolicy, type RetentionPolicy, type RetentionRule } from '../../jobs/retention.js';
import type { ContextFactory } from '../context.js';

const MAX_KEEP = 100_000;

/** `--keep-… N`: a whole number from 0 to 100000 (0 removes the rule). */
export function parseKeepCount(value: string): number {
  if (!/^\s*\d{1,6}\s*$/.test(value) || Number(value) > MAX_KEEP) {
    throw new InvalidArgumentError(`the count must be a whole number from 0 to ${MAX_KEEP} (0 removes the rule)`);
  }
  return Number(value);
}

export function describePolicy(name: string, policy: RetentionPolicy): string {
  if (isEmptyPolicy(policy)) return `no retention policy for ${name}: arca prune removes only its expired backups`;
  const rules = RETENTION_RULES.filter((r) => policy[r]).map((r) => `${ruleFlag(r)} ${policy[r]}`);
  return `retention of ${name}: ${rules.join(', ')} (expired backups go regardless)`;
}

type RetentionOptions = Partial<Record<RetentionRule, number>> & { clear?: boolean };

export function registerRetentionCommand(program: Command, contextOf: ContextFactory): void {
  const db = program.commands.find((c) => c.name() === 'db') ?? program.command('db').description('manage the databases to back up');
  const cmd = db
    .command('retention')
    .description('set or show which backups prune keeps: the newest N, and the newest of each of the last N hours, days, ISO weeks, months, years (UTC)')
    .argument('<name>', 'the database');
  for (const rule of RETENTION_RULES) {
    const what = rule === 'keepLast' ? 'the newest N backups' : `the newest backup of each of the last N ${rule.slice(4).toLowerCase().replace('ily', 'ys').replace('ly', 's')}`;
    cmd.option(`--${ruleFlag(rule)} <n>`, `keep ${what} (0 removes the rule)`, parseKeepCount);
  }
  cmd.option('--clear', 'remove the policy (then only expiry removes backups), before applying any rules given');
  cmd.action((name: string, opts: RetentionOptions, command: Command) => {
    const ctx = contextOf(command);
    validateName('database', name);
    const catalog = ctx.catalog();
    const current = requireDatabase(catalog, name);
    const given = RETENTION_RULES.filter((r) => opts[r] !== undefined);
    let policy = opts.clear ? {} : validatePolicy(current.settings['retention'] ?? {}, `retention policy of database ${name}`);
    if (opts.clear || given.length > 0) {
      const next: RetentionPolicy = { ...policy };
      for (const r of given) next[r] = opts[r];
      policy = validatePolicy(next); // drops rules set to 0
      const value: DatabaseSettings[string] = isEmptyPolicy(policy) ? null : { ...policy };
      // null first, so the stored object is replaced, not merged (json_patch merges objects).
      updateDatabaseSettings(catalog, name, { retention: null });
      if (value !== null) updateDatabaseSettings(catalog, name, { retention: value });
    }
    ctx.output.result({ database: name, retention: policy }, () => describePolicy(name, policy));
  });
}

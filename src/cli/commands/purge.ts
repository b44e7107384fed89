// `arca purge DB [--dry-run]`, `arca purge rule add|list|remove` and
// `arca purge settings DB`: deleting old data from a database by rules, after
// a backup (unless the database's backupBeforePurge setting is off; that
// backup expires as its purgeBackupExpire setting says, never by default). A real
// purge is a tracked job that puts the database in maintenance and refuses
// to run beside another purge or a restore of the same database.
import { InvalidArgumentError, type Command } from 'commander';
import { ArcaError, errorMessage } from '../../errors.js';
import { parseDuration } from '../../common/duration.js';
import { formatBytes, formatTimestamp } from '../../common/format.js';
import { validateName } from '../../common/names.js';
import { lowerOwnPriority } from '../../common/priority.js';
import { requireDatabase } from '../../catalog/index.js';
import type { PurgeRuleRecord, PurgeRuleSpec } from '../../catalog/purge-rules.js';
import type { PurgeResult } from '../../jobs/purge/index.js';
import type { ContextFactory } from '../context.js';
import { canonicalExpiry } from '../../common/duration.js';
import { DEFAULT_BATCH_SIZE, validateBatchSize } from '../../jobs/job-limits.js';
import { renderTable, shortId } from '../output.js';
import { openChosenVolume } from '../volumes.js';

interface PurgeOptions {
  volume?: string;
  dryRun?: boolean;
  batchSize: number;
  nice: boolean;
}

interface RuleAddOptions {
  table?: string;
  column?: string;
  olderThan?: string;
  match?: { column: string; values: string[] };
  where?: string;
  glob?: string;
}

function parseBatchSize(value: string): number {
  if (!/^\d{1,7}$/.test(value)) throw new InvalidArgumentError('use a whole number of rows, e.g. 5000');
  const n = Number(value);
  try {
    return validateBatchSize(n);
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err));
  }
}

function parseMatch(value: string): { column: string; values: string[] } {
  const eq = value.indexOf('=');
  const column = eq < 0 ? '' : value.slice(0, eq).trim();
  const values = eq < 0 ? [] : value.slice(eq + 1).split(',');
  if (column === '' || values.length === 0 || values.some((v) => v === '')) {
    throw new InvalidArgumentError('use COLUMN=V1,V2,… (one column, one or more values separated by commas)');
  }
  return { column, values };
}

function parseOnOff(value: string): boolean {
  if (/^(on|true|yes)$/i.test(value)) return true;
  if (/^(off|false|no)$/i.test(value)) return false;
  throw new InvalidArgumentError('use on or off');
}

/** `--backup-expire D`: as `arca backup --expire` takes it; the text as it is stored. */
function parseBackupExpire(value: string): string {
  try {
    return canonicalExpiry(value); // as parsePurgeBackupExpire (catalog/purge-rules.ts) stores it
  } catch (err) {
    throw new InvalidArgumentError(`${errorMessage(err)}, or never`);
  }
}

function parseId(value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new ArcaError('USAGE', `a rule id is a whole number (see arca purge rule list), not "${value}"`);
  return Number(value);
}

/** The rule a `rule add` command line describes, before it is checked against the database. */
function specFrom({ parsePurgeRuleSpec }: PurgeRules, url: string, o: RuleAddOptions): PurgeRuleSpec {
  if (o.olderThan === undefined) throw new ArcaError('USAGE', 'a purge rule needs --older-than AGE, e.g. "90d" or "1w 3d"');
  const age = { olderThan: o.olderThan.trim(), olderThanMs: parseDuration(o.olderThan) };
  if (url.startsWith('file:')) {
    if (o.table !== undefined || o.column !== undefined || o.match !== undefined || o.where !== undefined) {
      throw new ArcaError('USAGE', 'a files database takes --glob PATTERN --older-than AGE rules, not --table/--column/--match/--where');
    }
    if (o.glob === undefined) throw new ArcaError('USAGE', 'a rule for a files database needs --glob PATTERN (relative to the directory, e.g. "logs/**/*.log")');
    return parsePurgeRuleSpec({ kind: 'files', glob: o.glob, ...age });
  }
  if (o.glob !== undefined) throw new ArcaError('USAGE', '--glob is for files databases; a database rule names --table and --column');
  if (o.table === undefined || o.column === undefined) {
    throw new ArcaError('USAGE', 'a purge rule needs --table TABLE and --column TIMESTAMP_COLUMN (and --older-than AGE)');
  }
  return parsePurgeRuleSpec({
    kind: 'table',
    table: o.table,
    column: o.column,
    ...age,
    ...(o.match ? { match: o.match } : {}),
    ...(o.where !== undefined ? { where: o.where } : {}),
  });
}

/** One line saying what a rule deletes. */
export function describeRule(spec: PurgeRuleSpec): string {
  if (spec.kind === 'files') return `files matching ${JSON.stringify(spec.glob)} with mtime older than ${spec.olderThan}`;
  const table = spec.schema === undefined ? spec.table : `${spec.schema}.${spec.table}`;
  const parts = [`rows of ${table} whose ${spec.column} is older than ${spec.olderThan}`];
  if (spec.match) parts.push(`${spec.match.column} in (${spec.match.values.join(', ')})`);
  if (spec.where) parts.push(`(${spec.where})`);
  return parts.join(' and ');
}

function ruleJson(r: PurgeRuleRecord): object {
  return { id: r.id, database: r.database, createdAt: r.createdAt, ...r.spec };
}

function purgeReport(result: PurgeResult, backupBefore: boolean): string {
  const files = result.rules.some((r) => r.kind === 'files');
  const rows = result.rules.map((r) => [
    String(r.rule),
    r.table ?? r.glob ?? '',
    r.olderThan,
    formatTimestamp(r.cutoff),
    String(r.rows ?? r.files ?? 0),
    ...(files ? [formatBytes(r.bytes ?? 0)] : []),
    ...(result.dryRun ? [] : [String(r.batches)]),
  ]);
  const table = renderTable(
    [
      { header: 'RULE', align: 'right' },
      { header: files ? 'GLOB' : 'TABLE' },
      { header: 'OLDER THAN' },
      { header: 'CUTOFF' },
      { header: files ? 'FILES' : 'ROWS', align: 'right' },
      ...(files ? [{ header: 'BYTES', align: 'right' as const }] : []),
      ...(result.dryRun ? [] : [{ header: 'BATCHES', align: 'right' as const }]),
    ],
    rows,
  );
  const what = files ? `${result.files} ${result.files === 1 ? 'file' : 'files'} (${formatBytes(result.bytes)})` : `${result.rows} ${result.rows === 1 ? 'row' : 'rows'}`;
  if (result.dryRun) return `${table}dry run: the purge of ${result.database} would delete ${what}; nothing was deleted`;
  const expires = result.backupExpiresAt === null ? 'never expires' : `expires at ${formatTimestamp(result.backupExpiresAt)}`;
  const backup = result.backup
    ? `after backup ${shortId(result.backup)} (${result.backup}), which ${expires}`
    : `without a backup${backupBefore ? '' : ' (backupBeforePurge is off)'}`;
  return `${table}deleted ${what} of ${result.database} in ${result.batches} ${result.batches === 1 ? 'batch' : 'batches'}, ${backup}`;
}

/**
 * The purge rules (they load zod) and the purge job (the sources and the
 * backup job): imported when a command uses them, not while argv is parsed
 * (see program.ts).
 */
type PurgeRules = typeof import('../../catalog/purge-rules.js');
const loadPurgeRules = (): Promise<PurgeRules> => import('../../catalog/purge-rules.js');
const loadPurgeJob = () => import('../../jobs/purge/index.js');

export function registerPurgeCommands(program: Command, contextOf: ContextFactory): void {
  const purge = program
    .command('purge')
    .description('delete old data from a database by its purge rules, after a backup (see: purge rule add)')
    .argument('<database>', 'the database')
    .option('--volume <volume>', 'the volume of the backup taken first (may be left out when only one is registered)')
    .option('--dry-run', 'only count what each rule would delete; no backup, nothing deleted')
    .option('--batch-size <n>', 'rows (files) deleted per batch, each batch its own short transaction', parseBatchSize, DEFAULT_BATCH_SIZE)
    .option('--no-nice', 'keep normal CPU and I/O priority for the backup taken first')
    .action(async (name: string, opts: PurgeOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      validateName('database', name);
      const catalog = ctx.catalog();
      const record = requireDatabase(catalog, name);
      const { backupBeforePurgeOf, listPurgeRules, purgeBackupExpireMsOf } = await loadPurgeRules();
      const rules = listPurgeRules(catalog, name);
      const database = { name: record.name, url: record.url };
      const base = { database, rules, batchSize: opts.batchSize };
      if (opts.dryRun) {
        const { runPurge } = await loadPurgeJob();
        const result = await ctx.runJob((job) => runPurge({ ...base, dryRun: true, ...job }));
        ctx.output.result(result, () => purgeReport(result, false));
        return;
      }
      if (rules.length === 0) throw (await loadPurgeJob()).noPurgeRules(name);
      const backupBefore = backupBeforePurgeOf(record);
      const backupExpireMs = backupBefore ? purgeBackupExpireMsOf(record) : null;
      if (backupBefore && opts.nice) lowerOwnPriority();
      // The purge job (and the backup it takes first) loads while the volume's key derivation runs.
      const [volume, { runPurge, purgeFigures }] = await Promise.all([
        backupBefore ? openChosenVolume(ctx, opts.volume) : null,
        loadPurgeJob(),
      ]);
      const result = await ctx.runTracked(
        {
          kind: 'purge',
          database: name,
          volume: volume?.ref.name ?? null,
          exclusive: [{ kinds: ['purge', 'restore'], scope: 'database' }],
        },
        (job) => runPurge({ ...base, backupTo: volume, backupExpireMs, signal: job.signal, onProgress: job.onProgress }),
        purgeFigures,
      );
      ctx.output.result(result, () => purgeReport(result, backupBefore));
    });

  const rule = purge.command('rule').description('the rules that say which old data a purge deletes');

  rule
    .command('add')
    .description('add a purge rule, checked against the live database (which must be reachable)')
    .argument('<database>', 'the database')
    .option('--table <table>', 'the table (PostgreSQL: schema.table, or a table on the search_path)')
    .option('--column <column>', 'its date/time column: rows older than --older-than go')
    .option('--older-than <age>', 'the age, e.g. "90d", "1w 3d", "12h"')
    .option('--match <column=values>', 'only rows whose COLUMN is one of V1,V2,… (values are bound, never spliced)', parseMatch)
    .option('--where <sql>', 'extra condition in the database\'s SQL, ANDed in parentheses; trusted: it runs as written with the URL\'s privileges')
    .option('--glob <pattern>', 'files databases: paths relative to the directory, e.g. "logs/**/*.log" (mtime older than --older-than)')
    .action(async (name: string, opts: RuleAddOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      validateName('database', name);
      const catalog = ctx.catalog();
      const record = requireDatabase(catalog, name);
      const purgeRules = await loadPurgeRules();
      const given = specFrom(purgeRules, record.url, opts);
      const { checkPurgeRule } = await loadPurgeJob();
      const { spec, count } = await checkPurgeRule(record.url, given);
      const added = purgeRules.addPurgeRule(catalog, name, spec);
      const unit = spec.kind === 'files' ? `files (${formatBytes(count.bytes)})` : 'rows';
      ctx.output.result({ ...ruleJson(added), wouldDelete: { [spec.kind === 'files' ? 'files' : 'rows']: count.items, ...(spec.kind === 'files' ? { bytes: count.bytes } : {}) } }, () =>
        `added purge rule ${added.id} of ${name}: ${describeRule(added.spec)}\nit would delete ${count.items} ${unit} now (see: arca purge ${name} --dry-run)`,
      );
    });

  rule
    .command('list')
    .description('list purge rules, of one database or of all')
    .argument('[database]', 'only the rules of this database')
    .action(async (name: string | undefined, _opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const catalog = ctx.catalog();
      if (name !== undefined) requireDatabase(catalog, validateName('database', name));
      const { listPurgeRules } = await loadPurgeRules();
      const rules = listPurgeRules(catalog, name);
      ctx.output.result(rules.map(ruleJson), () =>
        rules.length === 0
          ? `no purge rules${name === undefined ? '' : ` for ${name}`}; add one with: arca purge rule add DB --table TABLE --column COLUMN --older-than 90d`
          : renderTable(
              [{ header: 'ID', align: 'right' }, { header: 'DATABASE' }, { header: 'RULE' }, { header: 'ADDED' }],
              rules.map((r) => [String(r.id), r.database, describeRule(r.spec), formatTimestamp(r.createdAt)]),
            ),
      );
    });

  rule
    .command('remove')
    .description('remove a purge rule')
    .argument('<database>', 'the database')
    .argument('<id>', 'the rule id (see: arca purge rule list)')
    .action(async (name: string, id: string, _opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      validateName('database', name);
      const ruleId = parseId(id);
      const { removePurgeRule } = await loadPurgeRules();
      removePurgeRule(ctx.catalog(), name, ruleId);
      ctx.output.result({ removed: ruleId, database: name }, () => `removed purge rule ${ruleId} of ${name}`);
    });

  purge
    .command('settings')
    .description('show or change how a database is purged')
    .argument('<database>', 'the database')
    .option('--backup-before-purge <on|off>', 'take a backup before every purge (on by default)', parseOnOff)
    .option(
      '--backup-expire <duration|never>',
      'when that backup expires, counted from the start of the purge: "1w 3d", "12h", "30m" or never (the default)',
      parseBackupExpire,
    )
    .action(async (name: string, opts: { backupBeforePurge?: boolean; backupExpire?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      validateName('database', name);
      const { backupBeforePurgeOf, purgeBackupExpireOf, updatePurgeSettings } = await loadPurgeRules();
      const record = updatePurgeSettings(ctx.catalog(), name, {
        ...(opts.backupBeforePurge !== undefined ? { backupBeforePurge: opts.backupBeforePurge } : {}),
        ...(opts.backupExpire !== undefined ? { purgeBackupExpire: opts.backupExpire } : {}),
      });
      const settings = { database: record.name, backupBeforePurge: backupBeforePurgeOf(record), purgeBackupExpire: purgeBackupExpireOf(record) };
      ctx.output.result(settings, () => describeSettings(settings));
    });
}

function describeSettings(s: { database: string; backupBeforePurge: boolean; purgeBackupExpire: string }): string {
  const expiry = s.purgeBackupExpire === 'never' ? 'never expires' : `expires ${s.purgeBackupExpire} after the purge starts`;
  return s.backupBeforePurge
    ? `${s.database}: backup before purge on; that backup ${expiry}`
    : `${s.database}: backup before purge off (when on, that backup ${expiry})`;
}

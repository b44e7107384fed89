// `arca check [--volume V] [--read-data[=PCT]]`: verifies a volume's
// structure, and with --read-data re-reads that share of the packs. Exits 1
// naming the affected backups when problems are found.
import type { Command } from 'commander';
import { checkFailure, checkSummary } from '../check-report.js';
import type { ContextFactory } from '../context.js';
import { parseReadDataPercent, readDataPercentOf } from '../options.js';
import { openChosenVolume } from '../volumes.js';

interface CheckOptions {
  volume?: string;
  readData?: number | boolean;
}

export function registerCheckCommand(program: Command, contextOf: ContextFactory): void {
  program
    .command('check')
    .description('verify a volume; --read-data also decrypts and re-hashes stored data')
    .option('--volume <volume>', 'the volume (may be left out when only one is registered)')
    .option('--read-data [percent]', 'read and verify this share of the data (default 100%)', parseReadDataPercent)
    .action(async (opts: CheckOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const readDataPercent = readDataPercentOf(opts.readData);
      const [volume, { runCheck }] = await Promise.all([openChosenVolume(ctx, opts.volume), import('../../jobs/check-job.js')]);
      const report = await ctx.runTracked(
        { kind: 'check', volume: volume.ref.name },
        (job) => runCheck({ volume, readDataPercent, signal: job.signal, onProgress: job.onProgress }),
        (r) => ({ ok: r.ok, backups: r.backups, packs: r.packs, packsRead: r.packsRead, blobsRead: r.blobsRead, problems: r.problems.length }),
      );
      ctx.output.result(report, () => checkSummary(volume.ref.name, report, readDataPercent));
      if (!report.ok) throw checkFailure(volume.ref.name, report);
    });
}

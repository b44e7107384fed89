// The `arca` command line: global options, the commands, and one run from
// argv to an exit status (errors become one line on stderr, see exit.ts).
// Command implementations (job modules, sources, scheduler, server, zod) are
// imported lazily inside the actions, beside the volume open: parsing loads
// 85 modules instead of 181 (`--version` 0.16 s instead of 0.33 s), and the
// rest loads while the volume's scrypt key derivation (~0.4 s, threadpool)
// runs instead of before it, so a backup reaches its source ~0.17 s sooner.
// test/integration/cli-startup.test.ts keeps it so.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { CliContext, type ContextFactory, type GlobalOptions } from './context.js';
import { errorReport, exitCodeFor, EXIT_OK } from './exit.js';
import type { Io } from './io.js';
import { registerBackupCommand } from './commands/backup.js';
import { registerBackupsCommand } from './commands/backups.js';
import { registerCheckCommand } from './commands/check.js';
import { registerDbCommands } from './commands/db.js';
import { registerExportCommand } from './commands/export.js';
import { registerPurgeCommands } from './commands/purge.js';
import { registerJobsCommands } from './commands/jobs.js';
import { registerRestoreCommand } from './commands/restore.js';
import { registerScheduleCommands } from './commands/schedule.js';
import { registerSchedulerCommand } from './commands/scheduler.js';
import { registerVolumeCommands } from './commands/volume.js';
import { registerDeleteCommand } from './commands/delete.js';
import { registerExpireCommand } from './commands/expire.js';
import { registerPruneCommand } from './commands/prune.js';
import { registerRetentionCommand } from './commands/retention.js';
import { registerServeCommand } from './commands/serve.js';
import { registerUserCommands } from './commands/user.js';
import { registerTokenCommands } from './commands/token.js';
import { registerNotifyCommands } from './commands/notify.js';
import { registerCopyCommand } from './commands/copy.js';
import { runRemoteCli, wantsRemote } from './remote/remote-program.js';

/** The package version, from the nearest package.json above this module. */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'arca' && pkg.version) return pkg.version;
    } catch {
      // not here; look one level up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

export function buildProgram(io: Io, contextOf: ContextFactory): Command {
  const program = new Command('arca');
  program
    .description('Back up, restore and purge databases and the files beside them')
    .version(packageVersion(), '--version', 'print the version')
    .addOption(new Option('--home <dir>', 'where the catalog lives (default: $ARCA_HOME or ~/.local/share/arca)'))
    .addOption(new Option('--password-file <file>', 'read the volume password from this file (else $ARCA_PASSWORD or a prompt)'))
    .option('--json', 'print JSON on stdout')
    .option('--debug', 'show stack traces of errors')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      // Errors are printed once, by runCli, as one line.
      outputError: () => undefined,
    })
    .showSuggestionAfterError(true);

  registerVolumeCommands(program, contextOf);
  registerDbCommands(program, contextOf);
  registerBackupCommand(program, contextOf);
  registerBackupsCommand(program, contextOf);
  registerRestoreCommand(program, contextOf);
  registerExportCommand(program, contextOf);
  registerCheckCommand(program, contextOf);
  registerJobsCommands(program, contextOf);
  registerScheduleCommands(program, contextOf);
  registerSchedulerCommand(program, contextOf);
  registerPurgeCommands(program, contextOf);
  registerRetentionCommand(program, contextOf);
  registerExpireCommand(program, contextOf);
  registerDeleteCommand(program, contextOf);
  registerPruneCommand(program, contextOf);
  registerServeCommand(program, contextOf);
  registerUserCommands(program, contextOf);
  registerTokenCommands(program, contextOf);
  registerNotifyCommands(program, contextOf);
  registerCopyCommand(program, contextOf);
  return program;
}

/** Runs one `arca` invocation (argv without node and script) and returns its exit status. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  // `--server URL`: the commands run on a remote Arca server (src/cli/remote/).
  if (wantsRemote(argv)) return runRemoteCli(argv, io);
  const state: { context: CliContext | null } = { context: null };
  const contextOf: ContextFactory = (command) => {
    state.context ??= new CliContext(io, command.optsWithGlobals<GlobalOptions>());
    return state.context;
  };
  const program = buildProgram(io, contextOf);
  let failure: unknown = null;
  let failed = false;
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    failure = err;
    failed = true;
  }
  const ctx = state.context;
  try {
    await ctx?.close();
  } catch (err) {
    if (!failed) {
      failure = err;
      failed = true;
    }
  }
  if (!failed) return EXIT_OK;
  const debug = ctx?.options.debug ?? argv.includes('--debug');
  const interruptedBy = ctx?.interruptedBy ?? null;
  for (const line of errorReport(failure, { debug, interruptedBy })) io.stderr.write(`${line}\n`);
  return exitCodeFor(failure, interruptedBy);
}

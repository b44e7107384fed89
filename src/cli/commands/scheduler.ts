// `arca scheduler`: runs the catalog's schedules in the foreground, each job
// as a child `arca` process, logging one line per launch, finish and skip
// (JSON lines with --json). SIGINT/SIGTERM stop it gracefully: no new
// launches, running jobs are asked to stop (SIGTERM) and waited for; a second
// signal ends it at once.
import { isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import { ArcaError } from '../../errors.js';
import type { ChildLauncherOptions, SchedulerEvent } from '../../scheduler/index.js';
import type { CliContext, ContextFactory } from '../context.js';
import { signalExitCode } from '../exit.js';
import { NO_PASSWORD_MESSAGE } from '../password.js';

/** How the children of this run find the catalog and the volume password (never on their command line). */
export function childLauncherOptions(ctx: CliContext): ChildLauncherOptions {
  const file = ctx.options.passwordFile;
  const cwd = ctx.io.cwd();
  return {
    home: ctx.home,
    env: ctx.io.env,
    cwd,
    ...(file !== undefined ? { passwordFile: isAbsolute(file) ? file : resolve(cwd, file) } : {}),
    globalArgs: [...(ctx.json ? ['--json'] : []), ...(ctx.options.debug ? ['--debug'] : [])],
  };
}

function eventLine(e: SchedulerEvent): string {
  switch (e.type) {
    case 'launched':
      return `${e.at} ${e.schedule}: started${e.pid !== null ? ` (pid ${e.pid})` : ''}, scheduled for ${e.scheduledAt}${e.missed ? ' (missed while no scheduler ran; run once now)' : ''}`;
    case 'finished':
      return `${e.at} ${e.schedule}: ${e.status} (${e.outcome})${e.job !== null ? `, job ${e.job}` : ''}`;
    case 'skipped':
      return `${e.at} ${e.schedule}: ${e.reason}`;
    case 'error':
      return `${e.at} ${e.schedule ?? 'scheduler'}: error: ${e.message}`;
  }
}

export function registerSchedulerCommand(program: Command, contextOf: ContextFactory): void {
  program
    .command('scheduler')
    .description('run the schedules in the foreground until SIGINT/SIGTERM (each job as a child arca process)')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const kind = ctx.passwords.kind();
      if (kind !== 'env' && kind !== 'file') {
        throw new ArcaError('NO_PASSWORD', `${NO_PASSWORD_MESSAGE.replace(/, or run on a terminal$/, '')}: the scheduler's jobs run without a terminal`);
      }
      if (kind === 'file') await ctx.passwords.get('scheduler'); // a missing or empty file fails now, not at 00:00
      const log = (text: string): void => void ctx.io.stdout.write(`${text}\n`);
      const { ChildLauncher, Scheduler, systemClock } = await import('../../scheduler/index.js');
      const scheduler = new Scheduler({
        catalog: ctx.catalog(),
        clock: systemClock,
        launcher: new ChildLauncher({ ...childLauncherOptions(ctx), globalArgs: ctx.options.debug ? ['--debug'] : [] }),
        onEvent: (e) => log(ctx.json ? JSON.stringify(e) : eventLine(e)),
      });
      const stopping: Promise<void>[] = [];
      const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
        const handler = (): void => {
          if (stopping.length > 0) ctx.io.exitNow(signalExitCode(signal));
          const waiting = scheduler.runningSchedules();
          if (!ctx.json) log(`${new Date().toISOString()} ${signal}: stopping${waiting.length ? `; waiting for ${waiting.join(', ')}` : ''}`);
          stopping.push(scheduler.stop());
        };
        ctx.io.onSignal(signal, handler);
        return { signal, handler };
      });
      if (!ctx.json) log(`${new Date().toISOString()} scheduler started (home ${ctx.home}); stop it with Ctrl-C or SIGTERM`);
      try {
        await scheduler.run();
        await Promise.all(stopping);
      } finally {
        for (const { signal, handler } of handlers) ctx.io.offSignal(signal, handler);
      }
      if (!ctx.json) log(`${new Date().toISOString()} scheduler stopped`);
    });
}

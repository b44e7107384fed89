// How a CLI run ends: the exit status for an outcome and the one line on
// stderr that explains it. 0 ok, 1 failure, 2 usage error, 130/143 when
// SIGINT/SIGTERM stopped a job. Stack traces only with --debug.
import { CommanderError } from 'commander';
import { ArcaError, errorMessage } from '../errors.js';
import type { StopSignal } from './io.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function signalExitCode(signal: StopSignal): number {
  return signal === 'SIGINT' ? 130 : 143;
}

/** Commander "errors" that are not errors: help or version was printed. */
const COMMANDER_QUIET = new Set(['commander.helpDisplayed', 'commander.version', 'commander.help']);

export function exitCodeFor(err: unknown, interruptedBy: StopSignal | null = null): number {
  if (interruptedBy) return signalExitCode(interruptedBy);
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT_OK;
    // Everything else commander throws is about the command line, including
    // help shown because a subcommand was missing ('commander.help').
    return EXIT_USAGE;
  }
  if (err instanceof ArcaError) return err.code === 'USAGE' ? EXIT_USAGE : EXIT_FAILURE;
  return EXIT_FAILURE;
}

/** Collapses a message onto one line (commander adds "(Did you mean …?)" lines). */
export function oneLine(text: string): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ');
}

function messageOf(err: unknown, interruptedBy: StopSignal | null): string {
  if (err instanceof CommanderError) return oneLine(err.message.replace(/^error:\s*/, ''));
  if (err instanceof ArcaError) return oneLine(err.message);
  if (interruptedBy) return interruptedBy === 'SIGINT' ? 'interrupted' : 'terminated';
  return `internal error: ${oneLine(errorMessage(err))} (run with --debug for details)`;
}

function stackOf(err: unknown): string[] {
  const lines: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const text = current instanceof Error ? (current.stack ?? String(current)) : String(current);
    lines.push(...(depth === 0 ? text : `caused by: ${text}`).split('\n'));
    current = current instanceof Error ? current.cause : undefined;
  }
  return lines;
}

/**
 * What to print on stderr for an error: exactly one line `arca: <message>`,
 * followed (only with --debug) by the stack and causes. Nothing when
 * commander already printed help or the version.
 */
export function errorReport(
  err: unknown,
  options: { debug: boolean; interruptedBy?: StopSignal | null },
): string[] {
  if (err instanceof CommanderError && COMMANDER_QUIET.has(err.code)) return [];
  const interruptedBy = options.interruptedBy ?? null;
  const lines = [`arca: ${messageOf(err, interruptedBy)}`];
  if (options.debug) lines.push(...stackOf(err));
  return lines;
}

import { CommanderError, InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { errorReport, exitCodeFor, oneLine, signalExitCode } from '../../../src/cli/exit.js';
import { ArcaError } from '../../../src/errors.js';

describe('exitCodeFor', () => {
  it('maps ArcaErrors: USAGE → 2, everything else → 1', () => {
    expect(exitCodeFor(new ArcaError('USAGE', 'x'))).toBe(2);
    for (const code of ['NOT_FOUND', 'WRONG_PASSWORD', 'NO_PASSWORD', 'CORRUPT', 'CHECK_FAILED', 'ABORTED'] as const) {
      expect(exitCodeFor(new ArcaError(code, 'x'))).toBe(1);
    }
  });

  it('maps commander parse errors to 2, help and version to 0', () => {
    expect(exitCodeFor(new CommanderError(1, 'commander.unknownOption', "error: unknown option '--x'"))).toBe(2);
    expect(exitCodeFor(new InvalidArgumentError('bad'))).toBe(2);
    expect(exitCodeFor(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'))).toBe(0);
    expect(exitCodeFor(new CommanderError(0, 'commander.version', '0.1.0'))).toBe(0);
    expect(exitCodeFor(new CommanderError(1, 'commander.help', '(outputHelp)'))).toBe(2);
  });

  it('maps bugs to 1 and interrupted runs to 130/143 whatever the error', () => {
    expect(exitCodeFor(new TypeError('x'))).toBe(1);
    expect(exitCodeFor('a string')).toBe(1);
    expect(exitCodeFor(new ArcaError('ABORTED', 'x'), 'SIGINT')).toBe(130);
    expect(exitCodeFor(new Error('x'), 'SIGTERM')).toBe(143);
    expect(signalExitCode('SIGINT')).toBe(130);
    expect(signalExitCode('SIGTERM')).toBe(143);
  });
});

describe('errorReport', () => {
  it('prints exactly one line for user errors', () => {
    expect(errorReport(new ArcaError('NOT_FOUND', 'no volume named x'), { debug: false })).toEqual([
      'arca: no volume named x',
    ]);
    expect(errorReport(new ArcaError('CORRUPT', 'two\nlines'), { debug: false })).toEqual(['arca: two lines']);
  });

  it('strips commander’s "error:" prefix and joins its suggestion lines', () => {
    const err = new CommanderError(1, 'commander.unknownCommand', "error: unknown command 'backp'\n(Did you mean backup?)");
    expect(errorReport(err, { debug: false })).toEqual(["arca: unknown command 'backp' (Did you mean backup?)"]);
  });

  it('prints nothing after help or version output', () => {
    expect(errorReport(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'), { debug: false })).toEqual([]);
    expect(errorReport(new CommanderError(1, 'commander.help', '(outputHelp)'), { debug: false })).toEqual([]);
  });

  it('reports bugs as internal errors; the stack only with --debug', () => {
    const bug = new TypeError('x is undefined');
    expect(errorReport(bug, { debug: false })).toEqual([
      'arca: internal error: x is undefined (run with --debug for details)',
    ]);
    const lines = errorReport(bug, { debug: true });
    expect(lines[0]).toBe('arca: internal error: x is undefined (run with --debug for details)');
    expect(lines[1]).toBe('TypeError: x is undefined');
    expect(lines.some((l) => /^\s+at /.test(l))).toBe(true);
  });

  it('includes causes under --debug', () => {
    const err = new ArcaError('BACKEND', 'disk failed', { cause: new Error('EIO: i/o error') });
    const lines = errorReport(err, { debug: true });
    expect(lines[0]).toBe('arca: disk failed');
    expect(lines).toContain('caused by: Error: EIO: i/o error');
  });

  it('does not call an interruption a bug', () => {
    expect(errorReport(new DOMException('This operation was aborted', 'AbortError'), { debug: false, interruptedBy: 'SIGINT' })).toEqual([
      'arca: interrupted',
    ]);
    expect(errorReport(new ArcaError('ABORTED', 'backup aborted'), { debug: false, interruptedBy: 'SIGTERM' })).toEqual([
      'arca: backup aborted',
    ]);
  });

  it('oneLine trims and drops empty lines', () => {
    expect(oneLine('  a\r\n\n  b  ')).toBe('a b');
  });
});

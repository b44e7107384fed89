import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  expiresAtFrom,
  normalizeVolumeLocation,
  parseExpire,
  parseLevel,
  parseReadDataPercent,
  pickVolume,
  readDataPercentOf,
  resolveTarget,
  validateBackupIdArg,
  willCreateVolume,
} from '../../../src/cli/options.js';
import { isArcaError } from '../../../src/errors.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof CommanderError) return err.code;
    if (isArcaError(err)) return err.code;
    throw err;
  }
  return 'ok';
}

/** Parses argv with the same option definitions the commands use. */
function parseWith(argv: string[]): Record<string, unknown> {
  const cmd = new Command('t')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined })
    .option('--level <n>', 'level', parseLevel, 0)
    .option('--expire <duration>', 'expire', parseExpire)
    .option('--read-data [percent]', 'read', parseReadDataPercent);
  cmd.parse(argv, { from: 'user' });
  return cmd.opts();
}

describe('--level', () => {
  it('accepts one digit 0-9', () => {
    for (let n = 0; n <= 9; n++) expect(parseLevel(String(n))).toBe(n);
    expect(parseWith([])).toMatchObject({ level: 0 });
    expect(parseWith(['--level', '3'])).toMatchObject({ level: 3 });
    expect(parseWith(['--level=9'])).toMatchObject({ level: 9 });
  });

  it.each(['10', '-1', '1.0', '01', ' 1', 'one', '', '0x1', '1e0'])('refuses %j', (v) => {
    expect(code(() => parseLevel(v))).toBe('commander.invalidArgument');
  });

  it('is a commander usage error in argv', () => {
    expect(code(() => parseWith(['--level', '12']))).toBe('commander.invalidArgument');
  });
});

describe('--expire', () => {
  it('parses durations and never', () => {
    expect(parseExpire('1w 3d')).toBe(10 * 86_400_000);
    expect(parseExpire('never')).toBe('never');
    expect(parseExpire(' Never ')).toBe('never');
    expect(parseWith(['--expire', '12h'])).toMatchObject({ expire: 12 * 3_600_000 });
    expect(parseWith(['--expire', 'never'])).toMatchObject({ expire: 'never' });
    expect(code(() => parseWith(['--expire', '2x']))).toBe('commander.invalidArgument');
  });

  it('computes the expiry time', () => {
    const now = new Date('2024-05-01T00:00:00Z');
    expect(expiresAtFrom(undefined, now)).toBeNull();
    expect(expiresAtFrom('never', now)).toBeNull();
    expect(expiresAtFrom(30 * 60_000, now)?.toISOString()).toBe('2024-05-01T00:30:00.000Z');
  });
});

describe('--read-data', () => {
  it('is 0 when absent, 100 when bare, else the percentage', () => {
    expect(readDataPercentOf(parseWith([]).readData as undefined)).toBe(0);
    expect(readDataPercentOf(parseWith(['--read-data']).readData as boolean)).toBe(100);
    expect(readDataPercentOf(parseWith(['--read-data=25']).readData as number)).toBe(25);
    expect(readDataPercentOf(parseWith(['--read-data', '12.5%']).readData as number)).toBe(12.5);
    expect(readDataPercentOf(parseWith(['--read-data', '--level', '1']).readData as boolean)).toBe(100);
  });

  it.each(['0', '0%', '101', '-5', 'abc', '50%%', ''])('refuses %j', (v) => {
    expect(code(() => parseReadDataPercent(v))).toBe('commander.invalidArgument');
  });
});

describe('locations and paths', () => {
  it('keeps URLs and makes plain paths absolute', () => {
    expect(normalizeVolumeLocation('s3://bucket/prefix', '/cwd')).toBe('s3://bucket/prefix');
    expect(normalizeVolumeLocation('file:///srv/vol', '/cwd')).toBe('file:///srv/vol');
    expect(normalizeVolumeLocation('vol', '/cwd')).toBe('/cwd/vol');
    expect(normalizeVolumeLocation('../x/./y/', '/cwd/a')).toBe('/cwd/x/y');
    expect(normalizeVolumeLocation('/abs//vol', '/cwd')).toBe('/abs/vol');
    expect(code(() => normalizeVolumeLocation('  ', '/cwd'))).toBe('USAGE');
  });

  it('tells whether volume add will create a volume', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'arca-opt-'));
    try {
      expect(await willCreateVolume(join(dir, 'absent'))).toBe(true);
      mkdirSync(join(dir, 'empty'));
      expect(await willCreateVolume(join(dir, 'empty'))).toBe(true);
      expect(await willCreateVolume(pathToFileURL(join(dir, 'empty')).href)).toBe(true);
      writeFileSync(join(dir, 'empty', 'config'), 'x');
      expect(await willCreateVolume(join(dir, 'empty'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resolves the restore target', () => {
    expect(resolveTarget('out', '/cwd')).toBe('/cwd/out');
    expect(resolveTarget('/abs/out', '/cwd')).toBe('/abs/out');
    expect(resolveTarget('postgres://app@db/restored', '/cwd')).toBe('postgres://app@db/restored');
    expect(code(() => resolveTarget('', '/cwd'))).toBe('USAGE');
  });

  it('validates backup id arguments', () => {
    expect(validateBackupIdArg('1a2b')).toBe('1a2b');
    expect(validateBackupIdArg(' 1a2b ')).toBe('1a2b');
    for (const bad of ['', 'a b', '../x', 'a/b']) expect(code(() => validateBackupIdArg(bad))).toBe('USAGE');
  });
});

describe('pickVolume', () => {
  const v = (name: string) => ({ name });

  it('takes the only volume when none is named', () => {
    expect(pickVolume([v('main')], undefined)).toEqual(v('main'));
  });

  it('takes the named volume', () => {
    expect(pickVolume([v('a'), v('b')], 'b')).toEqual(v('b'));
  });

  it('is a usage error listing them when several exist and none is named', () => {
    try {
      pickVolume([v('a'), v('b')], undefined);
      expect.unreachable();
    } catch (err) {
      expect(isArcaError(err, 'USAGE')).toBe(true);
      expect((err as Error).message).toBe('several volumes are registered (a, b); choose one with --volume');
    }
  });

  it('is NOT_FOUND for an unknown name or no volume at all', () => {
    expect(code(() => pickVolume([v('a')], 'z'))).toBe('NOT_FOUND');
    expect(code(() => pickVolume([], undefined))).toBe('NOT_FOUND');
    expect(code(() => pickVolume([], 'z'))).toBe('NOT_FOUND');
  });
});

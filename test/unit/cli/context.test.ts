import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureHome, resolveHome } from '../../../src/cli/context.js';
import { isArcaError } from '../../../src/errors.js';

describe('resolveHome', () => {
  it('uses --home, then ARCA_HOME, then ~/.local/share/arca', () => {
    expect(resolveHome({ home: '/a' }, { ARCA_HOME: '/b' }, '/cwd')).toBe('/a');
    expect(resolveHome({}, { ARCA_HOME: '/b' }, '/cwd')).toBe('/b');
    expect(resolveHome({}, { ARCA_HOME: '' }, '/cwd')).toBe(join(homedir(), '.local', 'share', 'arca'));
    expect(resolveHome({}, {}, '/cwd')).toBe(join(homedir(), '.local', 'share', 'arca'));
  });

  it('makes relative homes absolute', () => {
    expect(resolveHome({ home: 'h' }, {}, '/cwd')).toBe('/cwd/h');
    expect(resolveHome({}, { ARCA_HOME: '../h' }, '/cwd/x')).toBe('/cwd/h');
  });
});

describe('ensureHome', () => {
  it('creates missing directories with mode 0700, and accepts an existing one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'arca-home-'));
    try {
      const home = join(dir, 'a', 'b');
      ensureHome(home);
      expect(statSync(home).mode & 0o777).toBe(0o700);
      ensureHome(home);
      writeFileSync(join(dir, 'file'), '');
      try {
        ensureHome(join(dir, 'file'));
        expect.unreachable();
      } catch (err) {
        expect(isArcaError(err)).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  NO_PASSWORD_MESSAGE,
  PasswordSource,
  passwordFromFileContent,
  promptHidden,
  PromptInterrupted,
} from '../../../src/cli/password.js';
import { isArcaError } from '../../../src/errors.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'arca-pw-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function tty(isTTY: boolean): PassThrough & { isTTY: boolean } {
  return Object.assign(new PassThrough(), { isTTY });
}
const sink = { write: () => true };

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('PasswordSource', () => {
  it('prefers --password-file, then ARCA_PASSWORD, then a prompt on a terminal', () => {
    const s = (passwordFile: string | undefined, env: Record<string, string>, isTTY: boolean) =>
      new PasswordSource({ passwordFile, env, stdin: tty(isTTY), stderr: sink }).kind();
    expect(s('/f', { ARCA_PASSWORD: 'x' }, true)).toBe('file');
    expect(s(undefined, { ARCA_PASSWORD: 'x' }, true)).toBe('env');
    expect(s(undefined, { ARCA_PASSWORD: '' }, true)).toBe('prompt');
    expect(s(undefined, {}, false)).toBe('none');
  });

  it('fails with NO_PASSWORD and the documented message', async () => {
    const err = await errorOf(new PasswordSource({ passwordFile: undefined, env: {}, stdin: tty(false), stderr: sink }).get('v'));
    expect(isArcaError(err, 'NO_PASSWORD')).toBe(true);
    expect(err.message).toBe(NO_PASSWORD_MESSAGE);
  });

  it('reads the file without its final line ending', async () => {
    const file = join(dir, 'pw');
    writeFileSync(file, 'pass word\r\n');
    const s = new PasswordSource({ passwordFile: file, env: { ARCA_PASSWORD: 'env' }, stdin: tty(false), stderr: sink });
    expect(await s.get('v')).toBe('pass word');
    expect(passwordFromFileContent('a\n\n')).toBe('a\n');
    expect(passwordFromFileContent('a')).toBe('a');
  });

  it('refuses an empty or missing file without echoing content', async () => {
    writeFileSync(join(dir, 'empty'), '\n');
    const get = (f: string) =>
      new PasswordSource({ passwordFile: f, env: {}, stdin: tty(false), stderr: sink }).get('v');
    expect((await errorOf(get(join(dir, 'empty')))).message).toMatch(/is empty/);
    expect((await errorOf(get(join(dir, 'missing')))).message).toMatch(/cannot read the password file .*: no such file/);
  });

  it('prompts once per volume, twice for a new volume, and checks the repeat', async () => {
    const answers = ['a', 'a', 'b', 'c'];
    const questions: string[] = [];
    const s = new PasswordSource({
      passwordFile: undefined,
      env: {},
      stdin: tty(true),
      stderr: sink,
      prompt: async (q) => {
        questions.push(q);
        return answers.shift() ?? '';
      },
    });
    expect(await s.get('v1', { confirm: true })).toBe('a');
    expect(await s.get('v1')).toBe('a'); // remembered
    const err = await errorOf(s.get('v2', { confirm: true }));
    expect(isArcaError(err, 'USAGE')).toBe(true);
    expect(err.message).toBe('the passwords do not match');
    expect(questions).toEqual([
      'new password for volume v1: ',
      'repeat the password for volume v1: ',
      'new password for volume v2: ',
      'repeat the password for volume v2: ',
    ]);
  });
});

describe('promptHidden', () => {
  function run(input: string) {
    const stdin = tty(true);
    const out: string[] = [];
    const modes: boolean[] = [];
    Object.assign(stdin, { setRawMode: (m: boolean) => modes.push(m) });
    const p = promptHidden('password: ', stdin, { write: (s: string) => out.push(s) > 0 });
    stdin.write(input);
    return { p, out, modes };
  }

  it('reads a line without echo, with backspace and line kill', async () => {
    const { p, out, modes } = run('sx\u007fecr\u0015secret\r');
    expect(await p).toBe('secret');
    expect(out.join('')).toBe('password: \n');
    expect(modes).toEqual([true, false]);
  });

  it('turns Ctrl-C into PromptInterrupted', async () => {
    const { p } = run('abc\u0003');
    const err = await errorOf(p);
    expect(err).toBeInstanceOf(PromptInterrupted);
    expect(isArcaError(err, 'ABORTED')).toBe(true);
  });
});

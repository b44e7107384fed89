// Where the volume password comes from: --password-file, then ARCA_PASSWORD,
// then a no-echo prompt when stdin is a terminal. Passwords never appear in
// argv, logs or error messages.
import { readFile } from 'node:fs/promises';
import { ArcaError, errorMessage } from '../errors.js';
import type { InStream, OutStream } from './io.js';

export const NO_PASSWORD_MESSAGE =
  'no volume password: set ARCA_PASSWORD, use --password-file, or run on a terminal';

/** A password file's content without its final line ending ("\n" or "\r\n"). */
/** All of a stream (stdin) as UTF-8 text. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export function passwordFromFileContent(content: string): string {
  return content.replace(/\r?\n$/, '');
}

export async function readPasswordFile(file: string): Promise<string> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : errorMessage(err);
    throw new ArcaError('NO_PASSWORD', `cannot read the password file ${file}: ${why}`);
  }
  const password = passwordFromFileContent(content);
  if (password === '') throw new ArcaError('NO_PASSWORD', `the password file ${file} is empty`);
  return password;
}

/** Thrown when the user presses Ctrl-C at the prompt (raw mode swallows SIGINT). */
export class PromptInterrupted extends ArcaError {
  constructor() {
    super('ABORTED', 'interrupted');
  }
}

/**
 * Reads a line from a terminal without echoing it. Handles backspace,
 * Ctrl-C (PromptInterrupted), Ctrl-D/Ctrl-U and pasted text.
 */
export function promptHidden(question: string, input: InStream, output: OutStream): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let value = '';
    const wasRaw = (input as { isRaw?: boolean }).isRaw === true;
    output.write(question);
    input.setRawMode?.(true);
    input.setEncoding('utf8');
    const finish = (err: Error | null): void => {
      input.removeListener('data', onData);
      input.setRawMode?.(wasRaw);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolvePromise(value);
    };
    const onData = (chunk: string | Buffer): void => {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n') return finish(null);
        if (ch === '\u0003') return finish(new PromptInterrupted());
        if (ch === '\u0004') {
          if (value === '') return finish(new PromptInterrupted());
          return finish(null);
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch === '\u0015') value = '';
        else if (ch >= ' ') value += ch;
      }
    };
    input.on('data', onData);
    input.resume();
  });
}

export interface PasswordSourceOptions {
  passwordFile: string | undefined;
  env: Record<string, string | undefined>;
  stdin: InStream;
  stderr: OutStream;
  /** The prompt; injectable for tests. */
  prompt?: (question: string) => Promise<string>;
}

/** Resolves (and remembers) volume passwords for one CLI run. */
export class PasswordSource {
  private readonly cache = new Map<string, string>();
  private shared: string | null = null;

  constructor(private readonly options: PasswordSourceOptions) {}

  /** Where passwords come from in this run. */
  kind(): 'file' | 'env' | 'prompt' | 'none' {
    if (this.options.passwordFile !== undefined) return 'file';
    if (this.options.env['ARCA_PASSWORD']) return 'env';
    if (this.options.stdin.isTTY) return 'prompt';
    return 'none';
  }

  /**
   * The password for `volume`. With `confirm` (a new volume) a prompted
   * password is asked twice; file and environment passwords are used as is.
   */
  async get(volume: string, options: { confirm?: boolean } = {}): Promise<string> {
    switch (this.kind()) {
      case 'file':
        this.shared ??= await readPasswordFile(this.options.passwordFile ?? '');
        return this.shared;
      case 'env':
        return this.options.env['ARCA_PASSWORD'] ?? '';
      case 'prompt':
        return this.prompted(volume, options.confirm === true);
      case 'none':
        throw new ArcaError('NO_PASSWORD', NO_PASSWORD_MESSAGE);
    }
  }

  private async prompted(volume: string, confirm: boolean): Promise<string> {
    const cached = this.cache.get(volume);
    if (cached !== undefined) return cached;
    const ask =
      this.options.prompt ?? ((q: string) => promptHidden(q, this.options.stdin, this.options.stderr));
    const password = await ask(confirm ? `new password for volume ${volume}: ` : `password for volume ${volume}: `);
    if (password === '') throw new ArcaError('NO_PASSWORD', 'the password must not be empty');
    if (confirm) {
      const again = await ask(`repeat the password for volume ${volume}: `);
      if (again !== password) throw new ArcaError('USAGE', 'the passwords do not match');
    }
    this.cache.set(volume, password);
    return password;
  }
}

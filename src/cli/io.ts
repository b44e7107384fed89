// The process edges the CLI touches (streams, environment, signals, cwd),
// behind one small interface so the CLI can run in tests without a process.

export interface OutStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

export interface InStream extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export type StopSignal = 'SIGINT' | 'SIGTERM';

export interface Io {
  stdout: OutStream;
  stderr: OutStream;
  stdin: InStream;
  env: Record<string, string | undefined>;
  cwd(): string;
  onSignal(signal: StopSignal, handler: () => void): void;
  offSignal(signal: StopSignal, handler: () => void): void;
  /** Ends the process at once (only for a second Ctrl-C while a job winds down). */
  exitNow(code: number): never;
}

export function processIo(): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: () => process.cwd(),
    onSignal: (signal, handler) => void process.on(signal, handler),
    offSignal: (signal, handler) => void process.off(signal, handler),
    exitNow: (code) => process.exit(code),
  };
}

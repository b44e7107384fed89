// Running a database's own client tool on an uploaded export (psql,
// pg_restore, mariadb, tar; a file can be its stdin): its stderr becomes the error message (secrets masked),
// an AbortSignal kills it, and a non-zero exit is an ArcaError. How far the
// tool has read its stdin file is reported from the kernel's view of its
// file offset (/proc/PID/fdinfo/0 on Linux), without copying the bytes.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { ArcaError, errorMessage } from '../../errors.js';
import { redactSecrets } from '../../common/redact.js';

export interface ToolResult {
  stdout: string;
}

export function runTool(
  command: string,
  args: string[],
  opts: {
    env?: NodeJS.ProcessEnv;
    signal?: AbortSignal;
    step: string;
    code?: 'SOURCE' | 'USAGE';
    keepStdout?: boolean;
    stdinFile?: string;
    /** Bytes of stdinFile the tool has read so far, about every second (Linux); never less than reported before. */
    onStdinRead?: (bytes: number) => void;
  },
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    let stdin: number | 'ignore' = 'ignore';
    try {
      if (opts.stdinFile !== undefined) stdin = openSync(opts.stdinFile, 'r');
    } catch (err) {
      return reject(new ArcaError('SOURCE', `${opts.step}: cannot read the upload: ${errorMessage(err)}`, { cause: err }));
    }
    let child;
    try {
      child = spawn(command, args, { env: opts.env ?? process.env, stdio: [stdin, 'pipe', 'pipe'] });
    } finally {
      if (typeof stdin === 'number') closeSync(stdin); // the child holds its own copy
    }
    let stderr = '';
    let stdout = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < 8192) stderr += s;
    });
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      if (opts.keepStdout && stdout.length < 1_000_000) stdout += s;
    });
    const pid = child.pid;
    // Only a larger offset is reported: a tool that seeks back (pg_restore jumping to a data block) must not move progress back.
    let furthest = 0;
    const watch =
      opts.onStdinRead && typeof stdin === 'number' && pid !== undefined && process.platform === 'linux'
        ? setInterval(() => {
            const read = stdinOffset(pid);
            if (read === null || read <= furthest) return;
            furthest = read;
            opts.onStdinRead!(read);
          }, 1000)
        : undefined;
    watch?.unref();
    const onAbort = () => child.kill('SIGTERM');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      clearInterval(watch);
      opts.signal?.removeEventListener('abort', onAbort);
      reject(new ArcaError('SOURCE', `${opts.step}: cannot run ${command}: ${errorMessage(err)}`, { cause: err }));
    });
    child.on('close', (code, sig) => {
      clearInterval(watch);
      opts.signal?.removeEventListener('abort', onAbort);
      if (opts.signal?.aborted) return reject(new ArcaError('ABORTED', `${opts.step}: aborted`));
      if (code === 0) return resolve({ stdout });
      const why = stderr.trim() ? redactSecrets(stderr.trim().split('\n').slice(0, 6).join('; ')) : sig ? `killed by ${sig}` : `exit code ${code}`;
      reject(new ArcaError(opts.code ?? 'SOURCE', `${opts.step}: ${why}`));
    });
  });
}

/** The file offset of a process's stdin (bytes it has read from a file), or null when unknown. */
export function stdinOffset(pid: number): number | null {
  try {
    const m = /^pos:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/0`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null; // gone, or no /proc
  }
}

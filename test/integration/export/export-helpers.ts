// Helpers for the export tests: run the built CLI in a chosen directory (the
// shared runArca always runs in the repository root), keeping stdout as bytes.

import { spawn } from 'node:child_process';
import { ARCA_BIN, TEST_PASSWORD, type ArcaOptions } from '../../helpers/index.js';

export interface BinaryRun {
  code: number | null;
  stdoutBytes: Buffer;
  stderr: string;
}

export function runArcaIn(cwd: string, args: string[], opts: ArcaOptions): Promise<BinaryRun & { args: string[]; signal: NodeJS.Signals | null; stdout: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ARCA_') && v !== undefined) env[k] = v;
  env['ARCA_HOME'] = opts.home;
  env['ARCA_PASSWORD'] = TEST_PASSWORD;
  const child = spawn(process.execPath, [ARCA_BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ args, code, signal, stdoutBytes, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

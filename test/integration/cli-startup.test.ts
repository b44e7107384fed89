// End to end: what the CLI loads before a command runs. Argument parsing and
// the command modules must not load the engine (the sources, the job modules,
// the scheduler, the server, zod): `arca backup` imports its job while the
// volume's key derivation runs in the threadpool, so module loading overlaps
// it (src/cli/program.ts). Checked with a module loader hook
// (test/helpers/module-trace.ts) on the built CLI.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backup,
  describeRun,
  expectCleanFailure,
  file,
  freshHome,
  makeScratch,
  makeTree,
  moduleTrace,
  requireBuiltCli,
  runArca,
  type Home,
  type ModuleTrace,
  type Scratch,
} from '../helpers/index.js';

/** Modules (under dist/src/) that only a command's action may load. */
const ENGINE = [
  /^sources\//,
  /^scheduler\//,
  /^server\//,
  /^jobs\/index\.js$/,
  /^jobs\/[^/]+-job\.js$/,
  /^jobs\/purge\//,
  /^catalog\/purge-rules\.js$/,
];

/** Packages that only a command's action may load. */
const ENGINE_PACKAGES = ['zod', 'pg', 'pg-copy-streams', 'mysql2', 'fastify', '@aws-sdk/client-s3', 'croner', 'nodemailer', 'zstd-napi'];

function engineModules(modules: readonly string[]): string[] {
  return modules.filter((m) => ENGINE.some((re) => re.test(m)));
}

describe('CLI startup: the engine loads only when a command runs', () => {
  let scratch: Scratch;
  let trace: ModuleTrace;
  let home: Home;

  beforeAll(async () => {
    requireBuiltCli();
    scratch = makeScratch('cli-startup');
    trace = moduleTrace(scratch.root);
    home = await freshHome(scratch.path('h'));
    makeTree(scratch.path('docs'), { 'readme.txt': file('hello\n'), 'data.bin': file({ random: 50_000 }) });
  });

  afterAll(() => scratch?.cleanup());

  it('parses argv and registers every command without loading the engine', async () => {
    trace.clear();
    const r = await runArca(['--version'], { ...home.opts, nodeArgs: trace.nodeArgs });
    expect(r.code, describeRun(r)).toBe(0);
    const modules = trace.arcaModules();
    // The hook saw the CLI (so an empty trace cannot pass), every command module included.
    expect(modules).toContain('cli/main.js');
    expect(modules).toContain('cli/commands/backup.js');
    expect(modules).toContain('cli/commands/purge.js');
    expect(engineModules(modules)).toEqual([]);
    expect(trace.packages().filter((p) => ENGINE_PACKAGES.includes(p))).toEqual([]);
  });

  it('backup: imports its job beside the volume open, and ends as before when the password is wrong', async () => {
    expect((await runArca(['db', 'add', 'docs', scratch.path('docs'), '--no-schedule'], home.opts)).code).toBe(0);

    trace.clear();
    const wrong = await runArca(['backup', 'docs'], { ...home.opts, env: { ARCA_PASSWORD: 'not the password' }, nodeArgs: trace.nodeArgs });
    expectCleanFailure(wrong, [1]);
    expect(wrong.stderr).toBe('arca: wrong password for volume main\n');
    // Started with the volume open, so it loaded although the volume never opened.
    expect(trace.arcaModules()).toContain('jobs/backup-job.js');

    trace.clear();
    const id = await backup('docs', { ...home.opts, nodeArgs: trace.nodeArgs });
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(trace.arcaModules()).toContain('jobs/backup-job.js');
  });

  it('a command that fails before opening a volume loads no engine', async () => {
    trace.clear();
    const r = await runArca(['backup', 'nosuchdb'], { ...home.opts, nodeArgs: trace.nodeArgs });
    expectCleanFailure(r, [1]);
    expect(engineModules(trace.arcaModules())).toEqual([]);
  });
});

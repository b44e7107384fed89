// Which of Arca's modules (and packages) a CLI run loads, in load order: a
// module loader hook, written into a scratch folder, that appends every URL
// it loads to a trace file. Run the CLI with `nodeArgs` from moduleTrace()
// (see ArcaOptions), then read the trace.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const HOOKS = `// Appends the URL of every module loaded to the trace file (test/helpers/module-trace.ts).
import { appendFileSync } from 'node:fs';
let trace = '';
export function initialize(data) { trace = data.trace; }
export async function load(url, context, next) {
  appendFileSync(trace, url + '\\n');
  return next(url, context);
}
`;

export interface ModuleTrace {
  /** Pass as ArcaOptions.nodeArgs (the trace file collects every run's modules). */
  nodeArgs: string[];
  /** Arca's own modules loaded so far, as paths under dist/src/ ("cli/main.js"). */
  arcaModules(): string[];
  /** The packages loaded so far (names under node_modules/, "@scope/name" included). */
  packages(): string[];
  /** Empties the trace (before the next run). */
  clear(): void;
}

/** Writes the hook into `dir` (an existing scratch folder). */
export function moduleTrace(dir: string): ModuleTrace {
  const trace = path.join(dir, 'module-trace.txt');
  const hooks = path.join(dir, 'module-trace-hooks.mjs');
  const register = path.join(dir, 'module-trace-register.mjs');
  writeFileSync(hooks, HOOKS);
  writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { trace: ${JSON.stringify(trace)} } });\n`,
  );
  writeFileSync(trace, '');
  const urls = (): string[] => readFileSync(trace, 'utf8').split('\n').filter((l) => l !== '');
  return {
    nodeArgs: ['--import', pathToFileURL(register).href],
    arcaModules: () => urls().flatMap((u) => (u.includes('/dist/src/') ? [u.split('/dist/src/')[1]!] : [])),
    packages: () => [
      ...new Set(urls().flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.slice(1, 2) ?? [])),
    ],
    clear: () => writeFileSync(trace, ''),
  };
}

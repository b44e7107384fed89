// Integration tests' setup file: when a test fails (a timeout included), print
// what PostgreSQL and MariaDB were doing and which processes ran, so that a
// hang in CI names the session or lock it waited for (service-state.ts).

import { afterEach } from 'vitest';
import { serviceStateReport } from '../helpers/service-state.js';

afterEach(async (ctx) => {
  if (ctx.task.result?.state !== 'fail') return;
  const report = await serviceStateReport();
  process.stderr.write(`\n=== service state after the failure of "${ctx.task.name}" ===\n${report}\n=== end of service state ===\n`);
}, 30_000);

// Two projects: `unit` needs no services and no build; `integration` talks to real
// services (PostgreSQL, MariaDB, the built CLI) and may be slower.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 60_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // A test that needs more than 5 minutes is hung: fail it, and let
          // setup/report-failures.ts print what the services were doing.
          testTimeout: 300_000,
          hookTimeout: 120_000,
          setupFiles: ['test/setup/report-failures.ts'],
          fileParallelism: false,
        },
      },
    ],
  },
});

// Two projects: `unit` needs no services and no build; `integration` talks to real
// services (PostgreSQL, MariaDB, the built CLI) and may be slower.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Every test, and every CLI it starts, uses the native content addon and
    // fails if it is not built (src/content/native.ts); the JavaScript code it
    // stands for is tested by name (native.test.ts, chunker.test.ts).
    env: { ARCA_NATIVE: 'require' },
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

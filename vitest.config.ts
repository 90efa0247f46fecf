import { defineConfig } from 'vitest/config';

// Integration tests share one Redis and one Postgres; each uses its own queue prefix and schema,
// but CPU-heavy suites still run better a few at a time on a 2-core machine.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});

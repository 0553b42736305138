import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// The workspace packages export a "source" condition (their src/*.ts): tests run the sources, never a stale dist/.
// Spawned CLI processes run the built JavaScript, which is why `npm test` builds first.
export default defineConfig({
  resolve: { conditions: ['source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['source', ...defaultServerConditions] } },
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests start real servers on ephemeral ports; files run in parallel, tests within a file in order.
    pool: 'forks',
    // Most of a test's time is spent waiting (on pacing windows, latency faults, timeouts), not computing: two files
    // at a time keeps CI well under its budget; more starve the timing-sensitive tests of CPU.
    maxWorkers: 2,
    minWorkers: 1,
  },
});

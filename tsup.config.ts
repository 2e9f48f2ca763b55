import { defineConfig } from 'tsup';

// Each public subpath is one entry; `exports` in package.json names exactly these files
// (scripts/check-exports.mjs verifies the two agree after a build, and that each one loads).
export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      redis: 'src/backends/redis/index.ts',
      postgres: 'src/backends/postgres.ts',
      pglite: 'src/backends/pglite.ts',
      config: 'src/config.ts',
      mcp: 'src/mcp/index.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    // Peer dependencies are the application's, never bundled.
    external: ['ioredis', 'pg', '@electric-sql/pglite', /^@modelcontextprotocol\/sdk/],
  },
  {
    // vitest is ESM-only, so the suites are too.
    entry: { 'testing/index': 'src/testing/index.ts' },
    format: ['esm'],
    dts: true,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    external: ['vitest'],
  },
  {
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    // src/cli/main.ts starts with its own `#!/usr/bin/env node`, which tsup keeps.
    external: ['ioredis', 'pg', '@electric-sql/pglite'],
  },
]);

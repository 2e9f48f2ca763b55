import { defineConfig } from 'tsup';

// Each public subpath is one entry; `exports` in package.json names exactly these files
// (scripts/check-exports.mjs verifies the two agree after a build, that each one loads, and that
// the entries share one copy of the library).
const dual = {
  index: 'src/index.ts',
  kit: 'src/kit.ts',
  tokens: 'src/tokens/index.ts',
  redis: 'src/backends/redis/index.ts',
  postgres: 'src/backends/postgres.ts',
  pglite: 'src/backends/pglite.ts',
  config: 'src/config/index.ts',
  mcp: 'src/mcp/index.ts',
  keyv: 'src/keyv/index.ts',
  express: 'src/express/index.ts',
  fastify: 'src/fastify/index.ts',
};
// vitest is ESM-only, so the suites are too; the CLI is an ESM script.
const esmOnly = { 'testing/index': 'src/testing/index.ts' };
const cli = { cli: 'src/cli/main.ts' };

// Peer dependencies are the application's, never bundled.
const peers = ['ioredis', 'pg', '@electric-sql/pglite', /^@modelcontextprotocol\/sdk/, 'express', 'express-session', 'fastify', /^@fastify\//];

const common = { sourcemap: true, target: 'node20', platform: 'node', outDir: 'dist' } as const;

export default defineConfig([
  {
    // Every ESM entry in ONE build with code splitting: what two entries share (the error classes,
    // the layers, module-level counters and caches) lives in one chunk that both import, so an
    // object made by one entry passes `instanceof` and sees the same state in another.
    // src/cli/main.ts starts with its own `#!/usr/bin/env node`, which tsup keeps.
    ...common,
    entry: { ...dual, ...esmOnly, ...cli },
    format: ['esm'],
    splitting: true,
    dts: { entry: { ...dual, ...esmOnly } },
    external: [...peers, 'vitest'],
  },
  {
    // The same for require(): tsup's CommonJS output has no splitting unless asked, and then each
    // entry would carry its own copy of the library.
    ...common,
    entry: dual,
    format: ['cjs'],
    splitting: true,
    dts: true,
    external: peers,
  },
]);

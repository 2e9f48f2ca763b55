import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(`./src/${p}`, import.meta.url));

/** Public subpaths and their source entry (the same map as tsconfig `paths` and tsup's entries). */
const subpaths: Record<string, string> = {
  kit: 'kit.ts',
  tokens: 'tokens/index.ts',
  testing: 'testing/index.ts',
  redis: 'backends/redis/index.ts',
  postgres: 'backends/postgres.ts',
  pglite: 'backends/pglite.ts',
  config: 'config/index.ts',
  mcp: 'mcp/index.ts',
  keyv: 'keyv/index.ts',
  express: 'express/index.ts',
  fastify: 'fastify/index.ts',
  web: 'web/index.ts',
  'kms/aws': 'kms/aws.ts',
};

export default defineConfig({
  resolve: {
    // Tests, examples and the walkthrough import the package by its public name and run from source.
    alias: [
      { find: /^sealed-session-store$/, replacement: src('index.ts') },
      ...Object.entries(subpaths).map(([sub, file]) => ({ find: `sealed-session-store/${sub}`, replacement: src(file) })),
    ],
  },
  test: {
    setupFiles: ['test/support/fast-check-seed.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // `npm test` runs both projects: `unit` first (files in parallel), then `faults` alone, one
    // file at a time, so the tests that kill private servers and measure recovery or throughput
    // never compete with the rest for the CPU. `vitest run --project unit` skips them.
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['**/node_modules/**', 'test/faults/**', 'test/load/**', 'test/rotation/*-rotation.test.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'faults',
          include: ['test/faults/**/*.test.ts', 'test/load/**/*.test.ts', 'test/rotation/*-rotation.test.ts'],
          exclude: ['**/node_modules/**'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(`./src/${p}`, import.meta.url));

/** Public subpaths and their source entry (the same map as tsconfig `paths` and tsup's entries). */
const subpaths: Record<string, string> = {
  testing: 'testing/index.ts',
  redis: 'backends/redis.ts',
  postgres: 'backends/postgres.ts',
  pglite: 'backends/pglite.ts',
  config: 'config.ts',
  mcp: 'mcp/index.ts',
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
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});

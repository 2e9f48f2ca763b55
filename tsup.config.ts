import { defineConfig } from 'tsup';

// Each public subpath is one entry; `exports` in package.json names exactly these files
// (test/package/exports.test.ts checks the two agree after a build).
export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
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
]);

import { builtinModules } from 'node:module';
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
  web: 'src/web/index.ts',
  'kms/aws': 'src/kms/aws.ts',
};
// vitest is ESM-only, so the suites are too; the CLI is an ESM script.
const esmOnly = { 'testing/index': 'src/testing/index.ts' };
const cli = { cli: 'src/cli/main.ts' };

// Peer dependencies are the application's, never bundled.
const peers = ['ioredis', 'redis', 'pg', '@electric-sql/pglite', /^@modelcontextprotocol\/sdk/, 'express', 'express-session', 'fastify', /^@fastify\//, 'hono', /^hono\//, /^@aws-sdk\//];
// The CLI's own dependencies are bundled into dist/cli.js (and nothing else imports them), so a
// library user installs neither: they are devDependencies.
const cliOnly = ['commander', 'cli-progress'];

// No source maps in the package: dist/ is unminified, so a stack trace already names readable
// functions and lines, and the maps were half of the tarball (docs/development.md).
const common = { sourcemap: false, target: 'node20', platform: 'node', outDir: 'dist', removeNodeProtocol: false } as const;

/**
 * commander and cli-progress are CommonJS and `require()` Node built-ins; bundled into ESM output,
 * esbuild turns those into a `__require` that throws ("Dynamic require of "events" is not
 * supported"). This resolves each such `require('events')` to a bundled module that asks Node for
 * the built-in (`process.getBuiltinModule`, Node >= 20.16), so the bundle needs no `require` at all.
 */
const builtinRequires = {
  name: 'builtin-requires',
  setup(build: { onResolve: Function; onLoad: Function }) {
    const names = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    build.onResolve({ filter: /^[a-z_:/]+$/ }, (args: { path: string; kind: string }) =>
      args.kind === 'require-call' && names.has(args.path) ? { path: args.path.replace(/^node:/, ''), namespace: 'builtin-require' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'builtin-require' }, (args: { path: string }) => ({
      contents: `module.exports = process.getBuiltinModule(${JSON.stringify(`node:${args.path}`)});`,
      loader: 'js',
    }));
  },
};

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
    noExternal: cliOnly,
    esbuildPlugins: [builtinRequires],
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

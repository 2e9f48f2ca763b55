/**
 * The library's private barrel: what its own fronts (`./mcp`, `./config`, `./testing`, the CLI and
 * the framework stores) import. It is not in package.json `exports`; the public entries are
 * `src/index.ts` (application authors), `src/kit.ts` (store and layer authors) and
 * `src/tokens/index.ts` (low-level token checks).
 */
export * from './index.js';

/**
 * The library's private barrel: what its own fronts (`./mcp`, `./config`, `./testing`, the CLI and
 * the framework stores) import. It is not in package.json `exports`, so nothing here is a promise
 * to users; the public entries are `src/index.ts` (application authors), `src/kit.ts` (store and
 * layer authors) and `src/tokens/index.ts` (low-level token checks).
 *
 * Every public entry and every front shares one copy of these modules in the build (tsup splits
 * shared code into chunks for ESM and CJS alike), so `instanceof` and module state hold across them.
 */
export * from './index.js';
export * from './kit.js';
export * from './tokens/index.js';

// Beyond the public entries: what the fronts need and users do not.
export { ScopedSessionStore, assertClientSessionId } from './layers/ownership.js';
export { ownerHash, subjectHash } from './layers/owner-hash.js';

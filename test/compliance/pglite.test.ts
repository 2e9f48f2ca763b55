/** The shared compliance suite over PgliteStore: one PGlite instance for the file, a fresh table per store. */
import { runStoreContract } from 'sealed-session-store/testing';
import { afterAll } from 'vitest';
import { pgliteFixture } from '../support/fixtures/pglite.js';

const skip = await pgliteFixture.skipReason();

runStoreContract('PgliteStore', (ctx) => pgliteFixture.create(ctx), { skip });

afterAll(async () => {
  if (skip === undefined) await pgliteFixture.cleanup();
});

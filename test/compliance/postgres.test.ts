/** The shared compliance suite over PostgresStore on the real server (skips with a reason when PostgreSQL is absent). */
import { runStoreContract } from 'sealed-session-store/testing';
import { afterAll } from 'vitest';
import { postgresFixture } from '../support/fixtures/postgres.js';

const skip = await postgresFixture.skipReason();

runStoreContract('PostgresStore', (ctx) => postgresFixture.create(ctx), { skip });

afterAll(async () => {
  if (skip === undefined) await postgresFixture.cleanup();
});

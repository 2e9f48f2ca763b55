/**
 * Every example in examples/ runs as a user would run it (`npx tsx examples/<name>.ts`, here as
 * `node --import tsx`), so none rots. The Redis and PostgreSQL ones need the services and skip
 * (or fail under REQUIRE_SERVICES=1) like the other service tests; each gets its own prefix /
 * table, removed afterwards.
 */
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deletePrefix } from '../support/fixtures/redis.js';
import { DATABASE_URL, REDIS_URL, serviceSkipReason, uniqueSuffix } from '../support/services.js';
import { runExample } from '../support/examples.js';

it('ownership.ts: the owner resumes, every stranger is refused', async () => {
  const run = await runExample('ownership');
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toContain('resume(token, alice) -> {"protocolVersion"');
  expect(run.stdout).toContain('resume(alice token, mallory) -> refused: owner_mismatch');
  expect(run.stdout).toContain('mallory.save over alice session -> refused: owner_mismatch');
  expect(run.stdout).toContain('resume(tampered token, alice) -> refused: invalid_token');
  expect(run.stdout).not.toContain('ALLOWED');
  expect(run.stdout).toContain('Done.');
}, 60_000);

it('keyv.ts: Keyv values round-trip and neither key nor value reaches the backend', async () => {
  const run = await runExample('keyv');
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toContain('get user:42 -> {"name":"Ada","plan":"pro"}');
  expect(run.stdout).toContain('holds "Ada": false - holds "user:42": false');
  expect(run.stdout).toContain('after delete -> undefined');
  expect(run.stdout).toContain('Done.');
}, 60_000);

it('pglite.ts: sessions survive a reopen; a second opener is refused', async () => {
  const run = await runExample('pglite');
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toContain('second open -> backend_unavailable');
  expect(run.stdout).toContain('resume -> {"theme":"dark"}');
  expect(run.stdout).toContain('Done.');
}, 180_000);

describe('redis.ts', async () => {
  const skip = await serviceSkipReason('redis');
  const prefix = `ssstest:example:${uniqueSuffix()}:`;
  afterAll(async () => {
    if (skip !== undefined) return;
    const client = new Redis(REDIS_URL);
    await deletePrefix(client, prefix);
    client.disconnect();
  });
  it.skipIf(skip !== undefined)('creates, resumes, rotates and re-keys on a real server', async () => {
    const run = await runExample('redis', { REDIS_URL, SSS_PREFIX: prefix });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('resume -> {"visit":0}');
    expect(run.stdout).toMatch(/re-sealed 3 of 3/);
    expect(run.stdout).toMatch(/retired: no session needed it/);
    expect(run.stdout).toContain('Done.');
  }, 60_000);
});

describe('postgres.ts', async () => {
  const skip = await serviceSkipReason('postgres');
  const schema = `sss_example_${uniqueSuffix()}`;
  let pool: pg.Pool | undefined;
  afterAll(async () => {
    if (pool === undefined) return;
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });
  it.skipIf(skip !== undefined)('creates, updates and resumes on a real server; the row holds no plaintext', async () => {
    pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    await pool.query(`CREATE SCHEMA "${schema}"`);
    const run = await runExample('postgres', { DATABASE_URL, SSS_TABLE: `${schema}.sessions` });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('resume -> {"step":"checkout"}');
    expect(run.stdout).toContain('contains "checkout"? false');
    expect(run.stdout).toContain('Done.');
  }, 60_000);
});

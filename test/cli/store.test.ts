/**
 * The store-facing commands (`usage`, `keys retire` counting sessions, `rekey`, `inspect`,
 * `verify-token`) against real Redis and PostgreSQL and an embedded PGlite directory, with the
 * sessions written the way an application writes them: through `createSessionStore` and the same
 * configuration. Redis and PostgreSQL also get an interrupted re-key: a real process, SIGINT
 * mid-run, resumed from the cursor it printed, ending with zero sessions on the old key.
 */
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SessionStoreConfig, createSessionStore } from 'sealed-session-store/config';
import { RedisStore } from 'sealed-session-store/redis';
import { deletePrefix } from '../support/fixtures/redis.js';
import { DATABASE_URL, REDIS_URL, serviceSkipReason, uniqueSuffix } from '../support/services.js';
import { type CliRun, cli, json, spawnCli, tempDir, waitFor } from './helpers.js';

const owner = { subject: 'alice', clientId: 'cli-test' };
const stranger = { subject: 'mallory' };

interface Target {
  name: 'redis' | 'postgres' | 'pglite';
  /** CLI options naming the store. */
  args: string[];
  /** The same store as the application configures it (its keyset is added per test). */
  config: SessionStoreConfig;
  cleanup: () => Promise<void>;
}

async function populate(target: Target, keyset: string, count: number): Promise<string[]> {
  const created = await createSessionStore({ ...target.config, keyset: { path: keyset, insecureCleartext: true } });
  try {
    const scoped = created.store.for(owner);
    const ids: string[] = [];
    for (let i = 0; i < count; i += 50) {
      ids.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, j) => scoped.create({ n: i + j, note: 'hello' })))));
    }
    return ids;
  } finally {
    await created.close();
  }
}

async function issueToken(target: Target, keyset: string, id: string): Promise<string> {
  const created = await createSessionStore({ ...target.config, keyset: { path: keyset, insecureCleartext: true } });
  try {
    return created.store.issueToken(id, owner);
  } finally {
    await created.close();
  }
}

function encryptKid(run: CliRun, status: string): string {
  return (json(run).keys as Array<{ kid: string; purpose: string; status: string }>).find((k) => k.purpose === 'encrypt' && k.status === status)!.kid;
}

async function lifecycle(target: Target, count: number): Promise<void> {
  const { dir, remove } = await tempDir();
  try {
    const keyset = join(dir, 'keyset.json');
    const k = ['--keyset', keyset, '--insecure-cleartext'];
    expect((await cli(['keys', 'generate', ...k])).code).toBe(0);
    const ids = await populate(target, keyset, count);
    const oldKid = encryptKid(await cli(['keys', 'list', ...k, '--json']), 'primary');

    const usage = await cli(['usage', ...target.args, ...k, '--json']);
    expect(usage.code, usage.stderr).toBe(0);
    expect(json(usage).usage[oldKid]).toBe(count);

    expect((await cli(['keys', 'rotate', 'encrypt', ...k])).code).toBe(0);
    const refused = await cli(['keys', 'retire', oldKid, ...target.args, ...k]);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`refusing to retire encrypt key ${oldKid}: ${count} live record\\(s\\) are still sealed under it`));

    const rekey = await cli(['rekey', ...target.args, ...k, '--batch-size', '7', '--json']);
    expect(rekey.code, rekey.stderr).toBe(0);
    const summary = json(rekey);
    expect(summary).toMatchObject({ ok: true, done: true, resealed: count, failed: 0 });
    expect(summary.usage[oldKid]).toBeUndefined();
    expect(rekey.stderr).not.toMatch(/cursor/); // off a terminal: short lines, never a backend cursor
    for (const id of ids) expect(rekey.stderr).not.toContain(id);

    const after = json(await cli(['usage', ...target.args, ...k, '--json']));
    expect(after.usage[oldKid]).toBeUndefined();
    expect(after.keys.find((r: { kid: string }) => r.kid === oldKid)).toMatchObject({ sessions: 0 });

    const retire = await cli(['keys', 'retire', oldKid, ...target.args, ...k]);
    expect(retire.code, retire.stderr).toBe(0);
    expect((await cli(['keys', 'destroy', oldKid, ...target.args, ...k])).code).toBe(0);

    // Sessions still open under the new key, and the old key is gone for good.
    const newKid = encryptKid(await cli(['keys', 'list', ...k, '--json']), 'primary');
    const noFlag = await cli(['inspect', ids[0]!, ...target.args, ...k]);
    expect(noFlag.code).toBe(2);
    expect(noFlag.stderr).toMatch(/--i-understand-this-prints-session-data/);
    const inspect = await cli(['inspect', ids[0]!, '--i-understand-this-prints-session-data', ...target.args, ...k, '--json']);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(json(inspect)).toMatchObject({ kid: newKid, status: 'active', state: { n: 0, note: 'hello' } });
    expect(json(inspect).ownerHash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const text = await cli(['inspect', ids[0]!, '--i-understand-this-prints-session-data', ...target.args, ...k]);
    expect(text.stdout).toMatch(/owner hash:/);
    expect(text.stdout).toMatch(/expires \(idle\):/);
    const missing = await cli(['inspect', 'no-such-session-id-here', '--i-understand-this-prints-session-data', ...target.args, ...k]);
    expect(missing.code).toBe(1);

    const token = await issueToken(target, keyset, ids[1]!);
    const valid = await cli(['verify-token', token, '--subject', owner.subject, '--client-id', owner.clientId, ...k]);
    expect(valid.code, valid.stderr).toBe(0);
    expect(valid.stdout).toMatch(/^valid: session /);
    const live = await cli(['verify-token', token, '--subject', owner.subject, '--client-id', owner.clientId, '--check-session', ...target.args, ...k]);
    expect(live.code, live.stderr).toBe(0);
    expect(live.stdout).toMatch(/the session is live/);
    const wrongOwner = await cli(['verify-token', token, '--subject', stranger.subject, ...k, '--json']);
    expect(wrongOwner.code).toBe(1);
    expect(json(wrongOwner)).toMatchObject({ valid: false, code: 'owner_mismatch' });
    const forged = await cli(['verify-token', `${token.slice(0, -2)}AA`, '--subject', owner.subject, '--client-id', owner.clientId, ...k]);
    expect(forged.code).toBe(1);
    expect(forged.stdout).toMatch(/^invalid: invalid_token/);
    expect((await cli(['verify-token', token, ...k])).code).toBe(2); // --subject is required
  } finally {
    await remove();
  }
}

async function interruptedRekey(target: Target): Promise<void> {
  const { dir, remove } = await tempDir();
  try {
    const keyset = join(dir, 'keyset.json');
    const k = ['--keyset', keyset, '--insecure-cleartext'];
    expect((await cli(['keys', 'generate', ...k])).code).toBe(0);
    const count = 240;
    await populate(target, keyset, count);
    const oldKid = encryptKid(await cli(['keys', 'list', ...k, '--json']), 'primary');
    expect((await cli(['keys', 'rotate', 'encrypt', ...k])).code).toBe(0);

    // 10 per page, one at a time, at most 60 per second: about 4 s, plenty of time to interrupt.
    const slow = ['--batch-size', '10', '--concurrency', '1', '--max-rate', '60', '--progress-interval', '1', '--state-dir', join(dir, 'state')];
    const first = spawnCli(['rekey', ...target.args, ...k, ...slow]);
    await waitFor(() => /rekey: \d+\/240/.test(first.stderr()), 30_000, 'the first progress line of the re-key');
    first.child.kill('SIGINT');
    const stopped = await first.done;
    expect(stopped.code, stopped.stderr).toBe(1);
    expect(stopped.stdout).toMatch(/rekey interrupted/);
    const cursor = /--cursor (\S+)$/m.exec(stopped.stdout)?.[1];
    expect(cursor, stopped.stdout).toMatch(/^[A-Za-z0-9_-]{8}$/); // a short handle; the walk is in the state file

    const midway = json(await cli(['usage', ...target.args, ...k, '--json'])).usage as Record<string, number>;
    expect(midway[oldKid]).toBeGreaterThan(0);
    expect(midway[oldKid]).toBeLessThan(count);

    const resumed = spawnCli(['rekey', ...target.args, ...k, '--cursor', cursor!, '--state-dir', join(dir, 'state'), '--json']);
    const finished = await resumed.done;
    expect(finished.code, finished.stderr).toBe(0);
    const summary = json(finished);
    expect(summary).toMatchObject({ ok: true, done: true, failed: 0 });
    // Counts carry over from the interrupted run: the resumed run reaches the total it shows.
    expect(summary.resealed).toBe(count);
    expect(summary.total).toBe(count);
    expect(summary.scanned).toBeGreaterThanOrEqual(count);

    const end = json(await cli(['usage', ...target.args, ...k, '--json'])).usage as Record<string, number>;
    expect(end[oldKid] ?? 0).toBe(0);
    expect(Object.values(end).reduce((a, b) => a + b, 0)).toBe(count);
  } finally {
    await remove();
  }
}

// ------------------------------------------------------------------------------------ Redis

describe('against Redis', async () => {
  const skip = await serviceSkipReason('redis');
  const prefixes: string[] = [];
  const target = (): Target => {
    const prefix = `ssstest:cli:${uniqueSuffix()}:`;
    prefixes.push(prefix);
    return {
      name: 'redis',
      args: ['--redis', REDIS_URL, '--prefix', prefix, '--namespace', 'cli-tests'],
      config: { adapter: 'redis', url: REDIS_URL, prefix, namespace: 'cli-tests' },
      cleanup: async () => {},
    };
  };
  afterAll(async () => {
    if (skip !== undefined) return;
    const client = new Redis(REDIS_URL);
    try {
      for (const p of prefixes) await deletePrefix(client, p);
    } finally {
      client.disconnect();
    }
  });

  it.skipIf(skip !== undefined)('usage, retire refused then allowed, rekey, destroy, inspect, verify-token', async () => {
    await lifecycle(target(), 30);
  }, 120_000);

  it.skipIf(skip !== undefined)('an interrupted re-key (SIGINT) resumes from its printed cursor and ends with no session on the old key', async () => {
    await interruptedRekey(target());
  }, 120_000);

  it.skipIf(skip !== undefined)('rekey --from-plaintext seals a store that held plaintext sessions; without it they fail (exit 1)', async () => {
    const { dir, remove } = await tempDir();
    const t = target();
    const prefix = t.config.adapter === 'redis' ? t.config.prefix! : '';
    const client = new Redis(REDIS_URL);
    client.on('error', () => {});
    try {
      const k = ['--keyset', join(dir, 'k.json'), '--insecure-cleartext'];
      expect((await cli(['keys', 'generate', ...k])).code).toBe(0);
      // Yesterday's deployment: a plain RedisStore, no encryption.
      const plain = new RedisStore({ client, prefix });
      for (let i = 0; i < 5; i++) await plain.save(`legacy-${i}`, { user: `user-${i}` }, { ttlMs: 3_600_000 });
      await plain.close();
      expect(json(await cli(['usage', ...t.args, ...k, '--json'])).usage).toEqual({ plaintext: 5 });

      const strict = await cli(['rekey', ...t.args, ...k, '--json']);
      expect(strict.code).toBe(1);
      expect(json(strict)).toMatchObject({ failed: 5, resealed: 0 });

      const migrate = await cli(['rekey', '--from-plaintext', ...t.args, ...k, '--json']);
      expect(migrate.code, migrate.stderr).toBe(0);
      expect(json(migrate)).toMatchObject({ resealed: 5, failed: 0 });
      const usage = json(await cli(['usage', ...t.args, ...k, '--json'])).usage as Record<string, number>;
      expect(usage.plaintext).toBeUndefined();
      expect(Object.values(usage)).toEqual([5]);
    } finally {
      client.disconnect();
      await remove();
    }
  });

  it.skipIf(skip !== undefined)('a server that does not answer, and a URL that is not Redis, fail clearly', async () => {
    const { dir, remove } = await tempDir();
    try {
      const k = ['--keyset', join(dir, 'k.json'), '--insecure-cleartext'];
      expect((await cli(['keys', 'generate', ...k])).code).toBe(0);
      const started = Date.now();
      const down = await cli(['usage', '--redis', 'redis://127.0.0.1:1', '--connect-timeout', '1000', ...k]);
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
      expect(Date.now() - started).toBeLessThan(10_000);
      const wrong = await cli(['usage', '--redis', 'http://127.0.0.1:6379', ...k, '--json']);
      expect(wrong.code).toBe(2);
      expect(json(wrong)).toMatchObject({ ok: false, error: { code: 'invalid_input', field: 'url' } });
      const garbage = await cli(['usage', '--redis', 'not a url', ...k]);
      expect(garbage.code).toBe(2);
    } finally {
      await remove();
    }
  });
});

// ------------------------------------------------------------------------------------ PostgreSQL

describe('against PostgreSQL', async () => {
  const skip = await serviceSkipReason('postgres');
  const schema = `sss_cli_${uniqueSuffix()}`;
  let pool: pg.Pool | undefined;
  let n = 0;
  const target = async (): Promise<Target> => {
    pool ??= new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
    await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    const table = `${schema}.t${++n}`;
    // The application migrates (createSessionStore with migrate: true); the CLI never does.
    return {
      name: 'postgres',
      args: ['--postgres', DATABASE_URL, '--table', table, '--namespace', 'cli-tests'],
      config: { adapter: 'postgres', url: DATABASE_URL, table, namespace: 'cli-tests', migrate: true },
      cleanup: async () => {},
    };
  };
  afterAll(async () => {
    if (pool === undefined) return;
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  it.skipIf(skip !== undefined)('usage, retire refused then allowed, rekey, destroy, inspect, verify-token', async () => {
    await lifecycle(await target(), 25);
  }, 120_000);

  it.skipIf(skip !== undefined)('an interrupted re-key (SIGINT) resumes from its printed cursor and ends with no session on the old key', async () => {
    await interruptedRekey(await target());
  }, 120_000);

  it.skipIf(skip !== undefined)('an unreachable server fails fast with the URL redacted; a missing table is explained', async () => {
    const { dir, remove } = await tempDir();
    try {
      const k = ['--keyset', join(dir, 'k.json'), '--insecure-cleartext'];
      expect((await cli(['keys', 'generate', ...k])).code).toBe(0);
      const down = await cli(['usage', '--postgres', 'postgres://user:hunter22@127.0.0.1:1/db', '--connect-timeout', '1000', ...k]);
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/cannot reach PostgreSQL at postgres:\/\/user:\*\*\*@127\.0\.0\.1:1\/db/);
      expect(down.stderr).not.toContain('hunter22');
      const noTable = await cli(['usage', '--postgres', DATABASE_URL, '--table', `${schema}.never_created`, ...k]);
      expect(noTable.code).toBe(1);
      expect(noTable.stderr).toMatch(/does not exist/);
    } finally {
      await remove();
    }
  });
});

// ------------------------------------------------------------------------------------ PGlite

describe('against PGlite', () => {
  it('usage, rekey and retire on a data directory the application wrote', async () => {
    const { dir, remove } = await tempDir();
    try {
      const dataDir = join(dir, 'db');
      const keyset = join(dir, 'keyset.json');
      const k = ['--keyset', keyset, '--insecure-cleartext'];
      const args = ['--pglite', dataDir, '--namespace', 'cli-tests'];
      expect((await cli(['keys', 'generate', ...k])).code).toBe(0);
      const target: Target = { name: 'pglite', args, config: { adapter: 'pglite', dataDir, namespace: 'cli-tests' }, cleanup: async () => {} };
      await populate(target, keyset, 12);
      const oldKid = encryptKid(await cli(['keys', 'list', ...k, '--json']), 'primary');
      expect((await cli(['keys', 'rotate', 'encrypt', ...k])).code).toBe(0);
      const rekey = await cli(['rekey', ...args, ...k, '--json']);
      expect(rekey.code, rekey.stderr).toBe(0);
      expect(json(rekey)).toMatchObject({ done: true, resealed: 12, failed: 0 });
      expect(json(rekey).usage[oldKid]).toBeUndefined();
      const retire = await cli(['keys', 'retire', oldKid, ...args, ...k]);
      expect(retire.code, retire.stderr).toBe(0);
    } finally {
      await remove();
    }
  }, 120_000);
});

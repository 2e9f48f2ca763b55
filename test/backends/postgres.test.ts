/**
 * PostgresStore against a real PostgreSQL (DATABASE_URL): what the shared compliance suite cannot
 * see — the SQL's edges, retries of writes whose answer was lost, server-killed connections,
 * timeouts, batch cleanup, paging over 100k rows and updates racing from 4 processes.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { BackendUnavailableError, ConflictError, InvalidInputError, isSessionStoreError } from 'sealed-session-store';
import { type PgPool, PostgresStore, postgresSchema } from 'sealed-session-store/postgres';
import { parseTableName } from '../../src/backends/sql.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresFixture as fx } from '../support/fixtures/postgres.js';
import { DATABASE_URL } from '../support/services.js';

const skip = await fx.skipReason();
const T0 = 1_700_000_000_000;

/** A clock the test moves by hand. */
function clock(start = T0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

/**
 * A pool that lets the test see (and tamper with) each statement: `hook(text, run)` decides what
 * the caller gets. Clients are patched once each (a dedicated pool per test).
 */
function interceptPool(real: pg.Pool, hook: (text: string, run: () => Promise<unknown>) => Promise<unknown>): PgPool {
  const patched = new WeakSet<object>();
  return {
    connect: (async () => {
      const client = await real.connect();
      if (!patched.has(client)) {
        patched.add(client);
        const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
        (client as unknown as { query: unknown }).query = (cfg: unknown, ...rest: unknown[]) =>
          hook(typeof cfg === 'string' ? cfg : (cfg as { text: string }).text, () => query(cfg, ...rest));
      }
      return client;
    }) as unknown as PgPool['connect'],
    on: real.on.bind(real) as PgPool['on'],
    off: real.off.bind(real) as PgPool['off'],
  };
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(skip !== undefined)('PostgresStore (real PostgreSQL)', () => {
  const pools: pg.Pool[] = [];
  const newPool = (config: pg.PoolConfig = {}) => {
    const p = new pg.Pool({ connectionString: DATABASE_URL, ...config });
    pools.push(p);
    return p;
  };

  beforeAll(async () => {
    await fx.freshTable(); // creates the run's schema
  });

  afterAll(async () => {
    for (const p of pools) await p.end().catch(() => {});
    await fx.cleanup();
  });

  describe('table names and schema', () => {
    it('accepts plain and schema-qualified lowercase identifiers and quotes them', () => {
      expect(parseTableName('sealed_sessions').quoted).toBe('"sealed_sessions"');
      expect(parseTableName('app.sessions').quoted).toBe('"app"."sessions"');
      expect(postgresSchema('app.sessions').join('\n')).toContain('CREATE INDEX IF NOT EXISTS "sessions_expires_at_idx" ON "app"."sessions" (expires_at)');
    });

    it.each(['', 'Sessions', 'a.b.c', 'x; DROP TABLE users', '"x"', 'x"', '1abc', 'sch.', '.t', 'a-b', 'é', 'a'.repeat(48), `${'s'.repeat(64)}.t`])(
      'refuses %j (SQL injection through the table name)',
      (name) => {
        expect(() => parseTableName(name)).toThrow(InvalidInputError);
        expect(() => new PostgresStore({ pool: fx.pool(), table: name })).toThrow(InvalidInputError);
      },
    );

    it('migrate() is idempotent and safe to run concurrently', async () => {
      const table = await fx.freshTable();
      const stores = [1, 2, 3, 4].map(() => new PostgresStore({ pool: fx.pool(), table }));
      await Promise.all(stores.map((s) => s.migrate()));
      await stores[0]!.migrate();
      const { rows } = await fx.pool().query(
        `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname`,
        [parseTableName(table).schema, parseTableName(table).name],
      );
      const name = parseTableName(table).name;
      expect(rows.map((r: { indexname: string }) => r.indexname)).toEqual([`${name}_expires_at_idx`, `${name}_index_key_idx`, `${name}_pkey`]);
      for (const s of stores) await s.close();
    });

    it('without migrate(), operations fail typed and say what to do', async () => {
      const store = new PostgresStore({ pool: fx.pool(), table: `${fx.schema}.never_migrated` });
      const err = await store.load('x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect((err as Error).message).toMatch(/migrate/);
      await store.close();
    });

    it('the CHECK keeps exactly one of value_json / value_bytes', async () => {
      const store = await fx.create(clock());
      const t = parseTableName((store as PostgresStore).table).quoted;
      await expect(fx.pool().query(`INSERT INTO ${t} (id, version, expires_at) VALUES ('x', 'v', 1)`)).rejects.toThrow(/one_value/);
      await expect(
        fx.pool().query(`INSERT INTO ${t} (id, value_json, value_bytes, version, expires_at) VALUES ('x', '{}', '\\x00', 'v', 1)`),
      ).rejects.toThrow(/one_value/);
      await store.close();
    });
  });

  describe('values', () => {
    it('round-trips JSON states exactly, __proto__ keys as plain data', async () => {
      const c = clock();
      const store = await fx.create(c);
      const state = JSON.parse(
        '{"__proto__":{"polluted":true},"constructor":{"prototype":1},"s":"héllo \\ud83d\\ude00 \\"q\\" \\\\","n":[0,-1,1.5,1e21,5e-324,1.7976931348623157e308],"b":[true,false,null],"o":{"z":1,"a":{"deep":["x"]}},"":"empty key"}',
      ) as Record<string, never>;
      await store.save('json', state);
      const back = await store.load('json');
      expect(back).toEqual(state);
      expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
      expect(Object.keys(back)).toContain('__proto__');
      expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
      await store.close();
    });

    it('round-trips bytes exactly (every byte value, empty, 1 MiB)', async () => {
      const c = clock();
      const store = await fx.create(c);
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      const big = new Uint8Array(1024 * 1024).map((_, i) => (i * 7919) & 0xff);
      for (const [id, bytes] of [['all', all], ['empty', new Uint8Array(0)], ['big', big]] as const) {
        const version = await store.saveRecord(id, bytes, { expiresAt: c.now() + 1000 });
        const rec = await store.loadRecord(id);
        expect(rec?.version).toBe(version);
        expect(rec?.value).toBeInstanceOf(Uint8Array);
        expect(Buffer.from(rec!.value as Uint8Array).equals(Buffer.from(bytes))).toBe(true);
      }
      // a subarray view is stored as its own bytes, not its whole buffer
      await store.saveRecord('view', all.subarray(10, 20), { expiresAt: c.now() + 1000 });
      expect([...((await store.loadRecord('view'))!.value as Uint8Array)]).toEqual([...all.subarray(10, 20)]);
      // sealed bytes are not a state
      await expect(store.load('all')).rejects.toBeInstanceOf(InvalidInputError);
      await store.close();
    });

    it('refuses what jsonb cannot hold with invalid_input, writing nothing', async () => {
      const store = await fx.create(clock());
      await expect(store.save('nul', { s: 'a\u0000b' })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(store.save('sur', { s: '\ud800' })).rejects.toBeInstanceOf(InvalidInputError);
      expect(await store.loadRecord('nul')).toBeUndefined();
      await store.close();
    });

    it('enforces maxRecordBytes before any round trip', async () => {
      const store = await fx.createWith(clock(), { maxRecordBytes: 1000 });
      await expect(store.saveRecord('b', new Uint8Array(1001), { expiresAt: T0 + 1 })).rejects.toMatchObject({ code: 'payload_too_large' });
      await expect(store.save('j', { s: 'x'.repeat(1000) })).rejects.toMatchObject({ code: 'payload_too_large' });
      await store.close();
    });

    it('expiry follows the injected clock, not the server clock', async () => {
      const c = clock(1000); // 1970: the server's now() would call everything expired
      const store = await fx.create(c);
      await store.save('e', { a: 1 }, { ttlMs: 100 });
      expect(await store.load('e')).toEqual({ a: 1 });
      expect((await store.listActive()).ids).toEqual(['e']);
      c.advance(100);
      await expect(store.load('e')).rejects.toMatchObject({ code: 'expired' });
      expect((await store.listActive()).ids).toEqual([]);
      expect(await store.cleanupExpired()).toBe(1);
      await expect(store.load('e')).rejects.toMatchObject({ code: 'not_found' });
      await store.close();
    });
  });

  describe('compare-and-swap', () => {
    it('ifAbsent, ifVersion and conditional delete conflict as they should; no resurrection; no ABA', async () => {
      const c = clock();
      const store = await fx.create(c);
      const exp = { expiresAt: c.now() + 10_000 };
      const v1 = await store.saveRecord('k', { n: 1 }, { ...exp, ifAbsent: true });
      await expect(store.saveRecord('k', { n: 9 }, { ...exp, ifAbsent: true })).rejects.toBeInstanceOf(ConflictError);
      const v2 = await store.saveRecord('k', { n: 2 }, { ...exp, ifVersion: v1 });
      expect(v2).not.toBe(v1);
      await expect(store.saveRecord('k', { n: 9 }, { ...exp, ifVersion: v1 })).rejects.toBeInstanceOf(ConflictError);
      await expect(store.deleteRecord('k', { ifVersion: v1 })).rejects.toBeInstanceOf(ConflictError);
      expect((await store.loadRecord('k'))?.value).toEqual({ n: 2 });
      // delete + re-create: the old version never matches again (ABA)
      expect(await store.deleteRecord('k', { ifVersion: v2 })).toBe(true);
      expect(await store.deleteRecord('k', { ifVersion: v2 })).toBe(false);
      await expect(store.saveRecord('k', { n: 9 }, { ...exp, ifVersion: v2 })).rejects.toBeInstanceOf(ConflictError);
      expect(await store.loadRecord('k')).toBeUndefined(); // never resurrected
      const v3 = await store.saveRecord('k', { n: 3 }, { ...exp, ifAbsent: true });
      await expect(store.saveRecord('k', { n: 9 }, { ...exp, ifVersion: v2 })).rejects.toBeInstanceOf(ConflictError);
      expect(await store.loadRecord('k')).toEqual({ value: { n: 3 }, version: v3, expiresAt: exp.expiresAt });
      // an expired record still counts as present for ifAbsent
      c.advance(20_000);
      await expect(store.saveRecord('k', { n: 9 }, { ...exp, ifAbsent: true })).rejects.toBeInstanceOf(ConflictError);
      await store.close();
    });

    it('a retry whose first attempt landed (answer lost) counts as success, for every kind of write', async () => {
      const real = newPool({ max: 1 });
      let lose = false;
      const pool = interceptPool(real, async (text, run) => {
        const result = await run();
        if (lose && /^(INSERT|UPDATE)/.test(text)) {
          lose = false;
          throw new Error('Connection terminated unexpectedly'); // the write committed, the answer is "lost"
        }
        return result;
      });
      const store = await fx.createWith(clock(), { pool, retryBackoffMs: 1 });
      const exp = { expiresAt: T0 + 10_000 };
      lose = true;
      const v1 = await store.saveRecord('r', { n: 1 }, { ...exp, ifAbsent: true });
      expect(lose).toBe(false);
      expect((await store.loadRecord('r'))?.version).toBe(v1);
      lose = true;
      const v2 = await store.saveRecord('r', { n: 2 }, { ...exp, ifVersion: v1 });
      expect(await store.loadRecord('r')).toMatchObject({ version: v2, value: { n: 2 } });
      lose = true;
      const v3 = await store.saveRecord('r', { n: 3 }, exp);
      expect(await store.loadRecord('r')).toMatchObject({ version: v3, value: { n: 3 } });
      lose = true;
      await store.update('r', { m: 1 });
      expect(await store.load('r')).toEqual({ n: 3, m: 1 });
      await store.close();
    });

    it('with retries exhausted, a write whose answer was lost is reported `unknown` with its version', async () => {
      const real = newPool({ max: 1 });
      const pool = interceptPool(real, async (text, run) => {
        const result = await run();
        if (/^UPDATE/.test(text)) throw new Error('Connection terminated unexpectedly');
        return result;
      });
      const store = await fx.createWith(clock(), { pool, retries: 0 });
      const v1 = await store.saveRecord('u', { n: 1 }, { expiresAt: T0 + 10_000 });
      const err = (await store.saveRecord('u', { n: 2 }, { expiresAt: T0 + 10_000, ifVersion: v1 }).catch((e: unknown) => e)) as BackendUnavailableError;
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect(err.outcome).toBe('unknown');
      expect((await store.loadRecord('u'))?.version).toBe(err.version); // it had landed: the version says so
      await store.close();
    });
  });

  describe('cleanup and listing at scale', () => {
    it('cleanupExpired deletes in batches and returns the true count', async () => {
      const c = clock();
      const texts: string[] = [];
      const pool = interceptPool(newPool({ max: 2 }), (text, run) => {
        texts.push(text);
        return run();
      });
      const store = await fx.createWith(c, { pool, cleanupBatchSize: 1000 });
      const t = parseTableName(store.table).quoted;
      await fx.pool().query(
        `INSERT INTO ${t} (id, value_json, version, expires_at)
         SELECT 'x' || g, '{}'::jsonb, md5(g::text), CASE WHEN g <= 2500 THEN $1::bigint - g ELSE $1::bigint + 1 END
         FROM generate_series(1, 2600) g`,
        [c.now()],
      );
      texts.length = 0;
      expect(await store.cleanupExpired()).toBe(2500);
      const batches = () => texts.filter((x) => x.includes('FOR UPDATE SKIP LOCKED')).length;
      expect(batches()).toBe(3); // 1000 + 1000 + 500
      expect(await store.cleanupExpired()).toBe(0);
      c.advance(1);
      expect(await store.cleanupExpired()).toBe(100); // expires_at <= now: expired at its deadline
      // Each batch starts at the previous one's last expiry: ties across a batch boundary are all found.
      await fx.pool().query(
        `INSERT INTO ${t} (id, value_json, version, expires_at)
         SELECT 'tie' || g, '{}'::jsonb, md5(g::text), CASE WHEN g <= 1500 THEN $1::bigint - 5 ELSE $1::bigint - 5 + g % 3 END
         FROM generate_series(1, 2200) g`,
        [c.now()],
      );
      texts.length = 0;
      expect(await store.cleanupExpired()).toBe(2200);
      expect(batches()).toBe(3);
      expect((await fx.pool().query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n).toBe(0);
      await store.close();
    });

    it('listActive pages 100k sessions by id: every live id once, in order, no expired ones', async () => {
      const c = clock();
      const store = await fx.create(c);
      const t = parseTableName((store as PostgresStore).table).quoted;
      await fx.pool().query(
        `INSERT INTO ${t} (id, value_json, version, expires_at)
         SELECT 'a' || lpad(g::text, 6, '0'), jsonb_build_object('n', g), md5(g::text), $1::bigint + 60000
         FROM generate_series(1, 100000) g`,
        [c.now()],
      );
      // expired ids sorted between live ones
      await fx.pool().query(
        `INSERT INTO ${t} (id, value_bytes, version, expires_at)
         SELECT 'a' || lpad((g * 100)::text, 6, '0') || 'x', '\\x00'::bytea, md5(g::text), $1::bigint
         FROM generate_series(1, 1000) g`,
        [c.now()],
      );
      const started = Date.now();
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.listActive({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
        seen.push(...page.ids);
        cursor = page.cursor;
        pages++;
        expect(pages).toBeLessThanOrEqual(101);
      } while (cursor !== undefined);
      const elapsed = Date.now() - started;
      expect(seen.length).toBe(100_000);
      expect(new Set(seen).size).toBe(100_000);
      expect(seen.every((id, i) => i === 0 || seen[i - 1]! < id)).toBe(true);
      expect(seen.some((id) => id.endsWith('x'))).toBe(false);
      expect(pages).toBe(100); // the last full page carries no cursor
      console.info(`[postgres] listActive: 100k ids in ${pages} pages, ${elapsed} ms`);
      await expect(store.listActive({ cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidInputError);
      await store.close();
    });
  });

  describe('faults', () => {
    it('a pooled connection killed by pg_terminate_backend does not crash the process; the next operation works or fails typed', async () => {
      const p = newPool({ max: 1 });
      const reported: Error[] = [];
      const store = await fx.createWith(clock(), { pool: p, onError: (e) => reported.push(e) });
      await store.save('a', { x: 1 });
      const pid = (await p.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await fx.pool().query('SELECT pg_terminate_backend($1)', [pid]);
      const first = await store.load('a').then(
        (v) => ({ ok: v }),
        (e: unknown) => ({ err: e }),
      );
      if ('err' in first) expect(isSessionStoreError(first.err, 'backend_unavailable')).toBe(true);
      else expect(first.ok).toEqual({ x: 1 });
      expect(await store.load('a')).toEqual({ x: 1 });
      await store.update('a', { y: 2 });
      expect(await store.load('a')).toEqual({ x: 1, y: 2 });
      await store.close();
    });

    it('a backend killed mid-statement gives backend_unavailable, outcome unknown, with the version; nothing torn', async () => {
      const p = newPool({ max: 1 });
      const c = clock();
      const store = await fx.createWith(c, { pool: p, retries: 0 });
      const t = parseTableName(store.table).quoted;
      const v1 = await store.saveRecord('b', { n: 1 }, { expiresAt: c.now() + 10_000 });
      const pid = (await p.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const locker = await fx.pool().connect();
      try {
        await locker.query('BEGIN');
        await locker.query(`SELECT 1 FROM ${t} WHERE id = 'b' FOR UPDATE`);
        const pending = store.saveRecord('b', { n: 2 }, { expiresAt: c.now() + 10_000, ifVersion: v1 }).catch((e: unknown) => e);
        await waitFor(
          async () => (await fx.pool().query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'`, [pid])).rowCount === 1,
          'the write to wait on the row lock',
        );
        await fx.pool().query('SELECT pg_terminate_backend($1)', [pid]);
        const err = (await pending) as BackendUnavailableError;
        expect(err).toBeInstanceOf(BackendUnavailableError);
        expect(err.outcome).toBe('unknown');
        expect(typeof err.version).toBe('string');
        await locker.query('ROLLBACK');
        // It did not land here (the backend died before committing); the record is whole.
        expect(await store.loadRecord('b')).toEqual({ value: { n: 1 }, version: v1, expiresAt: c.now() + 10_000 });
      } finally {
        locker.release();
      }
      await store.close();
    });

    it('a statement past timeoutMs settles in time as `unknown`, and may land later (which its version tells)', async () => {
      const p = newPool({ max: 1 });
      const c = clock();
      const store = await fx.createWith(c, { pool: p, timeoutMs: 300 });
      const t = parseTableName(store.table).quoted;
      const v1 = await store.saveRecord('t', { n: 1 }, { expiresAt: c.now() + 10_000 });
      const locker = await fx.pool().connect();
      let err: BackendUnavailableError;
      try {
        await locker.query('BEGIN');
        await locker.query(`SELECT 1 FROM ${t} WHERE id = 't' FOR UPDATE`);
        const started = Date.now();
        err = (await store.saveRecord('t', { n: 2 }, { expiresAt: c.now() + 10_000, ifVersion: v1 }).catch((e: unknown) => e)) as BackendUnavailableError;
        const took = Date.now() - started;
        expect(err).toBeInstanceOf(BackendUnavailableError);
        expect(err.outcome).toBe('unknown');
        expect(took).toBeGreaterThanOrEqual(250);
        expect(took).toBeLessThan(2000);
        await locker.query('COMMIT');
      } finally {
        locker.release();
      }
      // The abandoned statement was still queued on the server; once the lock goes it commits.
      await waitFor(async () => (await store.loadRecord('t'))?.version === err.version, 'the abandoned write to land');
      expect((await store.loadRecord('t'))?.value).toEqual({ n: 2 });
      await store.close();
    });

    it('a statement canceled by the server (statement_timeout) is `failed`: rolled back, not retried', async () => {
      const p = newPool({ max: 1, statement_timeout: 200 });
      const c = clock();
      const texts: string[] = [];
      const pool = interceptPool(p, (text, run) => {
        texts.push(text);
        return run();
      });
      const store = await fx.createWith(c, { pool });
      const t = parseTableName(store.table).quoted;
      const v1 = await store.saveRecord('s', { n: 1 }, { expiresAt: c.now() + 10_000 });
      const locker = await fx.pool().connect();
      try {
        await locker.query('BEGIN');
        await locker.query(`SELECT 1 FROM ${t} WHERE id = 's' FOR UPDATE`);
        texts.length = 0;
        const err = (await store.saveRecord('s', { n: 2 }, { expiresAt: c.now() + 10_000, ifVersion: v1 }).catch((e: unknown) => e)) as BackendUnavailableError;
        expect(err).toBeInstanceOf(BackendUnavailableError);
        expect(err.outcome).toBe('failed');
        expect(texts.length).toBe(1);
        await locker.query('COMMIT');
      } finally {
        locker.release();
      }
      expect((await store.loadRecord('s'))?.version).toBe(v1);
      await store.close();
    });

    it('a refused connection is `failed` (certainly not written), typed, with the version on writes', async () => {
      const p = newPool({ connectionString: 'postgres://postgres@127.0.0.1:1/test', max: 1 });
      const store = new PostgresStore({ pool: p, retryBackoffMs: 1 });
      const read = (await store.load('x').catch((e: unknown) => e)) as BackendUnavailableError;
      expect(read).toBeInstanceOf(BackendUnavailableError);
      expect(read.outcome).toBe('failed');
      const write = (await store.saveRecord('x', { a: 1 }, { expiresAt: T0 }).catch((e: unknown) => e)) as BackendUnavailableError;
      expect(write).toBeInstanceOf(BackendUnavailableError);
      expect(write.outcome).toBe('failed');
      expect(typeof write.version).toBe('string');
      await store.close();
    });

    it('close() keeps the injected pool open, detaches its listeners and refuses later calls', async () => {
      const p = newPool({ max: 1 });
      const before = p.listenerCount('error');
      const a = await fx.createWith(clock(), { pool: p });
      const b = new PostgresStore({ pool: p, table: a.table });
      expect(p.listenerCount('error')).toBe(before + 1); // one listener however many stores
      await a.close();
      await a.close(); // idempotent
      expect(p.listenerCount('error')).toBe(before + 1);
      await b.close();
      expect(p.listenerCount('error')).toBe(before);
      expect((await p.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
      await expect(a.load('x')).rejects.toMatchObject({ code: 'backend_unavailable' });
    });
  });

  it('4 processes x 50 updates of distinct fields on one session: none lost', { timeout: 90_000 }, async () => {
    const store = await fx.create(clock(Date.now()));
    const table = (store as PostgresStore).table;
    await store.save('shared', { base: true }, { ttlMs: 600_000 });
    const worker = fileURLToPath(new URL('./workers/pg-update-worker.ts', import.meta.url));
    const cwd = fileURLToPath(new URL('../..', import.meta.url));
    const procs = [0, 1, 2, 3].map((n) => {
      const child = spawn('npx', ['tsx', worker, table, 'shared', String(n), '50'], {
        cwd,
        env: { ...process.env, DATABASE_URL },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let errOut = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (errOut += d.toString()));
      const ready = new Promise<void>((resolve, reject) => {
        child.stdout.on('data', () => out.includes('ready') && resolve());
        child.once('exit', () => reject(new Error(`worker ${n} exited early: ${out} ${errOut}`)));
      });
      const exit = new Promise<{ code: number | null; out: string; errOut: string }>((resolve) =>
        child.once('exit', (code) => resolve({ code, out, errOut })),
      );
      return { child, ready, exit };
    });
    await Promise.all(procs.map((p) => p.ready));
    for (const p of procs) p.child.stdin.write('go\n');
    const results = await Promise.all(procs.map((p) => p.exit));
    for (const r of results) expect(r, r.out + r.errOut).toMatchObject({ code: 0 });
    console.info(`[postgres] 4 x 50 updates: ${results.map((r) => r.out.match(/conflicts=(\d+)/)?.[1]).join(", ")} conflicts per worker`);
    const state = await store.load('shared');
    const expected: Record<string, unknown> = { base: true };
    for (let w = 0; w < 4; w++) for (let i = 0; i < 50; i++) expected[`w${w}_${i}`] = i;
    expect(Object.keys(state).length).toBe(201);
    expect(state).toEqual(expected);
    await store.close();
  });
});

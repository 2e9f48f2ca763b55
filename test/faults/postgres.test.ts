/**
 * PostgreSQL under faults, on a private cluster of our own (never the shared one on 5432), run as
 * an unprivileged user when the tests run as root: a crash-restart during a mixed load,
 * `pg_terminate_backend` of the store's connections again and again, `statement_timeout` cancelling
 * statements stuck behind a lock, a client-side deadline shorter than the lock (writes time out in
 * flight and land later), and the pool's idle clients killed under it.
 *
 * In every case: each operation settles within its budget with success or a typed
 * `backend_unavailable`; nothing unhandled; no torn record; the store serves again soon after the
 * server is back (the figure is printed); every acknowledged update is there afterwards; a write
 * that timed out in flight says `unknown`, one the server rolled back says `failed`.
 */
import pg from 'pg';
import { BackendUnavailableError, Keyring, type SecureStore, secureStore } from 'sealed-session-store';
import { PostgresStore } from 'sealed-session-store/postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type PrivatePostgres, postgresBinDir, sleep, startPostgres, waitFor } from '../support/servers.js';
import { Ledger, OWNER, describeReport, startMixedLoad, watchProcess } from './harness.js';

/** The store's settings under test, and the budget they imply for one operation through the stack. */
const TIMEOUT_MS = 1_000;
/** An update is at most a revocation-mark read, a record read and a write (a conflict adds two): 4 statements, each within TIMEOUT_MS (retries included), plus room for a loaded machine. */
const OP_BUDGET_MS = 4 * TIMEOUT_MS + 1_000;
const RECOVERY_LIMIT_MS = 10_000;
const WORKERS = 8;
const SESSIONS = 160;
const APP = 'sss-fault-store';

const bin = postgresBinDir();
if (bin === undefined && process.env.REQUIRE_SERVICES === '1') throw new Error('REQUIRE_SERVICES=1 but no PostgreSQL server binaries are installed');
if (bin === undefined) console.warn('[skip] no PostgreSQL server binaries (pg_config --bindir, /usr/lib/postgresql/*/bin): PostgreSQL fault tests skipped');

describe.skipIf(bin === undefined)('PostgresStore under faults (private PostgreSQL)', () => {
  let server: PrivatePostgres;
  let admin: pg.Pool;
  let tables = 0;
  const watch = watchProcess();

  beforeAll(async () => {
    server = await startPostgres();
    admin = new pg.Pool({ connectionString: server.url, max: 2 });
    admin.on('error', () => {});
  }, 60_000);
  afterAll(async () => {
    await admin?.end().catch(() => {});
    await server?.stop();
    watch.dispose();
  });
  afterEach(() => {
    expect(watch.problems).toEqual([]);
  });

  interface Rig {
    pool: pg.Pool;
    store: PostgresStore;
    sec: SecureStore;
    sessions: string[];
    poolErrors: number;
    close(): Promise<void>;
  }

  async function rig(options: { timeoutMs?: number; statementTimeoutMs?: number; sessions?: number } = {}): Promise<Rig> {
    const pool = new pg.Pool({
      connectionString: server.url,
      max: 10,
      application_name: APP,
      ...(options.statementTimeoutMs === undefined ? {} : { statement_timeout: options.statementTimeoutMs }),
    });
    const r = { poolErrors: 0 };
    const now = Date.now(); // a fixed clock: nothing expires during the test, and no test sleeps for a TTL
    const store = new PostgresStore({ pool, table: `faults_${++tables}`, now: () => now, timeoutMs: options.timeoutMs ?? TIMEOUT_MS, onError: () => r.poolErrors++ });
    await store.migrate();
    const sec = secureStore(store, { keyring: Keyring.generate(), namespace: 'faults', now: () => now });
    const mine = sec.for(OWNER);
    const sessions: string[] = [];
    for (let i = 0; i < (options.sessions ?? SESSIONS); i++) sessions.push(await mine.create({ i }));
    return Object.assign(r, {
      pool,
      store,
      sec,
      sessions,
      async close() {
        await sec.close();
        await pool.end().catch(() => {});
      },
    });
  }

  function checkReport(name: string, ledger: Ledger, extra: Record<string, unknown> = {}) {
    const report = ledger.report(OP_BUDGET_MS);
    console.info(describeReport(name, report, extra));
    expect(report.other).toEqual({});
    expect(report.overBudget).toEqual([]);
    expect(report.ok).toBeGreaterThan(0);
    return report;
  }

  /** Terminates the store's connections; `idleOnly` spares the ones running a statement. */
  async function terminate(idleOnly: boolean): Promise<number> {
    const { rows } = await admin.query(
      `SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = $1 AND pid <> pg_backend_pid() ${idleOnly ? "AND state = 'idle'" : ''}) t`,
      [APP],
    );
    return (rows[0] as { n: number }).n;
  }

  it('a crash-restart (immediate shutdown, crash recovery) during a mixed load: nothing acknowledged lost', async () => {
    const r = await rig();
    try {
      const load = startMixedLoad(r.sec, r.sessions, WORKERS);
      await sleep(1_000);
      const down = Date.now();
      await admin.end(); // the admin pool would only reconnect-spam the restart
      await server.stopServer('immediate');
      await sleep(1_000);
      await server.start();
      const back = Date.now();
      admin = new pg.Pool({ connectionString: server.url, max: 2 });
      admin.on('error', () => {});
      await sleep(1_500);
      await load.stop();
      const rec = load.ledger.recoveryAfter(back);
      // 'down ms': kill to the server answering again (1 s down + start-up with crash recovery);
      // 'recovery ms': from then to the store's first success.
      const report = checkReport('postgres crash-restart', load.ledger, { 'down ms': back - down, 'recovery ms': rec, 'pool errors': r.poolErrors });
      expect(report.failed + report.unknown).toBeGreaterThan(0);
      expect(rec).toBeDefined();
      expect(rec!).toBeLessThan(RECOVERY_LIMIT_MS);
      const v = await load.ledger.verify(r.sec);
      expect(v.lost).toBe(0);
      console.info(`[fault] postgres crash-restart: ${v.checked} fields checked, 0 acknowledged updates lost`);
    } finally {
      await r.close();
    }
  });

  it('pg_terminate_backend of every store connection, again and again, during a mixed load', async () => {
    const r = await rig();
    try {
      const load = startMixedLoad(r.sec, r.sessions, WORKERS);
      let killed = 0;
      for (let i = 0; i < 8; i++) {
        await sleep(300);
        killed += await terminate(false);
      }
      const last = Date.now();
      await sleep(1_000);
      await load.stop();
      const rec = load.ledger.recoveryAfter(last);
      checkReport('postgres pg_terminate_backend x8', load.ledger, { 'backends killed': killed, 'recovery ms': rec, 'pool errors': r.poolErrors });
      expect(killed).toBeGreaterThan(0);
      expect(rec).toBeDefined();
      const v = await load.ledger.verify(r.sec);
      expect(v.lost).toBe(0);
    } finally {
      await r.close();
    }
  });

  /** Holds an ACCESS EXCLUSIVE lock on the store's table for `ms`: every statement on it waits. */
  async function lockTable(store: PostgresStore, ms: number): Promise<void> {
    const client = await admin.connect();
    try {
      await client.query('BEGIN');
      await client.query(`LOCK TABLE ${store.table} IN ACCESS EXCLUSIVE MODE`);
      await sleep(ms);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }

  it('statement_timeout cancels statements stuck behind a lock: `failed` (rolled back), in time, and none of them landed', async () => {
    const r = await rig({ statementTimeoutMs: 300 });
    try {
      const load = startMixedLoad(r.sec, r.sessions, WORKERS);
      await sleep(500);
      const locked = Date.now();
      await lockTable(r.store, 1_500);
      const released = Date.now();
      await sleep(1_000);
      await load.stop();
      const report = checkReport('postgres statement_timeout 300 ms behind a 1.5 s lock', load.ledger, { 'recovery ms': load.ledger.recoveryAfter(released) });
      // The server cancelled (and rolled back) what waited: `failed`, which the ledger checks never landed.
      const during = load.ledger.ops.filter((o) => o.startedAt >= locked && o.startedAt + o.ms <= released);
      expect(during.filter((o) => o.end === 'failed').length).toBeGreaterThan(0);
      expect(report.failed).toBeGreaterThan(0);
      const v = await load.ledger.verify(r.sec);
      expect(v.lost).toBe(0);
      expect(v.failedLanded).toBe(0);
    } finally {
      await r.close();
    }
  });

  it('a client deadline shorter than a lock: writes settle in time, typed `unknown` or `failed`, none lost, none that failed landed', async () => {
    const r = await rig({ timeoutMs: 400 });
    try {
      const load = startMixedLoad(r.sec, r.sessions, WORKERS);
      await sleep(500);
      const locked = Date.now();
      await lockTable(r.store, 1_500);
      const released = Date.now();
      await sleep(1_500);
      await load.stop();
      const report = checkReport('postgres timeoutMs 400 behind a 1.5 s lock', load.ledger, { 'recovery ms': load.ledger.recoveryAfter(released) });
      const writes = load.ledger.ops.filter((o) => o.startedAt >= locked && o.startedAt + o.ms <= released && (o.kind === 'update' || o.kind === 'create'));
      // The deadline counts from the call, queue time and the update's read included: a write whose
      // statement was sent and not answered in time is `unknown`; one whose read (or its place in
      // the per-id queue) used the whole bound never sent its write and is `failed`. Which of the two
      // a given write gets depends on where the lock caught it.
      expect(writes.filter((o) => o.end === 'unknown' || o.end === 'failed').length).toBeGreaterThan(0);
      expect(report.unknown + report.failed).toBeGreaterThan(0);
      const v = await load.ledger.verify(r.sec);
      expect(v.lost).toBe(0);
      expect(v.failedLanded).toBe(0);
    } finally {
      await r.close();
    }
  });

  it('a write that timed out in flight reports `unknown` with the version that tells whether it landed', async () => {
    const r = await rig({ timeoutMs: 300, sessions: 1 });
    try {
      const mine = r.sec.for(OWNER);
      const id = r.sessions[0]!;
      // A row lock: reads go through, the update's write waits behind it past the deadline.
      const client = await admin.connect();
      await client.query('BEGIN');
      await client.query(`SELECT 1 FROM ${r.store.table} WHERE id = $1 FOR UPDATE`, [id]);
      const started = Date.now();
      const err = await mine.update(id, { late: true }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(Date.now() - started).toBeLessThan(OP_BUDGET_MS);
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect((err as BackendUnavailableError).outcome).toBe('unknown');
      expect(typeof (err as BackendUnavailableError).version).toBe('string');
      await client.query('COMMIT');
      client.release();
      // The statement was still queued on the server: it lands once the lock is gone, and the
      // version in the error identifies it.
      await waitFor('the timed-out write to land', async () => (await r.store.loadRecord(id))?.version === (err as BackendUnavailableError).version, 5_000);
      await expect(mine.load(id)).resolves.toMatchObject({ late: true });
    } finally {
      await r.close();
    }
  });

  it("the pool's idle clients killed under it: the next operations succeed (retried), nothing crashes", async () => {
    const r = await rig({ sessions: 50 });
    try {
      const mine = r.sec.for(OWNER);
      // Fill the pool with connections, then let them go idle.
      await Promise.all(r.sessions.map((id) => mine.load(id)));
      await sleep(100);
      const killed = await terminate(true);
      expect(killed).toBeGreaterThan(0);
      const ledger = new Ledger();
      const started = Date.now();
      await Promise.all(
        r.sessions.map(async (id, i) => {
          const n = ledger.nextWrite(id, 'x');
          const { end } = await ledger.time('update', () => mine.update(id, { x: n, i }));
          ledger.settleWrite(id, 'x', n, end);
        }),
      );
      const report = checkReport('postgres idle pool clients killed', ledger, { 'idle backends killed': killed, 'pool errors': r.poolErrors, 'burst ms': Date.now() - started });
      expect(report.ok).toBe(r.sessions.length);
      const v = await ledger.verify(r.sec);
      expect(v.lost).toBe(0);
    } finally {
      await r.close();
    }
  });
});

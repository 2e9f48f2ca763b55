/**
 * Admin operations over many sessions, per backend. The N sessions are sealed through the full
 * stack (owner-scoped `create`) into a source MemoryStore and copied as they are (envelopes are
 * bound to id and namespace, not to a backend) into the backend under test: PostgreSQL by
 * multi-row INSERTs into the exported schema, Redis and a fresh MemoryStore through their own
 * `saveRecord`, 256 in flight.
 * Then, timed: walk `listActive` to the end (median of 3), move the injected clock past the absolute
 * deadline and `cleanupExpired`, which empties the store (median of 3 at 10k, each after a fresh
 * copy), then copy again, rotate the encryption key and `rekey` everything (once). Each operation runs
 * on a fresh copy, never on a table a full re-key has just rewritten (PostgreSQL would hold one dead
 * row version per session until autovacuum). Linear growth means the per-session cost stays flat
 * from 10k to 100k.
 */
import { Keyring, MemoryStore, type RecordStore, type RekeyOptions, secureStore } from '../src/index.js';
import { PostgresStore } from '../src/backends/postgres.js';
import { BACKENDS, makeBackend } from './backends.js';
import type { Ctx } from './context.js';
import { OWNER } from './layers.js';
import { type OneShot, oneShot, pool } from './measure.js';

/** The rekey settings every row uses (reported with the results). */
export const REKEY_OPTIONS: RekeyOptions = { batchSize: 1000, concurrency: 32 };

/** Copies every record of `from` into `to` (same ids, bytes, expiry). */
async function copyRecords(ctx: Ctx, from: MemoryStore, to: RecordStore): Promise<void> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await from.listActive(cursor === undefined ? { limit: 1000 } : { limit: 1000, cursor });
    ids.push(...page.ids);
    cursor = page.cursor;
  } while (cursor !== undefined);
  const pg = ctx.services.pg;
  if (to instanceof PostgresStore && pg !== undefined) {
    for (let i = 0; i < ids.length; i += 1000) {
      const recs = await Promise.all(ids.slice(i, i + 1000).map(async (id) => ({ id, rec: (await from.loadRecord(id))! })));
      await pg.query(
        `INSERT INTO ${to.table} (id, value_bytes, version, expires_at)
         SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[], $4::bigint[])`,
        [recs.map((r) => r.id), recs.map((r) => Buffer.from(r.rec.value as Uint8Array)), recs.map((r) => r.rec.version), recs.map((r) => r.rec.expiresAt)],
      );
    }
    return;
  }
  await pool(ids.length, 256, async (i) => {
    const rec = (await from.loadRecord(ids[i]!))!;
    await to.saveRecord(ids[i]!, rec.value, { expiresAt: rec.expiresAt });
  });
}

/** Runs `times` timed calls of one admin operation (each after its untimed `prepare`) and keeps the median by wall time. */
async function medianShot(
  times: number,
  spec: Parameters<typeof oneShot>[0],
  prepare: () => Promise<void>,
  fn: () => Promise<number>,
): Promise<OneShot> {
  const shots: OneShot[] = [];
  for (let i = 0; i < times; i++) {
    await prepare();
    shots.push(await oneShot(spec, fn));
  }
  shots.sort((a, b) => a.wallMs - b.wallMs);
  const mid = shots[Math.floor(shots.length / 2)]!;
  if (times > 1) mid.note = `${mid.note === undefined ? '' : `${mid.note}, `}median of ${times}`;
  return mid;
}

export async function runAdmin(ctx: Ctx): Promise<void> {
  const state = ctx.states.get('1KB') ?? ctx.states.values().next().value!;
  // A single timing of a millisecond-scale call on a shared 2-core machine is mostly noise: the
  // listing runs 3 times, and cleanup too at the smaller size (each after a fresh copy).
  const LIST_RUNS = 3;
  for (const n of ctx.adminCounts) {
    const cleanupRuns = n <= 10_000 && !ctx.options.smoke ? 3 : 1;
    let offset = 0;
    const now = () => Date.now() + offset;
    const keyring = Keyring.generate();
    const jwks = keyring.insecureExportCleartextJwks();
    // The source every backend (memory included) is filled from, by copying the sealed records.
    const source = new MemoryStore({ now, maxEntries: n + 1000, maxBytes: 2 ** 31 });
    const sourceStore = secureStore(source, { keyring, namespace: 'bench-admin', now });
    const shot = (name: string, op: string, note?: string) => ({
      id: `admin/${name}/${op}/${n}`,
      group: 'admin',
      label: op,
      backend: name,
      sessions: n,
      ...(note === undefined ? {} : { note }),
    });
    ctx.oneShots.push(
      await oneShot(shot('memory', 'create', 'full-stack create, 64 in flight'), async () => {
        const scoped = sourceStore.for(OWNER);
        await pool(n, 64, () => scoped.create(state));
        return n;
      }),
    );
    for (const name of BACKENDS) {
      offset = 0;
      const backend = await makeBackend(ctx, name, now);
      if (typeof backend === 'string') {
        ctx.notes.push(`${name} admin rows (${n}) skipped: ${backend}`);
        continue;
      }
      await backend.start?.();
      const copy = () => copyRecords(ctx, source, backend);
      const copyNote = backend instanceof PostgresStore ? 'copy sealed records: multi-row INSERT' : 'copy sealed records: saveRecord, 256 in flight';
      ctx.oneShots.push(
        await oneShot(shot(name, 'load', copyNote), async () => {
          await copy();
          return n;
        }),
      );
      // Its own copy of the keyring: each backend's rotation starts from the same keys.
      const admin = secureStore(backend, { keyring: Keyring.insecureFromCleartextJwks(jwks), namespace: 'bench-admin', now });
      ctx.oneShots.push(
        await medianShot(LIST_RUNS, shot(name, 'listActive', 'pages of 1000'), async () => {}, async () => {
          let count = 0;
          let cursor: string | undefined;
          do {
            const page = await admin.listActive(cursor === undefined ? { limit: 1000 } : { limit: 1000, cursor });
            count += page.ids.length;
            cursor = page.cursor;
          } while (cursor !== undefined);
          return count;
        }),
      );
      // Cleanup past the 12 h absolute deadline empties the store: each run after a fresh copy.
      let copied = true;
      ctx.oneShots.push(
        await medianShot(
          cleanupRuns,
          shot(name, 'cleanupExpired'),
          async () => {
            offset = 0;
            if (!copied) await copy();
            copied = false;
            offset = 13 * 60 * 60 * 1000;
          },
          () => admin.cleanupExpired(),
        ),
      );
      offset = 0;
      await copy();
      await admin.rotateKey('encrypt');
      // Quick runs stop a re-key after a few seconds (it is resumable) and report the rate of the
      // part done; full runs re-key everything, so growth from 10k to 100k can be compared.
      const capMs = ctx.options.quick ? 3000 : undefined;
      const rekeyShot = await oneShot(
        shot(name, 'rekey', `batchSize ${REKEY_OPTIONS.batchSize}, concurrency ${REKEY_OPTIONS.concurrency}${capMs === undefined ? '' : `, stopped after ${capMs / 1000} s`}`),
        async () => {
          const r = await admin.rekey(capMs === undefined ? REKEY_OPTIONS : { ...REKEY_OPTIONS, signal: AbortSignal.timeout(capMs) });
          return r.scanned;
        },
      );
      // The rate is over the sessions actually visited (all of them unless stopped).
      rekeyShot.perSec = rekeyShot.result / (rekeyShot.wallMs / 1000);
      ctx.oneShots.push(rekeyShot);
      offset = 13 * 60 * 60 * 1000;
      const left = await backend.cleanupExpired();
      if (left !== n) ctx.notes.push(`${name} ${n}: the final cleanupExpired removed ${left} of ${n}`);
      await backend.close();
      ctx.log(`  admin ${name} ${n} done`);
    }
    await sourceStore.close();
  }
}

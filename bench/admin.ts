/**
 * Admin operations over many sessions, per backend. The N sessions are sealed through the full
 * stack (owner-scoped `create`) into a scratch MemoryStore and copied as they are (envelopes are
 * bound to id and namespace, not to a backend) into the backend under test: PostgreSQL by
 * multi-row INSERTs into the exported schema, Redis through its own `saveRecord`, 256 in flight.
 * Then, each one timed call: walk `listActive` to the end, rotate the encryption key and `rekey`
 * everything, move the injected clock past the absolute deadline and `cleanupExpired` (which also
 * empties the store). Linear growth means the per-session cost stays flat from 10k to 100k.
 */
import { Keyring, MemoryStore, type RecordStore, type RekeyOptions, type SecureStore, secureStore } from '../src/index.js';
import { PostgresStore } from '../src/backends/postgres.js';
import { BACKENDS, makeBackend } from './backends.js';
import type { Ctx } from './context.js';
import { OWNER } from './layers.js';
import { oneShot, pool } from './measure.js';

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

export async function runAdmin(ctx: Ctx): Promise<void> {
  const state = ctx.states.get('1KB') ?? ctx.states.values().next().value!;
  for (const n of ctx.adminCounts) {
    let offset = 0;
    const now = () => Date.now() + offset;
    // The memory backend doubles as the source the other backends are filled from, so it runs last.
    const keyring = Keyring.generate();
    const jwks = keyring.insecureExportCleartextJwks();
    const memory = new MemoryStore({ now, maxEntries: n + 1000, maxBytes: 2 ** 31 });
    const memoryStore = secureStore(memory, { keyring, namespace: 'bench-admin', now });
    const shot = (name: string, op: string, note?: string) => ({
      id: `admin/${name}/${op}/${n}`,
      group: 'admin',
      label: op,
      backend: name,
      sessions: n,
      ...(note === undefined ? {} : { note }),
    });
    const created = await oneShot(shot('memory', 'create', 'full-stack create, 64 in flight'), async () => {
      const scoped = memoryStore.for(OWNER);
      await pool(n, 64, () => scoped.create(state));
      return n;
    });
    for (const name of [...BACKENDS.filter((b) => b !== 'memory'), 'memory' as const]) {
      offset = 0;
      let backend: RecordStore | string;
      let store: SecureStore;
      if (name === 'memory') {
        backend = memory;
        store = memoryStore;
        ctx.oneShots.push(created);
      } else {
        backend = await makeBackend(ctx, name, now);
        if (typeof backend === 'string') {
          ctx.notes.push(`${name} admin rows (${n}) skipped: ${backend}`);
          continue;
        }
        await backend.start?.();
        const target = backend;
        ctx.oneShots.push(
          await oneShot(shot(name, 'load', target instanceof PostgresStore ? 'copy sealed records: multi-row INSERT' : 'copy sealed records: saveRecord, 256 in flight'), async () => {
            await copyRecords(ctx, memory, target);
            return n;
          }),
        );
        // Its own copy of the keyring: each backend's rotation starts from the same keys.
        store = secureStore(backend, { keyring: Keyring.insecureFromCleartextJwks(jwks), namespace: 'bench-admin', now });
      }
      const admin = store;
      ctx.oneShots.push(
        await oneShot(shot(name, 'listActive', 'pages of 1000'), async () => {
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
      admin.rotateKey('encrypt');
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
      offset = 13 * 60 * 60 * 1000; // past the 12 h absolute deadline
      ctx.oneShots.push(await oneShot(shot(name, 'cleanupExpired'), () => admin.cleanupExpired()));
      const left = await backend.cleanupExpired();
      if (left !== 0) ctx.notes.push(`${name} ${n}: a second cleanupExpired still removed ${left}`);
      ctx.log(`  admin ${name} ${n} done`);
    }
  }
}

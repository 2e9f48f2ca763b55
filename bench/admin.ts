/**
 * Admin operations over many sessions, per backend: populate N sessions through the full stack
 * (owner-scoped `create`, 64 in flight), walk `listActive` to the end, rotate the encryption key and
 * `rekey` everything, then move the injected clock past the absolute deadline and `cleanupExpired`
 * (which also empties the store for the next N). Each is one timed call; linear growth means the
 * per-session cost stays flat from 10k to 100k.
 */
import { Keyring, type RekeyOptions, secureStore } from '../src/index.js';
import { BACKENDS, makeBackend } from './backends.js';
import type { Ctx } from './context.js';
import { OWNER } from './layers.js';
import { oneShot, pool } from './measure.js';

/** The rekey settings every row uses (reported with the results). */
export const REKEY_OPTIONS: RekeyOptions = { batchSize: 1000, concurrency: 16 };

export async function runAdmin(ctx: Ctx): Promise<void> {
  const state = ctx.states.get('1KB') ?? ctx.states.values().next().value!;
  for (const name of BACKENDS) {
    for (const n of ctx.adminCounts) {
      let offset = 0;
      const now = () => Date.now() + offset;
      const backend = await makeBackend(ctx, name, now);
      if (typeof backend === 'string') {
        ctx.notes.push(`${name} admin rows (${n}) skipped: ${backend}`);
        continue;
      }
      await backend.start?.();
      const store = secureStore(backend, { keyring: Keyring.generate(), namespace: 'bench-admin', now });
      const scoped = store.for(OWNER);
      const spec = (op: string, note?: string) => ({
        id: `admin/${name}/${op}/${n}`,
        group: 'admin',
        label: op,
        backend: name,
        sessions: n,
        ...(note === undefined ? {} : { note }),
      });
      ctx.oneShots.push(
        await oneShot(spec('populate', 'full-stack create, 64 in flight'), async () => {
          await pool(n, 64, () => scoped.create(state));
          return n;
        }),
      );
      ctx.oneShots.push(
        await oneShot(spec('listActive', 'pages of 1000'), async () => {
          let count = 0;
          let cursor: string | undefined;
          do {
            const page = await store.listActive(cursor === undefined ? { limit: 1000 } : { limit: 1000, cursor });
            count += page.ids.length;
            cursor = page.cursor;
          } while (cursor !== undefined);
          return count;
        }),
      );
      store.rotateKey('encrypt');
      ctx.oneShots.push(
        await oneShot(spec('rekey', `batchSize ${REKEY_OPTIONS.batchSize}, concurrency ${REKEY_OPTIONS.concurrency}`), async () => {
          const r = await store.rekey(REKEY_OPTIONS);
          return r.resealed;
        }),
      );
      offset = 13 * 60 * 60 * 1000; // past the 12 h absolute deadline
      ctx.oneShots.push(await oneShot(spec('cleanupExpired'), () => store.cleanupExpired()));
      const left = await backend.cleanupExpired();
      if (left !== 0) ctx.notes.push(`${name} ${n}: a second cleanupExpired still removed ${left}`);
      ctx.log(`  admin ${name} ${n} done`);
    }
  }
}

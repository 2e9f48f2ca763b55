/**
 * The floors every other row is compared with: JSON, the AEAD engines, drawing a nonce, and the raw
 * engines a user could call directly (ioredis SET+GET, pg upsert+select), each storing the state as
 * JSON text, so the comparison charges both sides for serialization.
 */
import crypto from 'node:crypto';
import { getAead } from '../src/crypto/aead/index.js';
import { secureRandom } from '../src/util/random.js';
import { utf8Encode } from '../src/util/bytes.js';
import { type Ctx, budgetForSize } from './context.js';
import { measure } from './measure.js';
import { REDIS_PREFIX, freshTable } from './services.js';

const IN_FLIGHT = 32;

/**
 * node:crypto used directly, as a careful hand-written sealer would: a fresh random nonce, one cipher
 * and one decipher per round trip. The floor the targets compare the layers' sealing with.
 */
export function gcmRoundTrip(key: crypto.KeyObject, aad: Uint8Array, plain: Uint8Array): Buffer {
  const nonce = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(plain), c.final()]);
  const tag = c.getAuthTag();
  const d = crypto.createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(aad);
  d.setAuthTag(tag);
  return Buffer.concat([d.update(ct), d.final()]);
}

export async function runFloors(ctx: Ctx): Promise<void> {
  const key = crypto.randomBytes(32);
  const keyObj = crypto.createSecretKey(key);
  const aad = utf8Encode('sss/bench/aad');
  const nodeAead = getAead('aes-256-gcm', 'node');
  const nobleAead = getAead('aes-256-gcm', 'noble');

  ctx.results.push(
    await measure({ id: 'crypto/nonce/randomBytes', group: 'crypto', label: 'nonce: crypto.randomBytes(12)' }, ctx.budget, () => crypto.randomBytes(12)),
    await measure({ id: 'crypto/nonce/pooled', group: 'crypto', label: 'nonce: pooled secureRandom(12)' }, ctx.budget, () => secureRandom(12)),
  );

  for (const size of ctx.sizes) {
    const state = ctx.states.get(size)!;
    const budget = budgetForSize(ctx.budget, size);
    const json = JSON.stringify(state);
    const plain = utf8Encode(json);
    ctx.results.push(
      await measure({ id: `floors/json/${size}`, group: 'floors', label: 'JSON stringify+parse', size }, budget, () => JSON.parse(JSON.stringify(state))),
    );
    ctx.results.push(
      await measure({ id: `crypto/node-direct/${size}`, group: 'crypto', label: 'node:crypto AES-256-GCM seal+open (direct, randomBytes nonce)', size }, budget, () =>
        gcmRoundTrip(keyObj, aad, plain),
      ),
    );
    for (const [name, aead] of [
      ['node', nodeAead],
      ['noble', nobleAead],
    ] as const) {
      const out = new Uint8Array(plain.length + 16);
      ctx.results.push(
        await measure(
          { id: `crypto/engine-${name}/${size}`, group: 'crypto', label: `our ${name} engine AES-256-GCM seal+open (pooled nonce)`, size },
          budget,
          () => {
            const nonce = secureRandom(12);
            aead.seal(key, nonce, plain, aad, out, 0);
            const pt = aead.open(key, nonce, out, aad);
            if (pt === undefined) throw new Error('open failed');
            return pt;
          },
        ),
      );
    }
  }

  await rawRedis(ctx);
  await rawPostgres(ctx);
}

async function rawRedis(ctx: Ctx): Promise<void> {
  const redis = ctx.services.redis;
  if (redis === undefined) {
    ctx.notes.push(`raw Redis rows skipped: ${ctx.services.redisSkip}`);
    return;
  }
  for (const size of ctx.sizes) {
    const state = ctx.states.get(size)!;
    const budget = budgetForSize(ctx.budget, size);
    const k = `${REDIS_PREFIX}raw:${size}`;
    const pair = async (key: string) => {
      await redis.set(key, JSON.stringify(state), 'PX', 3_600_000);
      const text = await redis.get(key);
      return JSON.parse(text!) as unknown;
    };
    const keys = Array.from({ length: IN_FLIGHT }, (_, i) => `${k}:${i}`);
    ctx.results.push(
      await measure({ id: `floors/redis-raw/${size}/seq`, group: 'floors', label: 'raw Redis SET+GET (ioredis, JSON text)', backend: 'redis', size, mode: 'seq' }, budget, () => pair(k)),
      await measure(
        { id: `floors/redis-raw/${size}/32`, group: 'floors', label: 'raw Redis SET+GET (ioredis, JSON text)', backend: 'redis', size, mode: '32', ops: IN_FLIGHT },
        budget,
        () => Promise.all(keys.map(pair)),
      ),
    );
  }
}

async function rawPostgres(ctx: Ctx): Promise<void> {
  const pool = ctx.services.pg;
  if (pool === undefined) {
    ctx.notes.push(`raw PostgreSQL rows skipped: ${ctx.services.pgSkip}`);
    return;
  }
  const table = freshTable('raw');
  await pool.query(`CREATE TABLE ${table} (id text PRIMARY KEY, value jsonb NOT NULL, expires_at bigint NOT NULL)`);
  const upsert = { name: `bench_raw_upsert_${table}`, text: `INSERT INTO ${table} (id, value, expires_at) VALUES ($1, $2::text::jsonb, $3) ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at` };
  const select = { name: `bench_raw_select_${table}`, text: `SELECT value::text AS v FROM ${table} WHERE id = $1` };
  for (const size of ctx.sizes) {
    const state = ctx.states.get(size)!;
    const budget = budgetForSize(ctx.budget, size);
    const pair = async (id: string) => {
      await pool.query({ ...upsert, values: [id, JSON.stringify(state), Date.now() + 3_600_000] });
      const r = await pool.query<{ v: string }>({ ...select, values: [id] });
      return JSON.parse(r.rows[0]!.v) as unknown;
    };
    const ids = Array.from({ length: IN_FLIGHT }, (_, i) => `${size}:${i}`);
    ctx.results.push(
      await measure({ id: `floors/pg-raw/${size}/seq`, group: 'floors', label: 'raw PostgreSQL upsert+select (pg, jsonb)', backend: 'postgres', size, mode: 'seq' }, budget, () => pair(`${size}:seq`)),
      await measure(
        { id: `floors/pg-raw/${size}/32`, group: 'floors', label: 'raw PostgreSQL upsert+select (pg, jsonb)', backend: 'postgres', size, mode: '32', ops: IN_FLIGHT },
        budget,
        () => Promise.all(ids.map(pair)),
      ),
    );
  }
}

/**
 * Where a sequential create+load over Redis spends its time, call by call, each row measured in
 * alternating slices with the others: raw SET / GET (ioredis, JSON text), RedisStore's own
 * saveRecord (ifAbsent, bytes) / loadRecord, EncryptedStore.loadRecord over it, and the full stack's
 * create / load. `tsx bench/experiments/redis-split.ts` (Redis from REDIS_URL; its keys are removed at the end).
 */
import { unsafeLayersOf } from '../../src/secure-store.js';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/backends/redis/index.js';
import { Keyring, secureStore } from '../../src/index.js';
import { OWNER } from '../layers.js';
import { REDIS_PREFIX, REDIS_URL, deleteRedisPrefix } from '../services.js';
import { mcpState } from '../states.js';

const state = mcpState(1024);
const redis = new Redis(REDIS_URL);
const backend = new RedisStore({ client: redis, prefix: `${REDIS_PREFIX}split:` });
const stack = secureStore(backend, { keyring: Keyring.generate(), namespace: 'split' });
const scoped = stack.for(OWNER);
const fixed = await scoped.create(state);
const envelope = (await backend.loadRecord(fixed))!.value as Uint8Array;
const rawKey = `${REDIS_PREFIX}split-raw`;
let n = 0;
const rows: Array<[string, () => Promise<unknown>]> = [
  ['raw SET (stringify + SET PX)', () => redis.set(rawKey, JSON.stringify(state), 'PX', 3_600_000)],
  ['raw GET (GET + parse)', async () => JSON.parse((await redis.get(rawKey))!) as unknown],
  ['RedisStore.saveRecord (ifAbsent, envelope)', () => backend.saveRecord(`b${n++}`, envelope, { expiresAt: Date.now() + 3_600_000, ifAbsent: true })],
  ['RedisStore.loadRecord', () => backend.loadRecord(fixed)],
  ['EncryptedStore.loadRecord (+ open)', () => unsafeLayersOf(stack).encrypted.loadRecord(fixed)],
  ['full stack create', () => scoped.create(state)],
  ['full stack load', () => scoped.load(fixed)],
];
await redis.set(rawKey, JSON.stringify(state), 'PX', 3_600_000);
const medians = new Map<string, number[]>();
for (let round = 0; round < 12; round++) {
  for (const [name, fn] of rows) {
    for (let w = 0; w < 30; w++) await fn();
    const samples: number[] = [];
    const end = performance.now() + 120;
    while (performance.now() < end) {
      const t0 = performance.now();
      await fn();
      samples.push((performance.now() - t0) * 1000);
    }
    samples.sort((a, b) => a - b);
    medians.set(name, [...(medians.get(name) ?? []), samples[Math.floor(samples.length / 2)]!]);
  }
}
for (const [name, xs] of medians) {
  xs.sort((a, b) => a - b);
  console.log(`${name.padEnd(44)} ${xs[Math.floor(xs.length / 2)]!.toFixed(1).padStart(7)} µs`);
}
await deleteRedisPrefix(redis, REDIS_PREFIX);
redis.disconnect();

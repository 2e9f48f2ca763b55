/**
 * A hot loop of one benchmark row, for `node --cpu-prof --import tsx bench/experiments/profile-target.ts <row>`:
 * rows are `memory-save-load`, `memory-create-load`, `token-verify`, `redis-create-load`, and
 * `redis-create-load-32` (32 create+loads in flight, as in the redis-32 pair), `redis-raw-32`
 * (raw SET+GET, 32 in flight: the floor that pair compares against) and `redis-raw` (raw SET+GET).
 * Used to find where the time goes when a target is missed (a profile, not a guess).
 */
import { Redis } from 'ioredis';
import { Keyring, MemoryStore, type RecordStore, secureStore } from '../../src/index.js';
import { RedisStore } from '../../src/backends/redis/index.js';
import { OWNER } from '../layers.js';
import { REDIS_URL, deleteRedisPrefix } from '../services.js';
import { mcpState } from '../states.js';

const row = process.argv[2] ?? 'memory-save-load';
const seconds = Number(process.argv[3] ?? 5);
const state = mcpState(Number(process.argv[4] ?? 1024));

async function main(): Promise<void> {
  const redis = row.startsWith('redis') ? new Redis(REDIS_URL) : undefined;
  const prefix = `sssprof:${process.pid}:`;
  const backend: RecordStore = redis === undefined ? new MemoryStore({ maxEntries: 1_000_000, maxBytes: 2 ** 31 }) : new RedisStore({ client: redis, prefix });
  const store = secureStore(backend, { keyring: Keyring.generate() });
  const scoped = store.for(OWNER);
  const token = store.issueToken('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', OWNER);
  const end = Date.now() + seconds * 1000;
  let n = 0;
  const t0 = performance.now();
  while (Date.now() < end) {
    for (let i = 0; i < 100; i++, n++) {
      if (row.endsWith('-32')) {
        await Promise.all(
          Array.from({ length: 32 }, async (_, j) => {
            if (row === 'redis-raw-32') {
              await redis!.set(`${prefix}raw${j}`, JSON.stringify(state), 'PX', 60_000);
              return JSON.parse((await redis!.get(`${prefix}raw${j}`))!) as unknown;
            }
            return scoped.load(await scoped.create(state));
          }),
        );
      } else if (row === 'redis-raw') {
        await redis!.set(`${prefix}raw`, JSON.stringify(state), 'PX', 60_000);
        JSON.parse((await redis!.get(`${prefix}raw`))!);
      } else if (row.endsWith('save-load')) {
        await scoped.save('s1', state);
        await scoped.load('s1');
      } else if (row.endsWith('create-load')) {
        await scoped.load(await scoped.create(state));
      } else if (row === 'token-verify') {
        store.verifyToken(token, OWNER);
      } else throw new Error(`unknown row ${row}`);
    }
  }
  console.log(`${row}: ${n} ops, ${(((performance.now() - t0) * 1000) / n).toFixed(2)} µs/op`);
  if (redis !== undefined) {
    await deleteRedisPrefix(redis, prefix);
    redis.disconnect();
  }
}

await main();

/**
 * How much slower the same in-process work runs after the CPU has waited: the full stack's
 * create+load over MemoryStore, back to back, then with a wait before each operation (a Redis PING
 * round trip, a 1 ms timer). On a small shared VM the work after each wait runs on cold caches (and
 * possibly another core): this is what every operation of a sequential Redis client pays between
 * round trips. `tsx bench/experiments/idle-penalty.ts` (Redis from REDIS_URL; the PING row is skipped without it).
 */
import { Redis } from 'ioredis';
import { Keyring, MemoryStore, secureStore } from '../../src/index.js';
import { OWNER } from '../layers.js';
import { REDIS_URL } from '../services.js';
import { mcpState } from '../states.js';

const state = mcpState(1024);
const backend = new MemoryStore({ maxEntries: 1_000_000, maxBytes: 2 ** 31 });
const scoped = secureStore(backend, { keyring: Keyring.generate(), namespace: 'idle' }).for(OWNER);
const made: string[] = [];
const op = async () => {
  const id = await scoped.create(state);
  made.push(id);
  await scoped.load(id);
};
const flush = async () => {
  for (const id of made.splice(0)) await backend.deleteRecord(id);
};

const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
redis.on('error', () => {});
const haveRedis = await redis.connect().then(
  () => true,
  () => false,
);
const waits: Array<[string, () => unknown]> = [
  ['back to back', () => undefined],
  ['after a 1 ms timer', () => new Promise((resolve) => setTimeout(resolve, 1))],
  ...(haveRedis ? [['after a Redis PING', () => redis.ping()] as [string, () => unknown]] : []),
];

// Warm the JIT first: the full stack needs thousands of calls before its times settle.
const warmEnd = performance.now() + 4000;
while (performance.now() < warmEnd) {
  await op();
  if (made.length > 2000) await flush();
}
for (let round = 0; round < 2; round++) {
  for (const [name, wait] of waits) {
    const samples: number[] = [];
    for (let i = 0; i < 2000; i++) {
      await wait();
      const t0 = performance.now();
      await op();
      samples.push((performance.now() - t0) * 1000);
    }
    await flush();
    samples.sort((a, b) => a - b);
    console.log(`${name.padEnd(20)} create+load median ${samples[1000]!.toFixed(1)} µs, p10 ${samples[200]!.toFixed(1)} µs`);
  }
}
redis.disconnect();

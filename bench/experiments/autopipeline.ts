/**
 * Does ioredis' `enableAutoPipelining` pay at 32 operations in flight? Raw SET+GET and the full
 * stack's create+load, each on a plain client and on an auto-pipelining one, in alternating 150 ms
 * slices: pairs/s, process CPU and its system part per pair (medians of the rounds after the first
 * three). `tsx bench/experiments/autopipeline.ts` (Redis from REDIS_URL; its keys are removed at the end).
 */
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/backends/redis/index.js';
import { Keyring, secureStore } from '../../src/index.js';
import { OWNER } from '../layers.js';
import { REDIS_PREFIX, REDIS_URL, deleteRedisPrefix } from '../services.js';
import { mcpState } from '../states.js';

const IN_FLIGHT = 32;
const ROUNDS = 16;
const SLICE_MS = 150;
const state = mcpState(1024);
const prefix = `${REDIS_PREFIX}autopipeline:`;
const plain = new Redis(REDIS_URL);
const piped = new Redis(REDIS_URL, { enableAutoPipelining: true });

const raw = (client: Redis, tag: string) => () =>
  Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, i) => {
      await client.set(`${prefix}raw:${tag}:${i}`, JSON.stringify(state), 'PX', 60_000);
      return JSON.parse((await client.get(`${prefix}raw:${tag}:${i}`))!) as unknown;
    }),
  );
const full = (client: Redis, tag: string) => {
  const scoped = secureStore(new RedisStore({ client, prefix: `${prefix}${tag}:` }), { keyring: Keyring.generate(), namespace: 'autopipeline' }).for(OWNER);
  return () => Promise.all(Array.from({ length: IN_FLIGHT }, async () => scoped.load(await scoped.create(state))));
};

const rows: Array<[string, () => Promise<unknown>]> = [
  ['raw SET+GET, plain client', raw(plain, 'p')],
  ['raw SET+GET, auto-pipelining', raw(piped, 'a')],
  ['full stack create+load, plain client', full(plain, 'p')],
  ['full stack create+load, auto-pipelining', full(piped, 'a')],
];
const rates = rows.map(() => [] as number[]);
const cpu = rows.map(() => [] as number[]);
const sys = rows.map(() => [] as number[]);
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < rows.length; i++) {
    const fn = rows[i]![1];
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let pairs = 0;
    while (performance.now() - t0 < SLICE_MS) {
      await fn();
      pairs += IN_FLIGHT;
    }
    const seconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    rates[i]!.push(pairs / seconds);
    cpu[i]!.push((c.user + c.system) / pairs);
    sys[i]!.push(c.system / pairs);
  }
}
const median = (xs: number[]) => {
  const s = xs.slice(3).sort((a, b) => a - b);
  return s[s.length >> 1]!;
};
for (let i = 0; i < rows.length; i++) {
  console.log(
    `${rows[i]![0].padEnd(42)} ${Math.round(median(rates[i]!)).toString().padStart(6)} pairs/s, CPU ${median(cpu[i]!).toFixed(1)} µs/pair (system ${median(sys[i]!).toFixed(1)})`,
  );
}
await deleteRedisPrefix(plain, prefix);
plain.disconnect();
piped.disconnect();

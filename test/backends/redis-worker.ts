/**
 * One worker process of the across-process test: `update`s distinct fields of one session through
 * its own RedisStore and client. argv: prefix, session id, worker index, number of updates.
 * Prints one JSON line { acked, conflicts } and exits 0, or exits 1 on any other error.
 */
import { Redis } from 'ioredis';
import { isSessionStoreError } from '../../src/contract/errors.js';
import { RedisStore } from '../../src/backends/redis/index.js';

const [prefix, id, worker, countText] = process.argv.slice(2);
if (prefix === undefined || id === undefined || worker === undefined || countText === undefined) throw new Error('usage: prefix id worker count');
const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
client.on('error', () => {});
const store = new RedisStore({ client, prefix });
let acked = 0;
let conflicts = 0;
try {
  for (let i = 0; i < Number(countText); i++) {
    // A `conflict` means the CAS loop gave up WITHOUT writing: trying again is safe, and counted.
    for (;;) {
      try {
        await store.update(id, { [`w${worker}_${i}`]: i });
        acked++;
        break;
      } catch (err) {
        if (!isSessionStoreError(err, 'conflict')) throw err;
        conflicts++;
      }
    }
  }
  process.stdout.write(`${JSON.stringify({ acked, conflicts })}\n`);
} finally {
  await store.close();
  await client.quit();
}

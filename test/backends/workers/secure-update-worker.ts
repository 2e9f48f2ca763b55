/**
 * One worker of the "4 processes x 50 updates through the encrypting stack" test: its own client,
 * its own secureStore over the shared backend and keyset (cleartext JWKS in SSS_TEST_KEYSET, a test
 * keyset made by the parent), updating distinct fields of one session. Waits for "go" on stdin so all
 * workers race together (after printing "ready"). Prints { acked, gaveUp } and exits 0, or exits 1 on any other error.
 * Usage: tsx secure-update-worker.ts <redis|postgres> <prefix|table> <sessionId> <workerNo> <count>
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { Keyring, type RecordStore, isSessionStoreError, secureStore } from '../../../src/index.js';
import { RedisStore } from '../../../src/backends/redis/index.js';
import { PostgresStore } from '../../../src/backends/postgres.js';

const [kind, where, id, worker, count] = process.argv.slice(2);
if (kind === undefined || where === undefined || id === undefined || worker === undefined || count === undefined) {
  throw new Error('usage: secure-update-worker.ts <redis|postgres> <prefix|table> <sessionId> <workerNo> <count>');
}
const keyring = Keyring.insecureFromCleartextJwks(JSON.parse(process.env.SSS_TEST_KEYSET ?? 'null'));
let close: () => Promise<void>;
let backend: RecordStore;
if (kind === 'redis') {
  const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  client.on('error', () => {});
  backend = new RedisStore({ client, prefix: where });
  close = async () => void (await client.quit());
} else {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', max: 2 });
  backend = new PostgresStore({ pool, table: where });
  close = () => pool.end();
}
const store = secureStore(backend, { keyring, namespace: 'cross-process' });
const scoped = store.for({ subject: 'worker-owner' });

process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
let acked = 0;
let gaveUp = 0;
try {
  for (let i = 0; i < Number(count); i++) {
    for (;;) {
      try {
        await scoped.update(id, { [`w${worker}_${i}`]: i });
        acked++;
        break;
      } catch (err) {
        // `conflict` = the bounded CAS loop gave up WITHOUT writing; retrying is safe, and counted.
        if (!isSessionStoreError(err, 'conflict')) throw err;
        gaveUp++;
      }
    }
  }
  process.stdout.write(`${JSON.stringify({ acked, gaveUp })}\n`);
} finally {
  await store.close();
  await close();
}

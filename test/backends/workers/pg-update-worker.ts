/**
 * One of the "4 processes x 50 updates" workers: waits for "go" on stdin (so all workers race
 * together), then updates its own distinct fields of one session through its own pool.
 * Usage: tsx pg-update-worker.ts <table> <sessionId> <workerNo> <count>
 */
import pg from 'pg';
import { PostgresStore } from '../../../src/backends/postgres.js';

const [table, id, worker, count] = process.argv.slice(2);
if (table === undefined || id === undefined || worker === undefined || count === undefined) {
  throw new Error('usage: pg-update-worker.ts <table> <sessionId> <workerNo> <count>');
}
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', max: 2 });
// Four processes hammering ONE id back to back is the worst case for optimistic concurrency: the
// default bound (8 attempts) is sized for ordinary traffic, so this stress test raises it. Every
// update must still land; none may be silently lost.
const maxAttempts = Number(process.env.SSS_TEST_CAS_MAX_ATTEMPTS ?? 64);
let conflicts = 0;
class CountingStore extends PostgresStore {
  override async saveRecord(...args: Parameters<PostgresStore['saveRecord']>): Promise<string> {
    try {
      return await super.saveRecord(...args);
    } catch (err) {
      if ((err as { code?: string }).code === 'conflict') conflicts++;
      throw err;
    }
  }
}
const store = new CountingStore({ pool, table, cas: { maxAttempts } });

await store.loadRecord(id); // connect before the race starts
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
try {
  for (let i = 0; i < Number(count); i++) await store.update(id, { [`w${worker}_${i}`]: i });
  process.stdout.write(`done conflicts=${conflicts}\n`);
} catch (err) {
  process.stdout.write(`error ${(err as { code?: string }).code ?? ''} ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await store.close();
  await pool.end();
  process.stdin.destroy();
}

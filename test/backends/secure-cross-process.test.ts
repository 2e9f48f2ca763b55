/**
 * Across processes, through the encrypting stack: 4 worker processes x 50 `update`s of distinct
 * fields of one session, on Redis and on PostgreSQL. Every update must be there afterwards.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Keyring, type RecordStore, secureStore } from 'sealed-session-store';
import type { PostgresStore } from 'sealed-session-store/postgres';
import type { RedisStore } from 'sealed-session-store/redis';
import { postgresFixture } from '../support/fixtures/postgres.js';
import { redisFixture } from '../support/fixtures/redis.js';

const WORKERS = 4;
const UPDATES = 50;
const worker = fileURLToPath(new URL('./workers/secure-update-worker.ts', import.meta.url));
const cwd = fileURLToPath(new URL('../..', import.meta.url));

function run(kind: string, where: string, id: string, w: number, keyset: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', worker, kind, where, id, String(w), String(UPDATES)], {
    cwd,
    env: { ...process.env, SSS_TEST_KEYSET: keyset },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const ready = new Promise<void>((resolve) => {
    const onData = () => {
      if (out.startsWith('ready\n')) {
        child.stdout.off('data', onData);
        resolve();
      }
    };
    child.stdout.on('data', onData);
  });
  const done = new Promise<{ acked: number; gaveUp: number }>((resolve, reject) => {
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.slice('ready\n'.length).trim()) as { acked: number; gaveUp: number }) : reject(new Error(`worker ${w} exited ${code}: ${err}`)),
    );
  });
  return { ready, go: () => child.stdin.end('go\n'), done };
}

for (const [kind, fixture] of [['redis', redisFixture], ['postgres', postgresFixture]] as const) {
  const skip = await fixture.skipReason();
  describe.skipIf(skip !== undefined)(`across processes through secureStore (${kind})`, () => {
    afterAll(() => fixture.cleanup());

    it(`${WORKERS} processes x ${UPDATES} updates of one session lose none`, async () => {
      const backend: RecordStore = await fixture.create({ now: Date.now });
      const keyring = Keyring.generate();
      const keyset = JSON.stringify(keyring.insecureExportCleartextJwks());
      const store = secureStore(backend, { keyring, namespace: 'cross-process' });
      const owner = { subject: 'worker-owner' };
      const id = await store.for(owner).create({ base: true });
      const where = kind === 'redis' ? (backend as RedisStore).prefix : (backend as PostgresStore).table;
      const workers = Array.from({ length: WORKERS }, (_, w) => run(kind, where, id, w, keyset));
      // Every worker connects first; then they all race at once.
      await Promise.all(workers.map((w) => w.ready));
      for (const w of workers) w.go();
      const results = await Promise.all(workers.map((w) => w.done));
      const state = await store.for(owner).load(id);
      let present = 0;
      for (let w = 0; w < WORKERS; w++) for (let i = 0; i < UPDATES; i++) if (state[`w${w}_${i}`] === i) present++;
      console.info(`[${kind}] through secureStore: ${present}/${WORKERS * UPDATES} updates present, ${results.reduce((n, r) => n + r.gaveUp, 0)} CAS give-ups retried`);
      expect(results.reduce((n, r) => n + r.acked, 0)).toBe(WORKERS * UPDATES);
      expect(present).toBe(WORKERS * UPDATES);
      expect(state.base).toBe(true);
    }, 120_000);
  });
}

/**
 * Key rotation through a keyset kept in the store (issue 16, "Done when", store half), on Redis
 * and on PostgreSQL: an APPLICATION PROCESS (./store-app.mjs, `createSessionStore` with
 * SSS_KEYSET_STORE=1) runs session operations every few milliseconds while this test runs the
 * CLI against the same store: `keys rotate encrypt`, `keys retire <old>` (refused: sessions are
 * still sealed under it), `rekey`, `keys retire <old>`, `keys destroy <old>`. The application
 * picks up every change by polling the stored keyset, and no operation of it fails.
 *
 * No fixed sleeps: each step waits for the application to report (its KEYS line) that its poll
 * picked up the change.
 *
 * The Redis run keeps the keyset wrapped under a passphrase at the default scrypt cost, as in
 * production (each command derives the key-encryption key: seconds on a small host); the PostgreSQL
 * run uses a cleartext development keyset to halve the test's time. Wrapping does not depend on the
 * backend: test/keys/store-source.test.ts covers it on every one.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deletePrefix } from '../support/fixtures/redis.js';
import { DATABASE_URL, REDIS_URL, serviceSkipReason, uniqueSuffix } from '../support/services.js';
import { ROOT, cleanEnv, cli, json, waitFor } from '../cli/helpers.js';

const TSX_LOADER = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const PASSPHRASE = 'store-rotation passphrase, test only';

interface Target {
  name: 'redis' | 'postgres';
  env: Record<string, string>;
  /** How the keyset is protected at rest (environment, and the flag `keys generate` needs). */
  protection: { env: Record<string, string>; generate: string[] };
  skip: string | undefined;
  cleanup(): Promise<void>;
}

async function redisTarget(): Promise<Target> {
  const prefix = `sss-rot-${uniqueSuffix()}:`;
  return {
    name: 'redis',
    skip: await serviceSkipReason('redis'),
    env: { SSS_ADAPTER: 'redis', SSS_URL: REDIS_URL, SSS_PREFIX: prefix },
    protection: { env: { SSS_KEYSET_PASSPHRASE: PASSPHRASE }, generate: [] },
    async cleanup() {
      const client = new Redis(REDIS_URL, { lazyConnect: true });
      await client.connect();
      await deletePrefix(client, prefix);
      await client.quit();
    },
  };
}

async function postgresTarget(): Promise<Target> {
  const schema = `sss_rot_${uniqueSuffix()}`;
  const skip = await serviceSkipReason('postgres');
  if (skip === undefined) {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await pool.end();
  }
  return {
    name: 'postgres',
    skip,
    env: { SSS_ADAPTER: 'postgres', SSS_URL: DATABASE_URL, SSS_TABLE: `${schema}.sessions`, SSS_MIGRATE: '1' },
    protection: { env: { SSS_KEYSET_INSECURE_CLEARTEXT: '1' }, generate: ['--insecure-cleartext'] },
    async cleanup() {
      if (skip !== undefined) return;
      const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}

function startApp(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, join(ROOT, 'test/rotation/store-app.mjs')], {
    cwd: ROOT,
    env: cleanEnv(env) as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => void (out += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => void (err += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const lines = (tag: string) =>
    out
      .split('\n')
      .filter((l) => l.startsWith(`${tag} `))
      .map((l) => l.slice(tag.length + 1));
  return { child, exited, lines, output: () => `${out}\n--- stderr ---\n${err}` };
}

const targets = [await redisTarget(), await postgresTarget()];
afterAll(async () => {
  for (const t of targets) await t.cleanup();
});

for (const target of targets) {
  describe.skipIf(target.skip !== undefined)(`store-held keyset rotation under load: ${target.name}`, () => {
    it('rotate, rekey, retire and destroy while an application process runs: zero failed operations', { timeout: 120_000 }, async () => {
      const env = { ...target.env, ...target.protection.env, SSS_KEYSET_STORE: '1' };
      const run = async (...args: string[]) => cli([...args, '--json'], { env });

      const generated = await run('keys', 'generate', '--keyset-in-store', ...target.protection.generate);
      expect(generated.code, generated.stderr).toBe(0);
      const old = (json(generated).keys as Array<{ kid: string; purpose: string }>).find((k) => k.purpose === 'encrypt')!.kid;
      // A second generate never replaces it.
      expect((await run('keys', 'generate', '--keyset-in-store', ...target.protection.generate)).code).toBe(1);

      const app = startApp({ ...env, SSS_KEYSET_FOLLOW_INTERVAL_MS: '50' });
      try {
        const opsDone = () => {
          const last = app.lines('OPS').pop();
          return last === undefined ? 0 : Number(last.split(' ')[0]);
        };
        await waitFor(() => app.lines('READY').length > 0, 30_000, `the application to start\n${app.output()}`);
        expect(app.lines('READY')[0]).toBe(old);
        await waitFor(() => opsDone() >= 100, 30_000, `application operations\n${app.output()}`);
        const sees = (entry: string) => () => app.lines('KEYS').some((l) => l.split(',').includes(entry));

        const rotated = await run('keys', 'rotate', 'encrypt');
        expect(rotated.code, rotated.stderr).toBe(0);
        const fresh = json(rotated).kid as string;
        await waitFor(sees(`${fresh}:encrypt:primary`), 30_000, `the application to pick up the rotation\n${app.output()}`);

        // Sessions are still sealed under the old key: retiring it is refused.
        const early = await run('keys', 'retire', old);
        expect(early.code).toBe(1);
        expect(json(early).error.code).toBe('key_state');

        const rekeyed = await run('rekey');
        expect(rekeyed.code, rekeyed.stderr).toBe(0);
        expect(json(rekeyed)).toMatchObject({ done: true, failed: 0 });

        const retired = await run('keys', 'retire', old);
        expect(retired.code, retired.stderr).toBe(0);
        await waitFor(sees(`${old}:encrypt:retired`), 30_000, `the application to pick up the retirement\n${app.output()}`);

        const destroyed = await run('keys', 'destroy', old);
        expect(destroyed.code, destroyed.stderr).toBe(0);
        await waitFor(sees(`${old}:encrypt:destroyed`), 30_000, `the application to pick up the destruction\n${app.output()}`);

        const before = opsDone();
        await waitFor(() => opsDone() >= before + 100, 30_000, `operations after the destruction\n${app.output()}`);
      } finally {
        app.child.kill('SIGTERM');
        await app.exited;
      }
      const done = app.lines('DONE').pop();
      expect(done, app.output()).toBeDefined();
      const [ok, failed] = done!.split(' ').map(Number);
      expect(app.lines('FAIL'), app.output()).toEqual([]);
      expect(failed).toBe(0);
      expect(ok).toBeGreaterThan(200);
    });
  });
}

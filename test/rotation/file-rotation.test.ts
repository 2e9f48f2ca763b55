/**
 * Issue 16 "Done when" (keyset-file half): an APPLICATION PROCESS (test/rotation/app.mjs, through
 * `createSessionStore` on Redis, then PostgreSQL) creates, updates and loads sessions every few
 * milliseconds while this test runs the CLI against its keyset file (laid out as a Kubernetes secret
 * volume: `keys.json -> ..data/keys.json`, `..data -> vN/`, swapped once mid-way as a secret
 * manager's re-sync would): `keys rotate encrypt`, `keys retire <old>` (refused: sessions are still
 * sealed under it), `rekey`, the symlink swap, `keys retire <old>` (now allowed), `keys destroy
 * <old>`. The application must see no failed operation at all, and end sealing under the new key.
 * In the `faults` project: it runs a second process and depends on timing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { Keyring } from 'sealed-session-store';
import { deletePrefix } from '../support/fixtures/redis.js';
import { DATABASE_URL, REDIS_URL, serviceSkipReason, uniqueSuffix } from '../support/services.js';
import { ROOT, cleanEnv, cli, waitFor } from '../cli/helpers.js';

const TSX_LOADER = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const NAMESPACE = 'rotation-e2e';

interface Status {
  ready: boolean;
  done: boolean;
  ok: number;
  failed: number;
  errors: Record<string, number>;
  sessions: number;
  primary: string;
}

function secretVolume(text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sss-rotation-'));
  let n = 1;
  mkdirSync(join(dir, 'v1'));
  writeFileSync(join(dir, 'v1', 'keys.json'), text, { mode: 0o600 });
  symlinkSync('v1', join(dir, '..data'));
  symlinkSync('..data/keys.json', join(dir, 'keys.json'));
  return {
    dir,
    path: join(dir, 'keys.json'),
    swap() {
      const text = readFileSync(join(dir, 'keys.json'), 'utf8');
      const v = `v${++n}`;
      mkdirSync(join(dir, v));
      writeFileSync(join(dir, v, 'keys.json'), text, { mode: 0o600 });
      symlinkSync(v, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    },
  };
}

function startApp(env: Record<string, string>): { child: ChildProcess; status: () => Status | undefined; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, join(ROOT, 'test/rotation/app.mjs')], {
    cwd: ROOT,
    env: cleanEnv(env) as NodeJS.ProcessEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let last: Status | undefined;
  let buffer = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString('utf8');
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) if (line.trim() !== '') last = JSON.parse(line) as Status;
  });
  child.stderr!.on('data', (d: Buffer) => void (err += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, status: () => last, stderr: () => err, exited };
}

/** The whole procedure against one backend: `store` are the CLI's store flags, `env` the app's. */
async function rotateUnderLoad(store: string[], env: Record<string, string>): Promise<void> {
  const vol = secretVolume(`${JSON.stringify(Keyring.generate().insecureExportCleartextJwks())}\n`);
  const keyset = ['--keyset', vol.path, '--insecure-cleartext'];
  const app = startApp({
    ...env,
    SSS_NAMESPACE: NAMESPACE,
    SSS_KEYSET: vol.path,
    SSS_KEYSET_INSECURE_CLEARTEXT: '1',
    SSS_KEYSET_FOLLOW_INTERVAL_MS: '50',
  });
  const status = () => app.status() ?? ({ ok: 0, failed: 0 } as Status);
  const progressed = async (what: string) => {
    const from = status().ok;
    await waitFor(() => status().ok >= from + 200, 30_000, `${what}: the app to keep working (${app.stderr()})`);
  };
  try {
    await waitFor(() => status().ok >= 200, 60_000, `the app to start (${app.stderr()})`);
    const old = status().primary;

    const rotated = await cli(['keys', 'rotate', 'encrypt', ...keyset, '--json']);
    expect(rotated.code, rotated.stderr).toBe(0);
    const fresh = (JSON.parse(rotated.stdout) as { kid: string }).kid;
    // The app seals under the new key without a restart (followed file, 50 ms poll).
    await waitFor(() => status().primary === fresh, 10_000, 'the app to adopt the new primary');
    await progressed('after the rotation');

    // Sessions are still sealed under the old key: retiring it is refused until the rekey.
    const early = await cli(['keys', 'retire', old, ...keyset, ...store, '--namespace', NAMESPACE]);
    expect(early.code, early.stdout).not.toBe(0);
    expect(early.stderr).toMatch(/session/i);

    const rekey = await cli(['rekey', ...keyset, ...store, '--namespace', NAMESPACE, '--json']);
    expect(rekey.code, rekey.stderr).toBe(0);
    await progressed('after the rekey');

    vol.swap(); // the secret manager re-syncs the volume: same keyset, new file behind a new link
    await progressed('after the symlink swap');

    const retired = await cli(['keys', 'retire', old, ...keyset, ...store, '--namespace', NAMESPACE]);
    expect(retired.code, retired.stderr).toBe(0);
    await progressed('after the retire');
    const destroyed = await cli(['keys', 'destroy', old, ...keyset, ...store, '--namespace', NAMESPACE]);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(readFileSync(vol.path, 'utf8')).toContain(fresh);
    await progressed('after the destroy');

    app.child.stdin!.write('stop\n');
    expect(await app.exited).toBe(0);
    const final = status();
    expect(final.done).toBe(true);
    expect({ failed: final.failed, errors: final.errors }).toEqual({ failed: 0, errors: {} });
    expect(final.primary).toBe(fresh);
    expect(final.ok).toBeGreaterThan(1000);
  } finally {
    if (app.child.exitCode === null) app.child.kill('SIGKILL');
    rmSync(vol.dir, { recursive: true, force: true });
  }
}

describe('key rotation reaches a running application through its keyset file', () => {
  const prefixes: string[] = [];
  let pool: pg.Pool | undefined;
  const schema = `sss_rotation_${uniqueSuffix()}`;
  afterAll(async () => {
    if (prefixes.length > 0) {
      const client = new Redis(REDIS_URL);
      try {
        for (const p of prefixes) await deletePrefix(client, p);
      } finally {
        client.disconnect();
      }
    }
    if (pool !== undefined) {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    }
  });

  it('Redis: rotate, rekey, symlink swap, retire, destroy with zero failed operations', async (ctx) => {
    const skip = await serviceSkipReason('redis');
    if (skip !== undefined) return ctx.skip(skip);
    const prefix = `ssstest:rotation:${uniqueSuffix()}:`;
    prefixes.push(prefix);
    await rotateUnderLoad(['--redis', REDIS_URL, '--prefix', prefix], { SSS_URL: REDIS_URL, SSS_PREFIX: prefix });
  });

  it('PostgreSQL: rotate, rekey, symlink swap, retire, destroy with zero failed operations', async (ctx) => {
    const skip = await serviceSkipReason('postgres');
    if (skip !== undefined) return ctx.skip(skip);
    pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    const table = `${schema}.sessions`;
    await rotateUnderLoad(['--postgres', DATABASE_URL, '--table', table], { SSS_URL: DATABASE_URL, SSS_TABLE: table, SSS_MIGRATE: '1' });
  });
});

/**
 * Issue 16 items 5 and 6, against a real Redis: a CLI that cannot destroy a key still in use, and
 * re-key output fit for logs. The application writes the way applications do (createSessionStore
 * under its own namespace, an MCP event log on its own prefix); the CLI is run as a new user would,
 * without being told the application's namespace.
 */
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionStore } from '../../src/config/index.js';
import { RedisStore } from '../../src/backends/redis/index.js';
import { PostgresStore } from '../../src/backends/postgres.js';
import { registerEventsNamespace } from '../../src/internal.js';
import { McpEventLog } from '../../src/mcp/event-store.js';
import { REDIS_REGISTRY_PREFIX } from '../../src/admin/namespaces.js';
import { NAMESPACE_INDEX } from '../../src/admin/namespace-ids.js';
import { runCli } from '../../src/cli/program.js';
import { deletePrefix } from '../support/fixtures/redis.js';
import { DATABASE_URL, REDIS_URL, serviceSkipReason, uniqueSuffix } from '../support/services.js';
import { ROOT, type CliRun, cleanEnv, cli, json, tempDir } from './helpers.js';

const skip = await serviceSkipReason('redis');
const skipPg = await serviceSkipReason('postgres');
const run = `clisafety-${uniqueSuffix()}`;
let dir: string;
let remove: () => Promise<void>;
let client: Redis;

beforeAll(async () => {
  ({ dir, remove } = await tempDir());
  if (skip === undefined) {
    client = new Redis(REDIS_URL);
    client.on('error', () => {});
  }
});

afterAll(async () => {
  await remove();
  if (skip !== undefined) return;
  try {
    await deletePrefix(client, `sss:${run}`);
    // The registry records this file wrote (other keysets' records are left alone).
    const registry = new RedisStore({ client, prefix: REDIS_REGISTRY_PREFIX });
    const page = await registry.listByIndex(NAMESPACE_INDEX, { limit: 1000 });
    for (const id of page.ids) {
      const rec = await registry.loadRecord(id);
      if (rec !== undefined && String((rec.value as { namespace?: unknown }).namespace).startsWith(run)) await registry.deleteRecord(id);
    }
  } finally {
    client.disconnect();
  }
});

const owner = { subject: 'alice' };

async function keyset(name: string): Promise<string[]> {
  const path = join(dir, `${name}.json`);
  const k = ['--keyset', path, '--insecure-cleartext'];
  expect((await cli(['keys', 'generate', ...k])).code).toBe(0);
  return k;
}

function encryptKid(run: CliRun, status: string): string {
  return (json(run).keys as Array<{ kid: string; purpose: string; status: string }>).find((k) => k.purpose === 'encrypt' && k.status === status)!.kid;
}

/** The application: sessions under its own namespace (default prefix sss:<ns>:), opened by createSessionStore. */
async function appSessions(k: string[], namespace: string, count: number): Promise<string[]> {
  const created = await createSessionStore({ adapter: 'redis', url: REDIS_URL, namespace, keyset: { path: k[1]!, insecureCleartext: true } });
  try {
    const scoped = created.store.for(owner);
    return await Promise.all(Array.from({ length: count }, (_, i) => scoped.create({ i })));
  } finally {
    await created.close();
  }
}

describe.skipIf(skip !== undefined)('keys retire / destroy walk every namespace recorded for the keyset', () => {
  it('refuses while sessions of a NON-default namespace are sealed under the key, though the CLI was not told the namespace', async () => {
    const k = await keyset('nondefault');
    const ns = `${run}-app`;
    const ids = await appSessions(k, ns, 25);
    const oldKid = encryptKid(await cli(['keys', 'list', ...k, '--json']), 'primary');
    expect((await cli(['keys', 'rotate', 'encrypt', ...k])).code).toBe(0);
    const redis = ['--redis', REDIS_URL]; // SSS_NAMESPACE unset: the CLI's own namespace is "default"

    const refused = await cli(['keys', 'retire', oldKid, ...redis, ...k]);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toContain(`25 in sessions of namespace "${ns}" (prefix sss:${ns}:)`);
    expect(encryptKid(await cli(['keys', 'list', ...k, '--json']), 'active')).toBe(oldKid);

    // A forced retire leaves the key retired; destroy then walks again and still refuses.
    const forced = await cli(['keys', 'retire', oldKid, '--force', ...redis, ...k]);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/WARNING: --force/);
    const destroy = await cli(['keys', 'destroy', oldKid, ...redis, ...k]);
    expect(destroy.code).toBe(1);
    expect(destroy.stderr).toMatch(/refusing to destroy encrypt key .* 25 live record/);
    expect((await cli(['keys', 'reactivate', oldKid, ...k])).code).toBe(0);

    // rekey, not told the namespace either, re-seals the app's sessions through the registry.
    const rekey = await cli(['rekey', ...redis, ...k, '--json']);
    expect(rekey.code, rekey.stderr).toBe(0);
    expect(json(rekey)).toMatchObject({ done: true, resealed: 25, failed: 0 });
    for (const id of ids) expect(rekey.stderr + rekey.stdout).not.toContain(id);

    const retired = await cli(['keys', 'retire', oldKid, ...redis, ...k, '--json']);
    expect(retired.code, retired.stderr).toBe(0);
    expect(json(retired).walked).toEqual(expect.arrayContaining([{ place: `sessions of namespace "${ns}" (prefix sss:${ns}:)`, records: 25, underKey: 0 }]));
    expect((await cli(['keys', 'destroy', oldKid, ...redis, ...k])).code).toBe(0);
  }, 60_000);

  it('MCP events sealed under the key block retire; rekey re-seals them', async () => {
    const k = await keyset('events');
    const ns = `${run}-mcp`;
    const created = await createSessionStore({ adapter: 'redis', url: REDIS_URL, namespace: ns, keyset: { path: k[1]!, insecureCleartext: true } });
    const eventsBackend = new RedisStore({ client, prefix: `sss:${ns}-events:` });
    const log = new McpEventLog({ backend: eventsBackend, keyring: created.keyring, namespace: `${ns}:events` });
    try {
      await registerEventsNamespace(created.store, eventsBackend, `${ns}:events`, Date.now());
      const events = log.forSession('a-session-id-for-events', Date.now() + 3_600_000);
      for (let i = 0; i < 6; i++) await events.storeEvent('stream-1', { jsonrpc: '2.0', method: 'notifications/progress', params: { i } });
    } finally {
      await created.close();
    }
    const oldKid = encryptKid(await cli(['keys', 'list', ...k, '--json']), 'primary');
    expect((await cli(['keys', 'rotate', 'encrypt', ...k])).code).toBe(0);
    const redis = ['--redis', REDIS_URL];

    const refused = await cli(['keys', 'retire', oldKid, ...redis, ...k]);
    expect(refused.code, refused.stderr).toBe(1);
    // 6 events and their counter record.
    expect(refused.stderr).toContain(`7 in MCP events of namespace "${ns}:events" (prefix sss:${ns}-events:)`);

    const rekey = await cli(['rekey', ...redis, ...k, '--json']);
    expect(rekey.code, rekey.stderr).toBe(0);
    expect(json(rekey)).toMatchObject({ done: true, resealed: 7, failed: 0 });
    expect(json(rekey).places).toContain(`MCP events of namespace "${ns}:events" (prefix sss:${ns}-events:)`);
    expect((await cli(['keys', 'retire', oldKid, ...redis, ...k])).code).toBe(0);
  }, 60_000);

  it('refuses when the walk opened nothing: the namespace or prefix probably differs from the app', async () => {
    const k = await keyset('empty');
    const oldKid = encryptKid(await cli(['keys', 'list', ...k, '--json']), 'primary');
    expect((await cli(['keys', 'rotate', 'encrypt', ...k])).code).toBe(0);
    const run1 = await cli(['keys', 'retire', oldKid, '--redis', REDIS_URL, '--prefix', `sss:${run}-nothing:`, ...k]);
    expect(run1.code).toBe(1);
    expect(run1.stderr).toMatch(/the walk opened nothing/);
    expect(run1.stderr).toMatch(/namespace or prefix probably differs/);
  }, 60_000);
});

describe('with no store configured', () => {
  it('retire / destroy of an encrypt key, usage and rekey exit 2 with a clear message', async () => {
    const k = await keyset('nostore');
    const oldKid = encryptKid(await cli(['keys', 'list', ...k, '--json']), 'primary');
    expect((await cli(['keys', 'rotate', 'encrypt', ...k])).code).toBe(0);
    const retire = await cli(['keys', 'retire', oldKid, ...k]);
    expect(retire.code).toBe(2);
    expect(retire.stderr).toMatch(/refusing to retire encrypt key .*no store is configured/);
    expect((await cli(['keys', 'retire', oldKid, '--force', ...k])).code).toBe(0);
    const destroy = await cli(['keys', 'destroy', oldKid, ...k]);
    expect(destroy.code).toBe(2);
    expect(destroy.stderr).toMatch(/refusing to destroy encrypt key .*no store is configured/);
    for (const cmd of ['usage', 'rekey']) {
      const r = await cli([cmd, ...k]);
      expect(r.code, cmd).toBe(2);
      expect(r.stderr).toMatch(/no store is configured/);
    }
  });
});

/** runCli with a clock that moves `stepMs` on every reading (no sleeping). */
async function cliWithClock(args: string[], stepMs: number): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  let t = 1_700_000_000_000;
  const code = await runCli(args, {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    env: cleanEnv(),
    cwd: ROOT,
    isTTY: false,
    now: () => (t += stepMs),
  });
  return { code, stdout, stderr };
}

describe.skipIf(skip !== undefined)('rekey output without a terminal', () => {
  it('short, time-based lines with no session id or cursor; a keyset mismatch is reported once', async () => {
    const k = await keyset('output');
    const ns = `${run}-out`;
    const ids = await appSessions(k, ns, 60);
    expect((await cli(['keys', 'rotate', 'encrypt', ...k])).code).toBe(0);
    const args = ['rekey', '--redis', REDIS_URL, '--namespace', ns, ...k, '--batch-size', '5', '--progress-interval', '10', '--state-dir', join(dir, 'state')];
    const r = await cliWithClock(args, 1000);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.trim().split('\n');
    const progress = lines.filter((l) => /^rekey: \d+\/60/.test(l));
    // 12 pages, the clock moving 1 s per reading: a line every 10 s, not one per page.
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.length).toBeLessThan(12);
    for (const l of lines) expect(l.length).toBeLessThan(160);
    for (const id of ids) expect(r.stderr + r.stdout).not.toContain(id);
    expect(r.stderr).not.toMatch(/cursor/);

    // Another keyset over the same store: every session fails the same way, said once.
    const other = await keyset('output-other');
    const wrong = await cliWithClock(['rekey', '--redis', REDIS_URL, '--namespace', ns, ...other, '--batch-size', '5', '--json'], 1000);
    expect(wrong.code).toBe(1);
    expect(json(wrong)).toMatchObject({ failed: 60, resealed: 0 });
    expect(wrong.stderr.match(/do not open/g)).toHaveLength(1);
    expect(wrong.stderr).toMatch(/\(unknown_key\)/);
  }, 60_000);

  it('an aborted run prints a short handle; the resumed run shows a total it reaches', async () => {
    const k = await keyset('resume');
    const ns = `${run}-resume`;
    await appSessions(k, ns, 40);
    expect((await cli(['keys', 'rotate', 'encrypt', ...k])).code).toBe(0);
    const state = join(dir, 'resume-state');
    const base = ['rekey', '--redis', REDIS_URL, '--namespace', ns, ...k, '--batch-size', '10', '--concurrency', '1', '--state-dir', state];
    // Abort after the first page: the progress line is written once the first page is done.
    const controller = new AbortController();
    let stdout = '';
    let stderr = '';
    let t = 0;
    const code = await runCli(base, {
      stdout: (s) => void (stdout += s),
      stderr: (s) => {
        stderr += s;
        if (/^rekey: \d+\/40/m.test(stderr)) controller.abort();
      },
      env: cleanEnv(),
      cwd: ROOT,
      isTTY: false,
      signal: controller.signal,
      now: () => (t += 20_000),
    });
    expect(code, stderr).toBe(1);
    const handle = /--cursor (\S+)$/m.exec(stdout)?.[1];
    expect(handle).toMatch(/^[A-Za-z0-9_-]{8}$/);
    const resumed = await cli([...base, '--cursor', handle!, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const doc = json(resumed);
    expect(doc).toMatchObject({ done: true, total: 40, resealed: 40, failed: 0 });
    expect(doc.scanned).toBeGreaterThanOrEqual(40);
    expect(resumed.stderr).toMatch(/40 record\(s\); resuming at \d+/);
    // The state file is gone once the walk completes: the handle does not resume twice.
    const again = await cli([...base, '--cursor', handle!]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/no saved re-key walk/);
  }, 60_000);
});

describe.skipIf(skipPg !== undefined)('PostgreSQL: MCP events in another table of the same database', () => {
  it('are found through the registry in the session table, block retire, and are re-sealed by rekey', async () => {
    const schema = `clisafety_${uniqueSuffix().replace(/[^a-z0-9]/gi, '').toLowerCase()}`;
    const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
    await admin.query(`CREATE SCHEMA "${schema}"`);
    try {
      const k = await keyset('pg');
      const ns = 'pg-app';
      const created = await createSessionStore({ adapter: 'postgres', url: DATABASE_URL, table: `${schema}.sessions`, migrate: true, namespace: ns, keyset: { path: k[1]!, insecureCleartext: true } });
      const eventsBackend = new PostgresStore({ pool: admin, table: `${schema}.events` });
      await eventsBackend.migrate();
      try {
        await created.store.for(owner).create({ a: 1 });
        await registerEventsNamespace(created.store, eventsBackend, `${ns}:events`, Date.now());
        const log = new McpEventLog({ backend: eventsBackend, keyring: created.keyring, namespace: `${ns}:events` });
        const events = log.forSession('pg-session-for-events', Date.now() + 3_600_000);
        for (let i = 0; i < 3; i++) await events.storeEvent('s', { jsonrpc: '2.0', method: 'notifications/progress', params: { i } });
      } finally {
        await created.close();
      }
      const oldKid = encryptKid(await cli(['keys', 'list', ...k, '--json']), 'primary');
      expect((await cli(['keys', 'rotate', 'encrypt', ...k])).code).toBe(0);
      const args = ['--postgres', DATABASE_URL, '--table', `${schema}.sessions`, ...k];
      const refused = await cli(['keys', 'retire', oldKid, ...args]);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toContain(`4 in MCP events of namespace "${ns}:events" (table ${schema}.events)`);
      // Not told the namespace: the one recorded for this table is the application's.
      expect(refused.stderr).toContain(`1 in sessions of namespace "${ns}" (table ${schema}.sessions)`);
      const rekey = await cli(['rekey', ...args, '--json']);
      expect(rekey.code, rekey.stderr).toBe(0);
      expect(json(rekey)).toMatchObject({ done: true, resealed: 5, failed: 0 });
      expect((await cli(['keys', 'retire', oldKid, ...args])).code).toBe(0);
    } finally {
      await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
      await admin.end();
    }
  }, 60_000);
});

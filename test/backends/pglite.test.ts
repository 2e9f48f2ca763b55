/**
 * PgliteStore: the shared SQL on embedded PGlite (one instance shared by the file, a fresh table
 * per store), plus what only PGlite has: the data-directory lock (refusing a second process,
 * taking over a stale lock) and sessions surviving close + reopen.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConflictError, InvalidInputError } from 'sealed-session-store';
import { DataDirLockedError, LOCK_FILE, PgliteStore } from 'sealed-session-store/pglite';
import { parseTableName } from '../../src/backends/sql.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgliteFixture as fx } from '../support/fixtures/pglite.js';

const skip = await fx.skipReason();
const T0 = 1_700_000_000_000;

function clock(start = T0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

/** Runs the open-worker in another process and resolves what it printed. */
function openFromChild(dataDir: string): Promise<{ opened: boolean; name?: string; code?: string; pid?: number }> {
  const worker = fileURLToPath(new URL('./workers/pglite-open-worker.ts', import.meta.url));
  const cwd = fileURLToPath(new URL('../..', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['tsx', worker, dataDir], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', () => {
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error(`worker printed ${out} ${err}`));
      }
    });
  });
}

describe.skipIf(skip !== undefined)('PgliteStore (embedded PGlite)', () => {
  // PGlite takes seconds to start (more on a loaded CI machine): open it once, outside any test's timeout.
  beforeAll(() => fx.anchor().then(() => undefined), 120_000);
  afterAll(() => fx.cleanup());

  describe('the shared SQL on one PGlite instance', () => {
    it('round-trips JSON (with __proto__ as data) and bytes exactly', async () => {
      const c = clock();
      const store = await fx.create(c);
      const state = JSON.parse('{"__proto__":{"polluted":true},"s":"h\\u00e9llo \\ud83d\\ude00","n":[1.5,1e21,5e-324],"o":{"b":[true,null]}}') as Record<string, never>;
      await store.save('json', state);
      const back = await store.load('json');
      expect(back).toEqual(state);
      expect(Object.keys(back)).toContain('__proto__');
      expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
      const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
      const version = await store.saveRecord('bytes', bytes, { expiresAt: c.now() + 1000 });
      const rec = await store.loadRecord('bytes');
      expect(rec?.version).toBe(version);
      expect(rec?.value).toBeInstanceOf(Uint8Array);
      expect([...(rec!.value as Uint8Array)]).toEqual([...bytes]);
      await store.saveRecord('empty', new Uint8Array(0), { expiresAt: c.now() + 1000 });
      expect(((await store.loadRecord('empty'))!.value as Uint8Array).length).toBe(0);
      await expect(store.save('nul', { s: 'a\u0000b' })).rejects.toBeInstanceOf(InvalidInputError);
      await store.close();
    });

    it('compare-and-swap: conflicts, no resurrection, no ABA', async () => {
      const c = clock();
      const store = await fx.create(c);
      const exp = { expiresAt: c.now() + 10_000 };
      const v1 = await store.saveRecord('k', { n: 1 }, { ...exp, ifAbsent: true });
      await expect(store.saveRecord('k', { n: 9 }, { ...exp, ifAbsent: true })).rejects.toBeInstanceOf(ConflictError);
      const v2 = await store.saveRecord('k', { n: 2 }, { ...exp, ifVersion: v1 });
      await expect(store.saveRecord('k', { n: 9 }, { ...exp, ifVersion: v1 })).rejects.toBeInstanceOf(ConflictError);
      await expect(store.deleteRecord('k', { ifVersion: v1 })).rejects.toBeInstanceOf(ConflictError);
      expect(await store.deleteRecord('k', { ifVersion: v2 })).toBe(true);
      await expect(store.saveRecord('k', { n: 9 }, { ...exp, ifVersion: v2 })).rejects.toBeInstanceOf(ConflictError);
      expect(await store.loadRecord('k')).toBeUndefined();
      await store.saveRecord('k', { n: 3 }, { ...exp, ifAbsent: true });
      await expect(store.saveRecord('k', { n: 9 }, { ...exp, ifVersion: v2 })).rejects.toBeInstanceOf(ConflictError);
      // 50 concurrent updates of one id from this process: none lost
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.update('k', { [`f${i}`]: i })));
      expect(Object.keys(await store.load('k')).length).toBe(51);
      await store.close();
    });

    it('cleanupExpired deletes in batches and returns the true count; listActive pages 20k rows by id', async () => {
      const c = clock();
      const store = await fx.createWith(c, { cleanupBatchSize: 500 });
      const t = parseTableName(store.table).quoted;
      await store.db.query(
        `INSERT INTO ${t} (id, value_json, version, expires_at)
         SELECT 'a' || lpad(g::text, 6, '0'), jsonb_build_object('n', g), md5(g::text),
                CASE WHEN g % 10 = 0 THEN $1::bigint ELSE $1::bigint + 60000 END
         FROM generate_series(1, 20000) g`,
        [c.now()],
      );
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listActive({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
        seen.push(...page.ids);
        cursor = page.cursor;
      } while (cursor !== undefined);
      expect(seen.length).toBe(18_000);
      expect(new Set(seen).size).toBe(18_000);
      expect(seen.every((id, i) => i === 0 || seen[i - 1]! < id)).toBe(true);
      expect(await store.cleanupExpired()).toBe(2000);
      expect(await store.cleanupExpired()).toBe(0);
      await store.close();
    });

    it('close() of a store over a shared instance leaves the instance open', async () => {
      const a = await fx.create(clock());
      await a.close();
      const anchor = await fx.anchor();
      expect(anchor.db.closed).toBe(false);
      expect((await anchor.db.query<{ one: number }>('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
    });
  });

  describe('the data directory', () => {
    it('is locked while open: a second process and a second open here are refused; sessions survive close + reopen; a stale lock is taken over', { timeout: 60_000 }, async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'sss-pglite-persist-'));
      const lockPath = join(dataDir, LOCK_FILE);
      try {
        const c = clock(Date.now());
        const first = await PgliteStore.open({ dataDir, table: 'app.sessions', now: c.now, migrate: false }).catch((e: unknown) => e);
        // schema "app" does not exist: migrate reports it, typed
        expect(first).toBeInstanceOf(PgliteStore);
        await expect((first as PgliteStore).migrate()).rejects.toMatchObject({ code: 'backend_unavailable' });
        await (first as PgliteStore).close();
        expect(existsSync(lockPath)).toBe(false);

        const store = await PgliteStore.open({ dataDir, now: c.now, migrate: true });
        const lock = JSON.parse(await readFile(lockPath, 'utf8')) as { pid: number };
        expect(lock.pid).toBe(process.pid);

        // another process is refused, fast and typed (before it ever loads PGlite)
        const child = await openFromChild(dataDir);
        expect(child).toMatchObject({ opened: false, name: 'DataDirLockedError', code: 'backend_unavailable', pid: process.pid });
        // and so is a second open in this process
        const again = await PgliteStore.open({ dataDir }).catch((e: unknown) => e);
        expect(again).toBeInstanceOf(DataDirLockedError);

        await store.save('keep', { user: 'ada', n: 1 }, { ttlMs: 3_600_000 });
        await store.saveRecord('sealed', new Uint8Array([1, 2, 3, 254, 255]), { expiresAt: c.now() + 3_600_000 });
        await store.close();
        expect(existsSync(lockPath)).toBe(false);

        // a lock left by a process that died (its pid is gone) is stale: taken over
        const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
        await writeFile(lockPath, JSON.stringify({ pid: Number(dead.stdout), host: hostname(), token: 'stale' }));
        const started = Date.now();
        const reopened = await PgliteStore.open({ dataDir, now: c.now });
        console.info(`[pglite] reopen of an existing data directory: ${Date.now() - started} ms`);
        expect(JSON.parse(await readFile(lockPath, 'utf8'))).toMatchObject({ pid: process.pid });
        expect(await reopened.load('keep')).toEqual({ user: 'ada', n: 1 });
        expect([...((await reopened.loadRecord('sealed'))!.value as Uint8Array)]).toEqual([1, 2, 3, 254, 255]);
        await reopened.close();

        // a lock held by a live process is never taken over
        await writeFile(lockPath, JSON.stringify({ pid: process.ppid, host: hostname(), token: 'live' }));
        await expect(PgliteStore.open({ dataDir })).rejects.toMatchObject({ name: 'DataDirLockedError', pid: process.ppid });
        // nor one that cannot be read
        await writeFile(lockPath, 'garbage');
        await expect(PgliteStore.open({ dataDir })).rejects.toBeInstanceOf(DataDirLockedError);
        expect(await readFile(lockPath, 'utf8')).toBe('garbage');
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    });
  });
});

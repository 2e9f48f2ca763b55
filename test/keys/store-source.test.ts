/**
 * The store-held keyset (`Keyring.fromStore`, `StoreKeysetSource`) over every backend: created once
 * with ifAbsent, wrapped at rest, shared by two keyrings ("processes": a second connection where
 * the backend has one), rotations by compare-and-swap that never lose a key, changes picked up by
 * polling, and a vanished record that no process re-creates.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Keyring, type RecordStore, passphraseProvider } from 'sealed-session-store';
import { type KeysetSlotStore, StoreKeysetSource } from 'sealed-session-store/kit';
import { fixtures } from '../support/fixtures/index.js';
import { postgresFixture } from '../support/fixtures/postgres.js';

const PASS = 'correct horse battery staple, store-held';
const provider = () => passphraseProvider(PASS, { logN: 10, unsafeLowCost: true });

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

/** Resolves at the next change of `ring` (no fixed sleep: the poll drives it). */
const nextChange = (ring: Keyring) =>
  new Promise<void>((resolve) => {
    const off = ring.onChange(() => {
      off();
      resolve();
    });
  });

const kids = (ring: Keyring) => ring.list().map((k) => `${k.kid}:${k.status}`).sort();

for (const fixture of fixtures) {
  const skip = await fixture.skipReason();
  describe.skipIf(skip !== undefined)(`store-held keyset: ${fixture.name}`, { timeout: 90_000 }, () => {
    const open: RecordStore[] = [];
    const stops: (() => void)[] = [];
    const ctx = { now: Date.now };
    const pair = async (): Promise<[KeysetSlotStore, KeysetSlotStore]> => {
      const a = await fixture.create(ctx);
      const b = (await fixture.connectAgain?.(a, ctx)) ?? a;
      open.push(a, b);
      return [a as unknown as KeysetSlotStore, b as unknown as KeysetSlotStore];
    };
    afterEach(async () => {
      for (const stop of stops.splice(0)) stop();
      for (const s of open.splice(0).reverse()) await s.close().catch(() => {});
    });
    afterAll(() => fixture.cleanup());

    it('is created once with ifAbsent, wrapped at rest, and opened by another process', async () => {
      const [a, b] = await pair();
      expect(await code(Keyring.fromStore(a, { provider: provider() }))).toBe('key_state');
      await expect(Keyring.fromStore(a, { provider: provider() })).rejects.toThrow(/keys generate --keyset-in-store/);
      const ringA = await Keyring.fromStore(a, { provider: provider(), createIfMissing: true });
      const stored = (await a.loadKeysetText())!;
      expect(JSON.parse(stored.text)).toMatchObject({ format: 'sealed-session-store.keyset', provider: provider().name });
      for (const jwk of ringA.insecureExportCleartextJwks().keys) expect(stored.text).not.toContain(jwk.k);
      // A second createIfMissing finds it and opens it: never a second keyset.
      const ringB = await Keyring.fromStore(b, { provider: provider(), createIfMissing: true });
      expect(kids(ringB)).toEqual(kids(ringA));
      expect((await a.loadKeysetText())!.version).toBe(stored.version);
      // The wrong KEK opens nothing.
      const wrong = passphraseProvider('not the passphrase at all, no', { logN: 10, unsafeLowCost: true });
      expect(await code(Keyring.fromStore(b, { provider: wrong }))).toBe('integrity');
      // Cleartext at rest only by name.
      expect(await code(Keyring.fromStore(b, { insecureCleartext: true }))).toBe('key_state');
    });

    it('a rotation in one keyring reaches the other by polling', async () => {
      const [a, b] = await pair();
      const ringA = await Keyring.fromStore(a, { provider: provider(), createIfMissing: true });
      const ringB = await Keyring.fromStore(b, { provider: provider() });
      const errors: unknown[] = [];
      stops.push(ringB.watch({ intervalMs: 20, onError: (e) => errors.push(e) }));
      const changed = nextChange(ringB);
      const info = await ringA.transaction((m) => m.rotate('encrypt'));
      await changed;
      expect(ringB.primary('encrypt').kid).toBe(info.kid);
      expect(kids(ringB)).toEqual(kids(ringA));
      expect(errors).toEqual([]);
    });

    it('two rotations at once (two keyrings, compare-and-swap): both keys survive', async () => {
      const [a, b] = await pair();
      const ringA = await Keyring.fromStore(a, { provider: provider(), createIfMissing: true });
      const ringB = await Keyring.fromStore(b, { provider: provider() });
      const [x, y] = await Promise.all([ringA.transaction((m) => m.rotate('encrypt')), ringB.transaction((m) => m.rotate('encrypt'))]);
      await ringA.reload();
      await ringB.reload();
      const all = ringA.list().map((k) => k.kid);
      expect(all).toContain(x.kid);
      expect(all).toContain(y.kid);
      expect(kids(ringB)).toEqual(kids(ringA));
    });

    it('a vanished keyset: the process keeps its ring, reports it, and never re-creates it', async () => {
      const [a, b] = await pair();
      const ringA = await Keyring.fromStore(a, { provider: provider(), createIfMissing: true });
      const ringB = await Keyring.fromStore(b, { provider: provider(), createIfMissing: true });
      const before = kids(ringB);
      const reported = new Promise<unknown>((resolve) => stops.push(ringB.watch({ intervalMs: 20, onError: resolve })));
      expect(await a.deleteKeysetText()).toBe(true);
      const err = (await reported) as { code?: string; message: string };
      expect(err.code).toBe('key_state');
      expect(err.message).toMatch(/vanished/);
      expect(kids(ringB)).toEqual(before);
      expect(ringB.primary('encrypt').kid).toBeDefined();
      // Neither a rotation nor the createIfMissing these processes started with re-creates it.
      expect(await code(ringA.transaction((m) => m.rotate('encrypt')))).toBe('key_state');
      expect(await code(ringB.transaction((m) => m.rotate('encrypt')))).toBe('key_state');
      expect(await a.loadKeysetText()).toBeUndefined();
    });

    it.runIf(fixture.name === 'postgres')('a table of schema revision 2 (no keyset table): says to migrate', async () => {
      const [a] = await pair();
      const table = (a as unknown as { table: string }).table;
      const [schema, name] = table.split('.');
      await postgresFixture.pool().query(`DROP TABLE "${schema}"."${name}_keyset"`);
      await expect(a.loadKeysetText()).rejects.toMatchObject({ code: 'backend_unavailable', message: expect.stringMatching(/keyset table .* migrate\(\)/) });
      await expect(Keyring.fromStore(a, { provider: provider(), createIfMissing: true })).rejects.toMatchObject({ code: 'backend_unavailable' });
    });

    it('a transaction that keeps losing the race gives up with key_state, writing nothing', async () => {
      const [a] = await pair();
      await Keyring.fromStore(a, { provider: provider(), createIfMissing: true });
      const source = new StoreKeysetSource(a, { provider: provider(), maxAttempts: 2 });
      let runs = 0;
      const err = await code(
        source.transaction(async (current) => {
          runs++;
          // Someone else writes between our read and our write, every time.
          const now = (await a.loadKeysetText())!;
          await a.saveKeysetText(now.text, { ifVersion: now.version });
          return current!;
        }),
      );
      expect(err).toBe('key_state');
      expect(runs).toBe(2);
    });
  });
}

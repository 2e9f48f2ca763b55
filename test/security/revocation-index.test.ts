/**
 * "Log out everywhere" that a backend writer cannot undo quietly, over every backend: `revokeOwner`
 * deletes the revoked sessions (found through the per-subject index), so deleting the revocation
 * mark or rolling it back to an older copy (a backup, a replica) revives nothing; and
 * `for(owner).listActive` lists exactly that owner's live sessions through the same index, a page
 * at a time, without opening anyone else's records.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Keyring, MemoryStore, type RecordStore, secureStore } from 'sealed-session-store';
import { RESERVED_PREFIX, adaptSessionStoreSingleProcess } from 'sealed-session-store/kit';
import { createFakeClock, expectCode } from 'sealed-session-store/testing';
import { subjectHashesFor } from '../../src/layers/revocations.js';
import { fixtures } from '../support/fixtures/index.js';

const MINUTE = 60_000;
const web = { subject: 'alice', clientId: 'web' };
const cli = { subject: 'alice', clientId: 'cli' };
const bob = { subject: 'bob' };

async function setup(create: (ctx: { now: () => number }) => Promise<RecordStore>) {
  const clock = createFakeClock(Date.UTC(2030, 0, 1));
  const backend = await create({ now: clock.now });
  const keyring = Keyring.generate({ now: clock.now });
  // No mark cache: every check reads what the backend holds, as a freshly started process would.
  const make = () => secureStore(backend, { keyring, now: clock.now, revocationCacheMs: 0 });
  return { clock, backend, keyring, make, store: make() };
}

const markIds = (keyring: Keyring, subject: string) => subjectHashesFor(keyring, subject).map((h) => `${RESERVED_PREFIX}rv.${h}`);

async function walk(list: (o: { limit: number; cursor?: string }) => Promise<{ ids: string[]; cursor?: string }>, limit: number) {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const res = await list(cursor === undefined ? { limit } : { limit, cursor });
    expect(res.ids.length).toBeLessThanOrEqual(limit);
    ids.push(...res.ids);
    if (res.cursor === undefined) return ids;
    cursor = res.cursor;
  }
  throw new Error('listing never ended');
}

for (const fixture of fixtures) {
  const skip = await fixture.skipReason();
  afterAll(() => fixture.cleanup());
  const create = (ctx: { now: () => number }) => fixture.create(ctx);

  describe.skipIf(skip !== undefined)(`revocation through the subject index (${fixture.name})`, () => {
    it('revokeOwner deletes the subject’s sessions: deleting the mark afterwards revives none', async () => {
      const { clock, backend, keyring, make, store } = await setup(create);
      const a1 = await store.for(web).create({ n: 1 }, { ttlMs: 60 * MINUTE });
      const a2 = await store.for(cli).create({ n: 2 }, { ttlMs: 60 * MINUTE });
      const b1 = await store.for(bob).create({ n: 3 }, { ttlMs: 60 * MINUTE });
      clock.advance(1);
      expect(await store.revokeOwner('alice')).toBe(2);
      expect(await backend.loadRecord(a1)).toBeUndefined();
      expect(await backend.loadRecord(a2)).toBeUndefined();

      // The attacker restores the world before the revocation: no mark at all.
      for (const mark of markIds(keyring, 'alice')) await backend.deleteRecord(mark);
      const fresh = make();
      await expectCode(fresh.for(web).load(a1), 'not_found');
      await expectCode(fresh.for(cli).load(a2), 'not_found');
      expect(await fresh.for(bob).load(b1)).toEqual({ n: 3 });
      // Alice signs in again afterwards: her new session is not revoked.
      const again = await fresh.for(web).create({ n: 4 });
      expect(await fresh.for(web).load(again)).toEqual({ n: 4 });
    });

    it('rolling the mark back to an older copy (a backup) revives nothing revoked since', async () => {
      const { clock, backend, keyring, make, store } = await setup(create);
      await store.for(web).create({ n: 1 }, { ttlMs: 60 * MINUTE });
      clock.advance(1);
      await store.revokeOwner('alice');
      const [mark] = markIds(keyring, 'alice');
      const old = (await backend.loadRecord(mark!))!;
      clock.advance(1_000);
      const later = await store.for(web).create({ n: 2 }, { ttlMs: 60 * MINUTE });
      clock.advance(1);
      expect(await store.revokeOwner('alice')).toBe(1);
      const cur = (await backend.loadRecord(mark!))!;
      await backend.saveRecord(mark!, old.value, { expiresAt: old.expiresAt, ifVersion: cur.version });
      await expectCode(make().for(web).load(later), 'not_found');
    });

    it('a session whose backend expiry was moved into the past is still found and deleted', async () => {
      const { clock, backend, make, store } = await setup(create);
      const id = await store.for(web).create({ n: 1 }, { ttlMs: 60 * MINUTE });
      const rec = (await backend.loadRecord(id))!;
      // The backend's expiry is only a hint: hiding the session from listings must not hide it from revokeOwner.
      await backend.saveRecord(id, rec.value, { expiresAt: clock.now() - 1, ifVersion: rec.version });
      clock.advance(1);
      expect(await store.revokeOwner('alice')).toBe(1);
      expect(await backend.loadRecord(id)).toBeUndefined();
      await expectCode(make().for(web).load(id), 'not_found');
    });

    it('an index entry forged by a backend writer makes revokeOwner delete nobody else', async () => {
      const { clock, backend, keyring, store } = await setup(create);
      const b1 = await store.for(bob).create({ n: 1 }, { ttlMs: 60 * MINUTE });
      const rec = (await backend.loadRecord(b1))!;
      const [aliceIndex] = subjectHashesFor(keyring, 'alice');
      await backend.saveRecord(b1, rec.value, { expiresAt: rec.expiresAt, ifVersion: rec.version, index: aliceIndex! });
      clock.advance(1);
      expect(await store.revokeOwner('alice')).toBe(0);
      expect(await store.for(bob).load(b1)).toEqual({ n: 1 });
    });

    it('the index holds a keyed hash of the subject, never the subject', async () => {
      const { backend, keyring, store } = await setup(create);
      const id = await store.for(web).create({ n: 1 });
      const indexed = backend as RecordStore & { listByIndex(index: string): Promise<{ ids: string[] }> };
      expect(typeof indexed.listByIndex).toBe('function');
      expect((await indexed.listByIndex(subjectHashesFor(keyring, 'alice')[0]!)).ids).toEqual([id]);
      for (const guess of ['alice', 'web', Buffer.from('alice').toString('base64url')]) expect((await indexed.listByIndex(guess)).ids).toEqual([]);
    });

    it('for(owner).listActive lists exactly that owner’s live sessions, paged, opening no one else’s', async () => {
      const { clock, backend, store } = await setup(create);
      const mine = new Set<string>();
      for (let i = 0; i < 7; i++) mine.add(await store.for(web).create({ i }, { ttlMs: 60 * MINUTE }));
      const cliIds: string[] = [];
      for (let i = 0; i < 2; i++) cliIds.push(await store.for(cli).create({ i }, { ttlMs: 60 * MINUTE }));
      const bobIds: string[] = [];
      for (let i = 0; i < 3; i++) bobIds.push(await store.for(bob).create({ i }, { ttlMs: 60 * MINUTE }));
      const expiring = await store.for(web).create({ x: 1 }, { ttlMs: 1_000 });
      const deleted = await store.for(web).create({ x: 2 }, { ttlMs: 60 * MINUTE });
      await store.for(web).delete(deleted);
      clock.advance(2_000);

      const opened = new Set<string>();
      const load = backend.loadRecord.bind(backend);
      backend.loadRecord = async (id) => {
        opened.add(id);
        return load(id);
      };
      const listed = await walk((o) => store.for(web).listActive(o), 3);
      expect(new Set(listed).size).toBe(listed.length);
      expect([...listed].sort()).toEqual([...mine].sort());
      // Alice's other client shares her subject index (opened, refused by the owner check); Bob's are never opened.
      for (const id of bobIds) expect(opened.has(id)).toBe(false);
      expect(opened.has(expiring)).toBe(true); // filed under alice: opened, found expired, not listed

      // "Sign out other devices": the owner deletes every session but the current one.
      const [current, ...rest] = listed;
      for (const id of rest) await store.for(web).delete(id);
      expect((await store.for(web).listActive()).ids).toEqual([current]);
      expect((await walk((o) => store.for(cli).listActive(o), 1)).sort()).toEqual([...cliIds].sort());
    });

    it('after a hash key rotation, sessions bound under either key are listed and revoked', async () => {
      const { clock, backend, store } = await setup(create);
      const before = await store.for(web).create({ n: 1 }, { ttlMs: 60 * MINUTE });
      await store.rotateKey('hash');
      const after = await store.for(web).create({ n: 2 }, { ttlMs: 60 * MINUTE });
      expect((await walk((o) => store.for(web).listActive(o), 1)).sort()).toEqual([before, after].sort());
      await expectCode(store.for(web).listActive({ cursor: 'o1.forged' }), 'invalid_input');
      clock.advance(1);
      expect(await store.revokeOwner('alice')).toBe(2);
      expect(await backend.loadRecord(before)).toBeUndefined();
      expect(await backend.loadRecord(after)).toBeUndefined();
    });
  });
}

describe('revocation without a per-index listing (the single-process adapter)', () => {
  it('revokeOwner walks the store and still deletes the subject’s sessions; listActive still lists only the owner’s', async () => {
    const { clock, backend, keyring, make, store } = await setup(async ({ now }) => adaptSessionStoreSingleProcess(new MemoryStore({ now }), { now }));
    expect(typeof (backend as { listByIndex?: unknown }).listByIndex).toBe('undefined');
    const a1 = await store.for(web).create({ n: 1 }, { ttlMs: 60 * MINUTE });
    const b1 = await store.for(bob).create({ n: 2 }, { ttlMs: 60 * MINUTE });
    expect((await store.for(web).listActive()).ids).toEqual([a1]);
    clock.advance(1);
    expect(await store.revokeOwner('alice')).toBe(1);
    for (const mark of markIds(keyring, 'alice')) await backend.deleteRecord(mark);
    await expectCode(make().for(web).load(a1), 'not_found');
    expect(await make().for(bob).load(b1)).toEqual({ n: 2 });
  });
});

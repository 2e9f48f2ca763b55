/** Ownership and the admin face beyond the suites: regenerate, hidden existence, scoped listing, audit, hash-key rotation. */
import { unsafeLayersOf } from '../../src/secure-store.js';
import { describe, expect, it } from 'vitest';
import { type AuditEvent, Keyring, MemoryStore, type StoredRecord, secureStore } from 'sealed-session-store';
import { createFakeClock, expectCode } from 'sealed-session-store/testing';
import { KnownRecords } from '../../src/layers/known-records.js';

const alice = { subject: 'alice' };
const bob = { subject: 'bob' };

function setup(options: { hideExistence?: boolean } = {}) {
  const clock = createFakeClock(Date.UTC(2030, 0, 1));
  const events: AuditEvent[] = [];
  const backend = new MemoryStore({ now: clock.now });
  const store = secureStore(backend, { keyring: Keyring.generate({ now: clock.now }), now: clock.now, onEvent: (e) => events.push(e), ...options });
  return { clock, events, backend, store };
}

describe('ownership', () => {
  it('regenerate moves the state to a new id and ends the old one', async () => {
    const { store } = setup();
    const a = store.for(alice);
    const id = await a.create({ role: 'user' }, { ttlMs: 60_000 });
    const next = await a.regenerate(id);
    expect(next).not.toBe(id);
    expect(await a.load(next)).toEqual({ role: 'user' });
    await expectCode(a.load(id), 'not_found');
  });

  it('hideExistence answers a stranger with not_found', async () => {
    const { store } = setup({ hideExistence: true });
    const id = await store.for(alice).create({ a: 1 });
    await expectCode(store.for(bob).load(id), 'not_found');
    await expectCode(store.for(bob).update(id, { a: 2 }), 'not_found');
  });

  it('a scoped store lists only its owner’s sessions; the admin lists all but its own records', async () => {
    const { store } = setup();
    const mine = [await store.for(alice).create({}), await store.for(alice).create({})];
    const theirs = await store.for(bob).create({});
    await store.revokeOwner('carol'); // writes an internal mark record
    const listed: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.for(alice).listActive(cursor === undefined ? { limit: 1 } : { limit: 1, cursor });
      listed.push(...page.ids);
      cursor = page.cursor;
    } while (cursor !== undefined);
    expect(listed.sort()).toEqual([...mine].sort());
    const all = (await store.listActive({ limit: 100 })).ids;
    expect(all.sort()).toEqual([...mine, theirs].sort());
  });

  it('session ids starting with the reserved prefix are refused', async () => {
    const { store } = setup();
    await expectCode(store.for(alice).save('~rv.x', { a: 1 }), 'invalid_input');
  });

  it('sessions bound under an older hash key keep working after rotation, and revocation covers them', async () => {
    const { store, clock } = setup();
    const old = await store.for(alice).create({ v: 1 });
    await store.rotateKey('hash');
    expect(await store.for(alice).load(old)).toEqual({ v: 1 });
    const fresh = await store.for(alice).create({ v: 2 });
    await expectCode(store.for(bob).load(old), 'owner_mismatch');
    clock.advance(1);
    expect(await store.revokeOwner('alice')).toBe(2);
    // Deleted, not merely marked: under either hash key.
    await expectCode(store.for(alice).load(old), 'not_found');
    await expectCode(store.for(alice).load(fresh), 'not_found');
  });

  it('audit events carry no session id, owner or state', async () => {
    const { store, events } = setup();
    const id = await store.for(alice).create({ secret: 's3cr3t' });
    await store.for(bob).load(id).catch(() => undefined);
    const token = store.issueToken(id, alice);
    await store.resume(token, bob).catch(() => undefined);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['owner_mismatch']));
    const text = JSON.stringify(events);
    for (const secret of [id, token, 'alice', 'bob', 's3cr3t']) expect(text).not.toContain(secret);
    expect(events.find((e) => e.session !== undefined)?.session).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('inspect opens a session for an administrator, with its kid and meta', async () => {
    const { store } = setup();
    const id = await store.for(alice).create({ a: 1 }, { ttlMs: 60_000 });
    const info = await store.inspect(id);
    expect(info.state).toEqual({ a: 1 });
    expect(info.kid).toBe(store.keyring.primary('encrypt').kid);
    expect(info.meta.owner).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('a sealed record whose meta is malformed (even one a key holder sealed) is one integrity error', async () => {
    const { store, clock } = setup();
    const id = await store.for(alice).create({ ok: true });
    const good = (await unsafeLayersOf(store).ttl.loadSealed(id))!.sealed;
    const t = clock.now();
    const hostile = [
      { ...good.meta, subject: ' ' }, // not a hash: would make an invalid revocation-mark id
      { ...good.meta, owner: 'short' },
      { ...good.meta, ownerKid: 'has space' },
      { ...good.meta, ttlMs: 0 },
      { ...good.meta, absoluteAt: 'soon' },
    ];
    for (const meta of hostile) {
      await unsafeLayersOf(store).encrypted.saveRecord(id, { meta, data: { ok: true } } as never, { expiresAt: t + 60_000 });
      await expectCode(store.for(alice).load(id), 'integrity');
    }
  });

  it('a save over a session this process knows writes on its version without reading it first', async () => {
    const clock = createFakeClock(Date.UTC(2030, 0, 1));
    let reads = 0;
    class CountingStore extends MemoryStore {
      override loadRecord(id: string): Promise<StoredRecord | undefined> {
        reads++;
        return super.loadRecord(id);
      }
    }
    const backend = new CountingStore({ now: clock.now });
    const keyring = Keyring.generate({ now: clock.now });
    const store = secureStore(backend, { keyring, now: clock.now });
    const id = await store.for(alice).create({ n: 0 });
    reads = 0;
    for (let n = 1; n <= 3; n++) await store.for(alice).save(id, { n });
    expect(reads).toBe(0);
    expect(await store.for(alice).load(id)).toEqual({ n: 3 });
    // Another process writes the session: the next save here finds its version stale, reads, and lands.
    const other = secureStore(backend, { keyring, now: clock.now });
    await other.for(alice).update(id, { by: 'other' });
    reads = 0;
    await store.for(alice).save(id, { n: 4 });
    expect(reads).toBe(1);
    expect(await other.for(alice).load(id)).toEqual({ n: 4 });
    // A stranger's save is refused from what is known, and from what is read alike.
    await expectCode(store.for(bob).save(id, { n: 5 }), 'owner_mismatch');
    expect(await store.for(alice).load(id)).toEqual({ n: 4 });
  });

  it('what the process knows of sessions is bounded: full, it starts over; a known id is updated in place', () => {
    const known = new KnownRecords(3);
    const meta = { v: 1, createdAt: 0, expiresAt: 10, absoluteAt: 5, ttlMs: 10 };
    for (const id of ['a', 'b', 'c']) known.set(id, `v-${id}`, meta, 10);
    expect(known.size).toBe(3);
    known.set('b', 'v-b2', meta, 10);
    expect(known.size).toBe(3);
    expect(known.get('b')).toEqual({ version: 'v-b2', meta, expiresAt: 5 }); // never past the absolute deadline
    known.set('d', 'v-d', meta, 10);
    expect(known.size).toBe(1);
    expect(known.get('a')).toBeUndefined();
    expect(known.get('d')?.version).toBe('v-d');
  });
});

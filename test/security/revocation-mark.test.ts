/**
 * Revocation marks carry their own deadline sealed, like sessions: an attacker with write access to
 * the backend who moves a mark's backend expiry into the past (the backend's expiry is only a hint
 * for space) does not bring the revoked sessions back.
 */
import { unsafeLayersOf } from '../../src/secure-store.js';
import { describe, expect, it } from 'vitest';
import { Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { RESERVED_PREFIX } from 'sealed-session-store/kit';
import { subjectHash } from '../../src/layers/owner-hash.js';
import { createFakeClock, expectCode } from 'sealed-session-store/testing';

const alice = { subject: 'alice' };
const MINUTE = 60_000;

function setup() {
  const clock = createFakeClock(Date.UTC(2030, 0, 1));
  const backend = new MemoryStore({ now: clock.now });
  const keyring = Keyring.generate({ now: clock.now });
  // No mark cache, so every check reads the mark the backend holds.
  const make = () => secureStore(backend, { keyring, now: clock.now, revocationCacheMs: 0 });
  return { clock, backend, keyring, make };
}

async function markIds(backend: MemoryStore): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await backend.listActive(cursor === undefined ? { limit: 1000 } : { limit: 1000, cursor });
    ids.push(...page.ids.filter((id) => id.startsWith(RESERVED_PREFIX)));
    cursor = page.cursor;
  } while (cursor !== undefined);
  return ids;
}

describe('revocation marks', () => {
  it('a mark whose backend expiry is backdated still kills the sessions it revoked', async () => {
    const { clock, backend, make } = setup();
    const store = make();
    const id = await store.for(alice).create({ a: 1 }, { ttlMs: 60 * MINUTE });
    const backup = (await backend.loadRecord(id))!;
    clock.advance(1);
    await store.revokeOwner('alice');
    await expectCode(store.for(alice).load(id), 'not_found');
    // revokeOwner deleted the session; the attacker restores it from a backup: the mark still kills it.
    await backend.saveRecord(id, backup.value, { expiresAt: backup.expiresAt, ifAbsent: true });
    await expectCode(store.for(alice).load(id), 'expired');

    const marks = await markIds(backend);
    expect(marks.length).toBeGreaterThan(0);
    for (const mark of marks) {
      const rec = (await backend.loadRecord(mark))!;
      await backend.saveRecord(mark, rec.value, { expiresAt: clock.now() - 1, ifVersion: rec.version });
    }
    await expectCode(store.for(alice).load(id), 'expired');
    const restarted = make();
    await expectCode(restarted.for(alice).load(id), 'expired');
    await expectCode(restarted.for(alice).update(id, { a: 2 }), 'expired');
  });

  it('a mark written before marks carried a sealed deadline still revokes, and the next revocation replaces it', async () => {
    const { clock, backend, keyring, make } = setup();
    const store = make();
    const id = await store.for(alice).create({ a: 1 }, { ttlMs: 60 * MINUTE });
    clock.advance(1);
    // The earlier shape: `{ nb }` sealed by the encrypting layer, its expiry the backend's.
    const mark = `${RESERVED_PREFIX}rv.${Buffer.from(subjectHash(keyring.primary('hash').key, 'alice')).toString('base64url')}`;
    await unsafeLayersOf(store).encrypted.saveRecord(mark, { nb: clock.now() }, { expiresAt: clock.now() + 60 * MINUTE });
    await expectCode(make().for(alice).load(id), 'expired');
    clock.advance(1);
    const fresh = await store.for(alice).create({ b: 1 }, { ttlMs: 60 * MINUTE });
    expect(await make().for(alice).load(fresh)).toEqual({ b: 1 });
    clock.advance(1);
    // Both sessions go: the one the old mark revoked and the one created since.
    expect(await store.revokeOwner('alice')).toBe(2);
    await expectCode(make().for(alice).load(fresh), 'not_found');
    expect((await unsafeLayersOf(store).ttl.loadSealed(mark))?.sealed.data).toEqual({ nb: clock.now() });
  });
});

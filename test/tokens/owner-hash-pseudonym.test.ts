/**
 * What SECURITY.md ("Session tokens") says the token's owner hash gives away: it is the very hash
 * sealed in the session's meta, the same for every session of one owner (a linkable pseudonym), and
 * while `unsafeAcceptPlaintext` is on, it is all a backend writer needs to plant a session that the
 * owner's scoped store accepts as theirs.
 */
import { describe, expect, it } from 'vitest';
import { Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { createFakeClock } from 'sealed-session-store/testing';

const alice = { subject: 'alice' };
const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { oh: string; ohk: string };

function setup(unsafeAcceptPlaintext: boolean) {
  const clock = createFakeClock(Date.UTC(2030, 0, 1));
  const backend = new MemoryStore({ now: clock.now });
  const store = secureStore(backend, { keyring: Keyring.generate({ now: clock.now }), now: clock.now, encryption: { unsafeAcceptPlaintext } });
  return { clock, backend, store };
}

describe('the owner hash in a token', () => {
  it('equals the sealed meta.owner, and is the same for every session of one owner', async () => {
    const { store } = setup(false);
    const a = await store.for(alice).create({});
    const b = await store.for(alice).create({});
    const ta = claims(store.issueToken(a, alice));
    const tb = claims(store.issueToken(b, alice));
    expect(ta.oh).toBe((await store.inspect(a)).meta.owner);
    expect(ta.oh).toBe(tb.oh);
    expect(claims(store.issueToken(a, { subject: 'alice', clientId: 'other-client' })).oh).not.toBe(ta.oh);
  });

  it('under unsafeAcceptPlaintext, lets a backend writer plant a session the owner accepts (and nothing without the option)', async () => {
    for (const unsafe of [true, false]) {
      const { clock, backend, store } = setup(unsafe);
      const mine = await store.for(alice).create({});
      const { oh, ohk } = claims(store.issueToken(mine, alice)); // e.g. read from a log or a proxy
      const now = clock.now();
      const planted = { meta: { v: 1, createdAt: now, expiresAt: now + 10 * 365 * 86_400_000, absoluteAt: now + 10 * 365 * 86_400_000, ttlMs: 60_000, owner: oh, ownerKid: ohk }, data: { role: 'admin' } };
      await backend.saveRecord('planted-by-db-writer', planted, { expiresAt: now + 60_000 });
      const load = store.for(alice).load('planted-by-db-writer');
      if (unsafe) await expect(load).resolves.toEqual({ role: 'admin' });
      else await expect(load).rejects.toMatchObject({ code: 'integrity' });
    }
  });
});

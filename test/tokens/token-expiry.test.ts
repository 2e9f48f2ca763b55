/**
 * A token's `exp` (SECURITY.md, "Session tokens"): the session's sealed absolute deadline whenever
 * the issuing store has seen the session, so a token issued late in a session's life does not
 * outlive it; now + the absolute lifetime otherwise. And what `verifyToken` alone does not check.
 */
import { describe, expect, it } from 'vitest';
import { Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { createFakeClock } from 'sealed-session-store/testing';
import { codeOf as code } from '../support/codes.js';

const HOUR = 3_600_000;
const alice = { subject: 'alice' };
const acode = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (err: { code?: string }) => err.code ?? `other: ${String(err)}`,
  );
const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number; iat: number; oh: string };

function setup() {
  const clock = createFakeClock(Date.UTC(2030, 0, 1));
  const keyring = Keyring.generate({ now: clock.now });
  const backend = new MemoryStore({ now: clock.now });
  const store = secureStore(backend, { keyring, now: clock.now });
  return { clock, keyring, backend, store };
}

describe('token exp', () => {
  it('is the session\'s absolute deadline when the store has seen the session, even issued hours later', async () => {
    const { clock, store } = setup();
    const created = clock.now();
    const id = await store.for(alice).create({ n: 1 });
    clock.advance(5 * HOUR);
    const token = store.issueToken(id, alice);
    const deadline = created + store.lifetimes.absoluteMs;
    expect(claims(token).exp).toBe(Math.floor(deadline / 1000));
    expect(store.verifyToken(token, alice).expiresAt).toBeLessThanOrEqual(deadline);
    // An explicit expiresAt past the deadline is cut to it; an earlier one is kept.
    expect(claims(store.issueToken(id, alice, { expiresAt: deadline + 10 * HOUR })).exp).toBe(Math.floor(deadline / 1000));
    expect(claims(store.issueToken(id, alice, { expiresAt: clock.now() + HOUR })).exp).toBe(Math.floor((clock.now() + HOUR) / 1000));
    // Past the deadline the session is over (or this process's view stale): the default applies again.
    clock.advance(8 * HOUR);
    expect(claims(store.issueToken(id, alice)).exp).toBe(Math.floor((clock.now() + store.lifetimes.absoluteMs) / 1000));
  });

  it('is now + the absolute lifetime for a session this process has not seen, until it sees it', async () => {
    const { clock, keyring, backend, store } = setup();
    const created = clock.now();
    const id = await store.for(alice).create({ n: 1 });
    clock.advance(10 * 60_000); // within the 30-minute idle window
    const other = secureStore(backend, { keyring, now: clock.now }); // another process: has seen nothing
    expect(claims(other.issueToken(id, alice)).exp).toBe(Math.floor((clock.now() + other.lifetimes.absoluteMs) / 1000));
    await other.for(alice).load(id);
    expect(claims(other.issueToken(id, alice)).exp).toBe(Math.floor((created + other.lifetimes.absoluteMs) / 1000));
  });

  it('refuses an expiresAt that is not an integer of epoch ms with invalid_input', () => {
    const { store } = setup();
    for (const expiresAt of [Number.NaN, 1.5, Infinity, '1' as unknown as number]) {
      expect(code(() => store.issueToken('session-1', alice, { expiresAt }))).toBe('invalid_input');
    }
  });
});

describe('verifyToken alone (documented: only resume and load check the session)', () => {
  it('accepts a token whose session is gone or whose owner was revoked; resume refuses both', async () => {
    const { clock, store } = setup();
    const id = await store.for(alice).create({ n: 1 });
    const token = store.issueToken(id, alice);
    clock.advance(1);
    await store.revokeOwner('alice');
    expect(store.verifyToken(token, alice).sessionId).toBe(id);
    expect(await acode(store.resume(token, alice))).toBe('not_found'); // revokeOwner deleted it
    await store.for(alice).delete(id);
    expect(store.verifyToken(token, alice).sessionId).toBe(id);
    expect(await acode(store.resume(token, alice))).toBe('not_found');
  });
});

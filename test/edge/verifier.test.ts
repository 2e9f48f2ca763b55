/**
 * The edge token check (`tokenVerifier` over `Keyring.insecureExportTokenKeys()`): it holds only
 * sign and hash keys, agrees with the store's own `verifyToken`, cannot see what lives in the store
 * (revocation, deletion), and follows a rotation once the new export reaches it. docs/edge.md.
 */
import { describe, expect, it } from 'vitest';
import { Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { tokenVerifier } from 'sealed-session-store/tokens';
import { codeOf } from '../support/codes.js';

async function rejection(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

const T0 = Date.UTC(2026, 0, 1);
const alice = { subject: 'alice' };

function setup() {
  let now = T0;
  const clock = () => now;
  const keyring = Keyring.generate({ now: clock });
  const store = secureStore(new MemoryStore({ now: clock }), { keyring, namespace: 'edge', now: clock });
  return { keyring, store, clock, advance: (ms: number) => (now += ms) };
}

describe('insecureExportTokenKeys', () => {
  it('exports the usable sign and hash keys and never an encrypt key', () => {
    const { keyring } = setup();
    keyring.rotate('sign');
    const old = keyring.list().find((k) => k.purpose === 'sign' && k.status === 'active')!;
    keyring.rotate('sign');
    keyring.retire(old.kid, { force: true });
    const exported = keyring.insecureExportTokenKeys();
    const purposes = exported.keys.map((k) => k.purpose);
    expect(purposes).not.toContain('encrypt');
    expect(new Set(purposes)).toEqual(new Set(['sign', 'hash']));
    // Only keys that still verify: the retired one stays home.
    expect(exported.keys.map((k) => k.kid)).not.toContain(old.kid);
    expect(exported.keys.every((k) => typeof k.k === 'string' && (k.status === 'primary' || k.status === 'active'))).toBe(true);
    const encryptKids = keyring.list().filter((k) => k.purpose === 'encrypt').map((k) => k.kid);
    expect(JSON.stringify(exported)).not.toContain(encryptKids[0]);
  });

  it('refuses to export from a keyring with no sign key (key_state)', () => {
    const ring = Keyring.insecureFromCleartextJwks({ keys: Keyring.generate().insecureExportCleartextJwks().keys.filter((k) => k.purpose !== 'sign') });
    expect(codeOf(() => ring.insecureExportTokenKeys())).toBe('key_state');
  });
});

describe('tokenVerifier', () => {
  it('gives the same verdicts as the store: valid, wrong owner, tampered, expired', async () => {
    const { keyring, store, clock, advance } = setup();
    const edge = tokenVerifier(JSON.stringify(keyring.insecureExportTokenKeys()), { now: clock });
    const id = await store.for(alice).create({ cart: [] });
    const token = store.issueToken(id, alice);
    expect(edge.verify(token, alice)).toEqual(store.verifyToken(token, alice));
    expect(edge.verify(token, alice).sessionId).toBe(id);
    expect(codeOf(() => edge.verify(token, { subject: 'mallory' }))).toBe('owner_mismatch');
    expect(codeOf(() => edge.verify(token, { subject: 'alice', clientId: 'other' }))).toBe('owner_mismatch');
    const [h, p, s] = token.split('.');
    const flipped = `${h}.${p}.${s!.startsWith('A') ? 'B' : 'A'}${s!.slice(1)}`;
    expect(codeOf(() => edge.verify(flipped, alice))).toBe('invalid_token');
    expect(codeOf(() => edge.verify('not a token', alice))).toBe('invalid_token');
    // A token signed by another keyring's keys (a forger without the sign key).
    const other = secureStore(new MemoryStore(), { keyring: Keyring.generate(), now: clock });
    expect(codeOf(() => edge.verify(other.issueToken(id, alice), alice))).toBe('invalid_token');
    advance(store.lifetimes.absoluteMs + 10_000);
    expect(codeOf(() => edge.verify(token, alice))).toBe('expired');
    expect(codeOf(() => store.verifyToken(token, alice))).toBe('expired');
  });

  it('does not see revocation or deletion: the edge passes, the origin resume refuses', async () => {
    const { keyring, store, clock, advance } = setup();
    const edge = tokenVerifier(keyring.insecureExportTokenKeys(), { now: clock });
    const a = await store.for(alice).create({ n: 1 });
    const b = await store.for(alice).create({ n: 2 });
    const ta = store.issueToken(a, alice);
    const tb = store.issueToken(b, alice);
    await store.for(alice).delete(a);
    advance(1);
    await store.revokeOwner('alice');
    advance(2_000); // past the revocation cache
    expect(edge.verify(ta, alice).sessionId).toBe(a);
    expect(edge.verify(tb, alice).sessionId).toBe(b);
    expect(await rejection(store.resume(ta, alice))).toBe('not_found');
    expect(await rejection(store.resume(tb, alice))).toBe('not_found'); // revokeOwner deletes the subject's sessions
  });

  it('refuses a whole keyset (encrypt keys must never reach the edge) and sets without token keys', () => {
    const full = Keyring.generate().insecureExportCleartextJwks();
    expect(codeOf(() => tokenVerifier(full))).toBe('invalid_input');
    expect(codeOf(() => tokenVerifier(JSON.stringify(full)))).toBe('invalid_input');
    expect(codeOf(() => tokenVerifier({ keys: full.keys.filter((k) => k.purpose === 'sign') }))).toBe('invalid_input');
    expect(codeOf(() => tokenVerifier('{not json'))).toBe('invalid_input');
    expect(codeOf(() => tokenVerifier(JSON.stringify({ keys: [{ kty: 'oct', kid: 'x', k: 'short', purpose: 'sign', status: 'primary', createdAt: 0 }] })))).toBe('key_state');
  });

  it('follows a rotation in three steps: add the key inactive, push the export, then promote', async () => {
    const { keyring, store, clock } = setup();
    const id = await store.for(alice).create({});
    let edge = tokenVerifier(keyring.insecureExportTokenKeys(), { now: clock });
    const before = store.issueToken(id, alice);

    // Promoting at once strands the edge: tokens under the new kid are unknown there until it gets the new export.
    const hasty = Keyring.insecureFromCleartextJwks(keyring.insecureExportCleartextJwks(), { now: clock });
    const hastyStore = secureStore(new MemoryStore(), { keyring: hasty, now: clock });
    hasty.rotate('sign');
    expect(codeOf(() => edge.verify(hastyStore.issueToken(id, alice), alice))).toBe('invalid_token');

    // 1. The new keys arrive as active: the origin still signs with the old ones.
    const sign = keyring.rotate('sign', { activate: false });
    const hash = keyring.rotate('hash', { activate: false });
    // 2. The export (old primary + new active keys) reaches the edge.
    edge = tokenVerifier(keyring.insecureExportTokenKeys(), { now: clock });
    expect(edge.kids).toEqual(expect.arrayContaining([sign.kid, hash.kid]));
    // 3. Promote on the origin: new tokens use the new kids, and the edge knows them already.
    keyring.promote(sign.kid);
    keyring.promote(hash.kid);
    const after = store.issueToken(id, alice);
    expect(JSON.parse(atob(after.split('.')[0]!.replace(/-/g, '+').replace(/_/g, '/'))).kid).toBe(sign.kid);
    expect(edge.verify(after, alice).sessionId).toBe(id);
    // Tokens issued before the rotation keep passing: the old keys stay active until retired.
    expect(edge.verify(before, alice).sessionId).toBe(id);
  });
});

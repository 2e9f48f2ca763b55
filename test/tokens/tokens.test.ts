/**
 * Session tokens: interoperability with jose (the oracle), the strict shape checks jose does not
 * make, claims, clock tolerance and key rotation.
 */
import { SignJWT, jwtVerify, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { Keyring } from 'sealed-session-store';
import { SessionTokens, TOKEN_TYP, createSessionId } from 'sealed-session-store/tokens';
import { createFakeClock } from 'sealed-session-store/testing';
import { codeOf as code } from '../support/codes.js';

const owner = { subject: 'alice', clientId: 'c1' };

function setup(start = Date.UTC(2030, 0, 1)) {
  const clock = createFakeClock(start);
  const keyring = Keyring.generate({ now: clock.now });
  const tokens = new SessionTokens(keyring, { now: clock.now });
  return { clock, keyring, tokens };
}


describe('session ids', () => {
  it('are 192 random bits, URL-safe, visible ASCII, never reserved', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = createSessionId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{31}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(2000);
  });

  it('never start with "-" (so no id or kid is taken for a command-line option)', () => {
    const dashFirst = () => new Uint8Array(24).fill(0xfb); // base64url "-" is 62: 0xfb = 111110 11
    expect(createSessionId(dashFirst)[0]).not.toBe('-');
    let draw = 0;
    // Every draw starts with 0xfb (a leading '-') but differs after it, so kids stay distinct.
    const ring = Keyring.generate({ random: (n) => new Uint8Array(n).fill(0xfb).map((b, i) => (i === n - 1 ? ++draw & 0xff : b)) });
    for (const k of ring.list()) expect(k.kid[0]).not.toBe('-');
  });
});

describe('tokens', () => {
  it('round-trip: issue then verify gives the session id, exp and kid', () => {
    const { tokens, keyring, clock } = setup();
    const sid = createSessionId();
    const token = tokens.issue(sid, owner, { expiresAt: clock.now() + 3_600_000 });
    const v = tokens.verify(token, owner);
    expect(v.sessionId).toBe(sid);
    expect(v.kid).toBe(keyring.primary('sign').kid);
    expect(v.expiresAt).toBe(Math.floor((clock.now() + 3_600_000) / 1000) * 1000);
  });

  it('jose jwtVerify accepts our tokens (standard HS256 JWS with typ and kid)', async () => {
    const { tokens, keyring, clock } = setup(Date.now());
    const sid = createSessionId();
    const token = tokens.issue(sid, owner, { expiresAt: clock.now() + 60_000 });
    const { payload, protectedHeader } = await jwtVerify(token, keyring.primary('sign').key, { typ: TOKEN_TYP, algorithms: ['HS256'] });
    expect(payload.sid).toBe(sid);
    expect(protectedHeader.kid).toBe(keyring.primary('sign').kid);
  });

  it('we accept tokens jose makes with the same header fields in another order', async () => {
    const { tokens, keyring, clock } = setup(Date.now());
    const sid = createSessionId();
    const ours = tokens.issue(sid, owner, { expiresAt: clock.now() + 60_000 });
    const claims = JSON.parse(Buffer.from(ours.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    const { kid, key } = keyring.primary('sign');
    const josed = await new SignJWT(claims).setProtectedHeader({ typ: TOKEN_TYP, kid, alg: 'HS256' }).sign(key);
    expect(Object.keys(decodeProtectedHeader(josed))).toEqual(['typ', 'kid', 'alg']);
    expect(tokens.verify(josed, owner).sessionId).toBe(sid);
  });

  it('refuses the forms jose tolerates: whitespace, padding, non-canonical trailing bits', () => {
    const { tokens } = setup();
    const token = tokens.issue(createSessionId(), owner);
    const [h, p, s] = token.split('.') as [string, string, string];
    const lastBits = (seg: string) => {
      // Flip the unused low bits of the last character: decodes to the same bytes in lenient decoders.
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const last = alphabet.indexOf(seg[seg.length - 1]!);
      return seg.slice(0, -1) + alphabet[last | 1];
    };
    for (const bad of [`${h}.${p}.${s} `, ` ${token}`, `${h}.${p}.${s}=`, `${h}.${p} .${s}`, `${h}.${p}.${lastBits(s)}`, `${h}\n.${p}.${s}`, `${h}.${p}.${s.slice(0, -1)}`]) {
      expect(code(() => tokens.verify(bad, owner))).toBe('invalid_token');
    }
  });

  it('refuses tokens that are too long or not strings', () => {
    const { tokens } = setup();
    for (const bad of [undefined, null, 42, {}, 'a'.repeat(5000), 'a.b.c']) expect(code(() => tokens.verify(bad, owner))).toBe('invalid_token');
  });

  it('expiry: exp with at most the configured tolerance, then expired', () => {
    const { tokens, clock } = setup();
    const token = tokens.issue(createSessionId(), owner, { expiresAt: clock.now() + 10_000 });
    clock.advance(10_000 + 4_000);
    expect(tokens.verify(token, owner)).toBeDefined();
    clock.advance(1_001);
    expect(code(() => tokens.verify(token, owner))).toBe('expired');
  });

  it('refuses a token issued in the future beyond the tolerance', () => {
    const { keyring, clock } = setup();
    const future = new SessionTokens(keyring, { now: () => clock.now() + 120_000 });
    const token = future.issue(createSessionId(), owner);
    expect(code(() => new SessionTokens(keyring, { now: clock.now }).verify(token, owner))).toBe('invalid_token');
  });

  it('clock tolerance is capped at 60 s', () => {
    const { keyring } = setup();
    expect(code(() => new SessionTokens(keyring, { clockToleranceMs: 61_000 }))).toBe('invalid_input');
  });

  it('owner mismatch: another subject, client or fingerprint', () => {
    const { tokens } = setup();
    const token = tokens.issue(createSessionId(), owner);
    for (const other of [{ subject: 'bob', clientId: 'c1' }, { subject: 'alice' }, { subject: 'alice', clientId: 'c2' }, { ...owner, fingerprint: 'x' }]) {
      expect(code(() => tokens.verify(token, other))).toBe('owner_mismatch');
    }
  });

  it('rotation: old tokens verify until their signing key is retired', () => {
    const { tokens, keyring, clock } = setup();
    const old = tokens.issue(createSessionId(), owner, { expiresAt: clock.now() + 100 * 3_600_000 });
    const oldKid = keyring.primary('sign').kid;
    keyring.rotate('sign');
    keyring.rotate('hash');
    expect(tokens.verify(old, owner).kid).toBe(oldKid);
    const fresh = tokens.issue(createSessionId(), owner);
    expect(tokens.verify(fresh, owner).kid).toBe(keyring.primary('sign').kid);
    clock.advance(keyring.maxSessionLifetimeMs + 1);
    keyring.retire(oldKid);
    expect(code(() => tokens.verify(old, owner))).toBe('invalid_token');
  });

  it('the owner is never in the token in clear', () => {
    const { tokens } = setup();
    const token = tokens.issue(createSessionId(), { subject: 'alice@example.com', clientId: 'client-xyz' });
    const decoded = token
      .split('.')
      .slice(0, 2)
      .map((s) => Buffer.from(s, 'base64url').toString())
      .join();
    expect(decoded).not.toContain('alice');
    expect(decoded).not.toContain('client-xyz');
  });
});

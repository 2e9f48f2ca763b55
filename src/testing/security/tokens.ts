/**
 * Session tokens: forged, re-signed, `alg: none`, other-algorithm, other-typ and non-canonical tokens are
 * refused, even when signed with a real key of the ring; a token past its `exp` is expired.
 */
import { expect, it } from 'vitest';
import { MINUTE, expectCode } from '../helpers.js';
import { alice, b64url, hmac, respell, segment } from './attacker.js';
import type { SecurityContext } from './types.js';

export function tokenTests(t: SecurityContext): void {
  it('forged, re-signed, alg:none, other-algorithm and wrong-typ tokens are refused', async () => {
    const id = await t.stack.store.for(alice).create({ a: 1 }, { ttlMs: MINUTE });
    const token = t.stack.store.issueToken(id, alice);
    const [h, p, s] = token.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const bad: string[] = [
      `${h}.${segment({ ...claims, sid: 'other' })}.${s}`,
      `${segment({ ...header, alg: 'none' })}.${p}.`,
      `${segment({ ...header, alg: 'none' })}.${p}.${s}`,
      `${segment({ ...header, alg: 'HS512' })}.${p}.${s}`,
      `${segment({ ...header, alg: 'RS256' })}.${p}.${s}`,
      `${segment({ ...header, typ: 'JWT' })}.${p}.${s}`,
      `${segment({ ...header, crit: ['exp'] })}.${p}.${s}`,
      `${h}.${p}.${s}=`,
      `${h} .${p}.${s}`,
      `${h}.${p}.${s}.`,
      `${h}.${p}`,
      token.toUpperCase(),
      '',
    ];
    // An attacker who holds a non-signing key (kid confusion) still cannot sign.
    for (const info of t.stack.store.keyring.list()) {
      if (info.purpose === 'sign' || info.status === 'destroyed') continue;
      const forgedHeader = segment({ ...header, kid: info.kid });
      const key = t.stack.store.keyring.keyFor(info.purpose, info.kid);
      bad.push(`${forgedHeader}.${p}.${b64url(await hmac(key, `${forgedHeader}.${p}`))}`);
    }
    for (const forged of bad) await expectCode(t.stack.store.resume(forged, alice), 'invalid_token');
    expect(t.events.some((e) => e.type === 'invalid_token')).toBe(true);
  });

  it('with the real signing key: another typ or extra header fields are refused, field order is not', async () => {
    const id = await t.stack.store.for(alice).create({ a: 1 }, { ttlMs: MINUTE });
    const [h, p] = t.stack.store.issueToken(id, alice).split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg: string; typ: string; kid: string };
    const key = t.stack.store.keyring.keyFor('sign', header.kid);
    const signWith = async (hdr: unknown) => {
      const enc = segment(hdr);
      return `${enc}.${p}.${b64url(await hmac(key, `${enc}.${p}`))}`;
    };
    // A token of another kind signed by the same key (typ confusion), or with parameters we do not understand.
    await expectCode(t.stack.store.resume(await signWith({ ...header, typ: 'JWT' }), alice), 'invalid_token');
    await expectCode(t.stack.store.resume(await signWith({ ...header, crit: ['b64'], b64: false }), alice), 'invalid_token');
    await expectCode(t.stack.store.resume(await signWith({ alg: header.alg, kid: header.kid }), alice), 'invalid_token');
    // The same fields in another order are the same header: accepted.
    const reordered = await signWith({ kid: header.kid, typ: header.typ, alg: header.alg });
    await expect(t.stack.store.resume(reordered, alice)).resolves.toEqual({ sessionId: id, state: { a: 1 } });
    // Another spelling of the same bytes (unused low bits set), even signed with the real key, is
    // refused: no token has two valid forms, and an owner hash spelled otherwise is not the owner.
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    let text = JSON.stringify(claims);
    while (text.length % 3 !== 1) text += ' '; // base64url length 2 mod 4: four unused bits at the end
    const loose = respell(Buffer.from(text).toString('base64url'));
    await expectCode(t.stack.store.resume(`${h}.${loose}.${b64url(await hmac(key, `${h}.${loose}`))}`, alice), 'invalid_token');
    const p2 = segment({ ...claims, oh: respell(claims.oh as string) });
    await expectCode(t.stack.store.resume(`${h}.${p2}.${b64url(await hmac(key, `${h}.${p2}`))}`, alice), 'owner_mismatch');
  });

  it('a token past its exp is expired even when the session would still live', async () => {
    const id = await t.stack.store.for(alice).create({ a: 1 }, { ttlMs: 100 * MINUTE });
    const token = t.stack.store.issueToken(id, alice, { expiresAt: t.clock.now() + MINUTE });
    t.clock.advance(2 * MINUTE);
    await expectCode(t.stack.store.resume(token, alice), 'expired');
  });
}

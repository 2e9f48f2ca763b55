/**
 * Fuzz: hostile session tokens. Arbitrary strings and values, strings shaped like compact JWS,
 * single-character mutations of a genuine token, and tokens whose header and claims are arbitrary
 * but correctly SIGNED with the real key (an insider's or a bug's token): `verifyToken`, `resume`
 * and the low-level `verifyCompact` only ever fail with their typed errors, and a token verifies
 * only when it is exactly one we issued.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { MAX_TOKEN_LENGTH, TOKEN_TYP, verifyCompact } from 'sealed-session-store/tokens';
import { describe, expect, it } from 'vitest';
import { refused, runs, typed } from './typed.js';

const T0 = Date.UTC(2030, 0, 1);
let t = T0;
const now = () => t;
const keyring = Keyring.generate({ now });
const sec = secureStore(new MemoryStore({ now, maxEntries: 1_000 }), { keyring, namespace: 'fuzz-tokens', now });
const OWNER = { subject: 'token-owner' };
const mine = sec.for(OWNER);
const sessionId = await mine.create({ a: 1 });
const genuine = sec.issueToken(sessionId, OWNER);
const TOKEN_CODES = ['invalid_token', 'expired', 'owner_mismatch'] as const;

const b64u = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');
const signed = (header: unknown, payload: unknown, key = keyring.primary('sign').key) => {
  const input = `${b64u(JSON.stringify(header) ?? 'null')}.${b64u(JSON.stringify(payload) ?? 'null')}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
};

const B64U_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const jwsLike = fc
  .array(fc.string({ unit: fc.constantFrom(...B64U_CHARS, '=', '+', '/', ' ', '.'), maxLength: 80 }), { minLength: 1, maxLength: 5 })
  .map((parts) => parts.join('.'));

describe('hostile tokens', () => {
  it('arbitrary values and strings: invalid_token, never a session', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), jwsLike, fc.anything(), fc.string({ minLength: MAX_TOKEN_LENGTH + 1, maxLength: MAX_TOKEN_LENGTH + 2 })), async (token) => {
        expect(await refused('verifyToken', () => sec.verifyToken(token, OWNER), ['invalid_token'])).toBe('invalid_token');
        expect(await refused('resume', () => sec.resume(token, OWNER), ['invalid_token'])).toBe('invalid_token');
        await refused('verifyCompact', () => verifyCompact(token, { typ: TOKEN_TYP, key: (kid) => keyring.keyFor('sign', kid) }), ['invalid_token']);
      }),
      { numRuns: runs(500) },
    );
  });

  it('any one-character change, insertion or deletion of a genuine token is refused (no malleable forms)', async () => {
    const edit = fc.record({
      at: fc.nat(genuine.length),
      kind: fc.constantFrom('replace', 'insert', 'delete', 'case'),
      c: fc.constantFrom(...B64U_CHARS, '=', '.', ' ', '\n', '+', '/'),
    });
    await fc.assert(
      fc.asyncProperty(edit, async ({ at, kind, c }) => {
        const i = Math.min(at, genuine.length - 1);
        const mutated =
          kind === 'replace'
            ? genuine.slice(0, i) + c + genuine.slice(i + 1)
            : kind === 'insert'
              ? genuine.slice(0, at) + c + genuine.slice(at)
              : kind === 'delete'
                ? genuine.slice(0, i) + genuine.slice(i + 1)
                : genuine.slice(0, i) + (genuine[i] === genuine[i]!.toUpperCase() ? genuine[i]!.toLowerCase() : genuine[i]!.toUpperCase()) + genuine.slice(i + 1);
        const r = await typed('verifyToken', () => sec.verifyToken(mutated, OWNER), [...TOKEN_CODES]);
        if (r.ok) expect(mutated).toBe(genuine);
      }),
      { numRuns: runs(1_000) },
    );
  });

  it('correctly signed tokens with arbitrary headers and claims: typed errors unless every field is right', async () => {
    const hash = keyring.primary('hash');
    const sign = keyring.primary('sign');
    const good = JSON.parse(Buffer.from(genuine.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    const pick = <T>(right: T) => fc.oneof({ weight: 3, arbitrary: fc.constant(right) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) });
    const header = fc.oneof(
      fc.record({ alg: pick('HS256'), typ: pick(TOKEN_TYP), kid: pick(sign.kid) }, { requiredKeys: [] }),
      fc.record({ alg: pick('HS256'), typ: pick(TOKEN_TYP), kid: pick(sign.kid), crit: pick(['exp']), extra: fc.jsonValue({ maxDepth: 1 }) }),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const claims = fc.oneof(
      fc.record(
        {
          sid: pick(good.sid),
          oh: pick(good.oh),
          ohk: pick(hash.kid),
          iat: fc.oneof(pick(good.iat), fc.integer(), fc.double()),
          exp: fc.oneof(pick(good.exp), fc.integer(), fc.double(), fc.constant(Math.floor(T0 / 1000) - 1)),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue({ maxDepth: 2 }),
    );
    await fc.assert(
      fc.asyncProperty(header, claims, async (h, c) => {
        const token = signed(h, c);
        const r = await typed('verifyToken', () => sec.verifyToken(token, OWNER), [...TOKEN_CODES]);
        const low = await typed('verifyCompact', () => verifyCompact(token, { typ: TOKEN_TYP, key: (kid) => keyring.keyFor('sign', kid) }), ['invalid_token']);
        if (r.ok) {
          expect(low.ok).toBe(true);
          expect(h).toEqual({ alg: 'HS256', typ: TOKEN_TYP, kid: sign.kid });
          // Signed by the key holder, so any well-formed session id is legitimate; the owner binding
          // and the deadline are what must be exactly right.
          const cl = c as Record<string, unknown>;
          expect([cl.oh, cl.ohk]).toEqual([good.oh, hash.kid]);
          expect(r.value.sessionId).toBe(cl.sid);
          expect(typeof cl.exp === 'number' && cl.exp * 1000 > T0 - 5_000).toBe(true);
        }
        const resumed = await typed('resume', () => sec.resume(token, OWNER), [...TOKEN_CODES, 'not_found', 'invalid_input']);
        if (resumed.ok) expect(resumed.value).toEqual({ sessionId, state: { a: 1 } });
      }),
      { numRuns: runs(1_000) },
    );
  });

  it('a genuine token under another owner, after expiry, or signed with another key: typed', async () => {
    expect(await refused('other owner', () => sec.verifyToken(genuine, { subject: 'someone-else' }), [...TOKEN_CODES])).toBe('owner_mismatch');
    const foreign = signed({ alg: 'HS256', typ: TOKEN_TYP, kid: keyring.primary('sign').kid }, JSON.parse(Buffer.from(genuine.split('.')[1]!, 'base64url').toString()), new Uint8Array(32));
    expect(await refused('other key', () => sec.verifyToken(foreign, OWNER), [...TOKEN_CODES])).toBe('invalid_token');
    t += 13 * 3_600_000;
    try {
      expect(await refused('expired', () => sec.verifyToken(genuine, OWNER), [...TOKEN_CODES])).toBe('expired');
    } finally {
      t = T0;
    }
  });
});

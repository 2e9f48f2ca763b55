/**
 * Session tokens: our synchronous issue/verify against jose (`SignJWT`, `jwtVerify`) on the very same
 * token and key, and a direct HMAC-SHA256 check as the floor (what verification cannot go below).
 * A client sends the same token with every request, and ours remembers a token it verified (the
 * key, clock and owner are still checked each time); a second row verifies tokens never seen before.
 */
import crypto from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { Keyring, secureStore } from '../src/index.js';
import { TOKEN_TYP } from '../src/tokens/index.js';
import { MemoryStore } from '../src/index.js';
import type { Ctx } from './context.js';
import { OWNER } from './layers.js';
import { measure } from './measure.js';

export async function runTokens(ctx: Ctx): Promise<void> {
  const keyring = Keyring.generate();
  const store = secureStore(new MemoryStore(), { keyring });
  const sid = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
  const token = store.issueToken(sid, OWNER);
  const sign = keyring.primary('sign');
  // jose must accept exactly what we issue: checked once here so a bench never times a failure.
  await jwtVerify(token, sign.key, { algorithms: ['HS256'], typ: TOKEN_TYP });
  const [h, p, s] = token.split('.') as [string, string, string];
  const signingInput = `${h}.${p}`;
  const mac = Buffer.from(s, 'base64url');
  const keyObj = crypto.createSecretKey(sign.key);
  const b = ctx.budget;
  const fresh = Array.from({ length: 4096 }, (_, i) => store.issueToken(`session-${i}-${'x'.repeat(24)}`, OWNER));
  let next = 0;
  ctx.results.push(
    await measure({ id: 'tokens/ours/issue', group: 'tokens', label: 'token issue (ours, sync HS256)' }, b, () => store.issueToken(sid, OWNER)),
    await measure({ id: 'tokens/ours/verify', group: 'tokens', label: 'token verify (ours, same token again: remembered as verified)' }, b, () => store.verifyToken(token, OWNER)),
    // More distinct tokens than are remembered, in turn: every verify checks shape, HMAC and claims.
    await measure({ id: 'tokens/ours/verify-first', group: 'tokens', label: 'token verify (ours, a token not seen before: shape + HMAC + claims)' }, b, () =>
      store.verifyToken(fresh[next++ % fresh.length]!, OWNER),
    ),
    await measure({ id: 'tokens/jose/issue', group: 'tokens', label: 'token issue (jose SignJWT)' }, b, () =>
      new SignJWT({ sid, oh: 'x', ohk: 'y' })
        .setProtectedHeader({ alg: 'HS256', typ: TOKEN_TYP, kid: sign.kid })
        .setIssuedAt()
        .setExpirationTime('12h')
        .sign(sign.key),
    ),
    await measure({ id: 'tokens/jose/verify', group: 'tokens', label: 'token verify (jose jwtVerify, same token)' }, b, () =>
      jwtVerify(token, sign.key, { algorithms: ['HS256'], typ: TOKEN_TYP }),
    ),
    await measure({ id: 'tokens/floor/hmac-verify', group: 'tokens', label: 'floor: one HMAC-SHA256 + timingSafeEqual' }, b, () =>
      crypto.timingSafeEqual(crypto.createHmac('sha256', keyObj).update(signingInput).digest(), mac),
    ),
  );
}

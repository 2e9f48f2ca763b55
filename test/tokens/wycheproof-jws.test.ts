/**
 * Wycheproof JSON Web Signature vectors (HS256 groups) through our low-level compact verifier.
 * The vectors are read from ../shared/vectors/wycheproof (never copied here); skipped with a printed
 * reason when that directory is absent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isSessionStoreError } from 'sealed-session-store';
import { verifyCompactBytes } from 'sealed-session-store/tokens';

const file = fileURLToPath(new URL('../../../shared/vectors/wycheproof/json_web_signature_test.json', import.meta.url));
const present = existsSync(file);
if (!present) console.warn(`[skip] Wycheproof JWS vectors not found at ${file}`);

interface Vector {
  tcId: number;
  comment: string;
  jws: unknown;
  result: 'valid' | 'invalid' | 'acceptable';
}
interface Group {
  private: { kty: string; alg?: string; k?: string; kid?: string };
  tests: Vector[];
}

/**
 * Vectors Wycheproof marks valid that we refuse on purpose: a non-base64url character that lenient
 * decoders skip. We accept exactly one spelling of a token (malleability), so these must fail here.
 */
const STRICTER_THAN_WYCHEPROOF = /InvalidCharacterInserted/;

describe.skipIf(!present)('Wycheproof JWS (HS256) through verifyCompactBytes', () => {
  const groups = present ? ((JSON.parse(readFileSync(file, 'utf8')) as { testGroups: Group[] }).testGroups ?? []) : [];
  const hs256 = groups.filter((g) => g.private.kty === 'oct' && (g.private.alg ?? 'HS256') === 'HS256');

  it('has HS256 vectors to run', () => {
    expect(hs256.reduce((n, g) => n + g.tests.length, 0)).toBeGreaterThan(20);
  });

  // In this copy of the file a few "invalid padding" vectors carry exactly the text of a valid vector
  // (the padding they describe is not there): they cannot be both, so they are reported, not run.
  const validTexts = new Set(hs256.flatMap((g) => g.tests.filter((t) => t.result === 'valid').map((t) => t.jws)));

  for (const group of hs256) {
    const key = new Uint8Array(Buffer.from(group.private.k!, 'base64url'));
    for (const t of group.tests) {
      const contradictory = t.result === 'invalid' && validTexts.has(t.jws);
      it.skipIf(contradictory)(`tcId ${t.tcId} ${t.comment} (${t.result})`, () => {
        let accepted: boolean;
        try {
          verifyCompactBytes(t.jws, { typ: undefined, key: () => key });
          accepted = true;
        } catch (err) {
          expect(isSessionStoreError(err, 'invalid_token')).toBe(true);
          accepted = false;
        }
        if (t.result === 'invalid' || STRICTER_THAN_WYCHEPROOF.test(t.comment)) expect(accepted).toBe(false);
        else if (t.result === 'valid') expect(accepted).toBe(true);
      });
    }
  }
});

/**
 * Regenerates keyset-v1.insecure-test.json from fixed inputs with the independent spec
 * implementation (keyset-spec-impl.ts). Run only for a deliberate format change (a new version gets
 * a NEW file; this one never changes):
 *   npx tsx test/vectors/generate-keyset.ts
 * Its keys and passphrase are public: an insecure test keyset, never for real sessions.
 */
import { writeFileSync } from 'node:fs';
import { GOLDEN_KEYSET_PASSPHRASE, goldenJwks } from './keyset-inputs.js';
import { specWrapKeyset } from './keyset-spec-impl.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const text = specWrapKeyset(JSON.stringify(goldenJwks), GOLDEN_KEYSET_PASSPHRASE, {
  logN: 15,
  r: 8,
  p: 1,
  salt: hex('000102030405060708090a0b0c0d0e0f'),
  nonce: hex('a0a1a2a3a4a5a6a7a8a9aaab'),
});
writeFileSync(new URL('./keyset-v1.insecure-test.json', import.meta.url), text);

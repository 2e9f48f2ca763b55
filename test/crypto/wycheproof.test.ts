/**
 * Wycheproof AEAD vectors (google/wycheproof, read from ../shared/vectors/wycheproof/ and never
 * copied into this repository) through our AEAD module, on every engine that serves the algorithm.
 * Only groups with our parameters apply (256-bit key, our nonce size, 128-bit tag); the others
 * test key and nonce sizes this library never accepts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AEAD_SPECS, type AeadAlgorithm, getAead, hasNodeEngine } from '../../src/crypto/aead/index.js';

const DIR = join(process.cwd(), '..', 'shared', 'vectors', 'wycheproof');

interface AeadTest {
  tcId: number;
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: 'valid' | 'invalid' | 'acceptable';
}
interface Group {
  keySize: number;
  ivSize: number;
  tagSize: number;
  tests: AeadTest[];
}

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

const files: Array<[AeadAlgorithm, string]> = [
  ['aes-256-gcm', 'aes_gcm_test.json'],
  ['aes-256-gcm-siv', 'aes_gcm_siv_test.json'],
  ['xchacha20-poly1305', 'xchacha20_poly1305_test.json'],
];

for (const [alg, file] of files) {
  const path = join(DIR, file);
  const present = existsSync(path);
  if (!present) console.warn(`[skip] Wycheproof ${file} not found at ${path} (../shared is absent): ${alg} vectors not run`);
  describe.skipIf(!present)(`Wycheproof ${file}`, () => {
    const engines = (['noble', 'node'] as const).filter((e) => e === 'noble' || hasNodeEngine(alg));
    for (const engine of engines) {
      it(`${alg} on ${engine}`, () => {
        const spec = AEAD_SPECS[alg];
        const data = JSON.parse(readFileSync(path, 'utf8')) as { testGroups: Group[] };
        const aead = getAead(alg, engine);
        let run = 0;
        for (const g of data.testGroups) {
          if (g.keySize !== 256 || g.ivSize !== spec.nonceLength * 8 || g.tagSize !== 128) continue;
          for (const t of g.tests) {
            run++;
            const key = hex(t.key);
            const nonce = hex(t.iv);
            const aad = hex(t.aad);
            const sealed = hex(t.ct + t.tag);
            const opened = aead.open(key, nonce, sealed, aad);
            if (t.result === 'valid') {
              expect(opened, `tcId ${t.tcId}`).toEqual(hex(t.msg));
              const out = new Uint8Array(sealed.length);
              aead.seal(key, nonce, hex(t.msg), aad, out, 0);
              expect(out, `tcId ${t.tcId} seal`).toEqual(sealed);
            } else if (t.result === 'invalid') {
              expect(opened, `tcId ${t.tcId} must be rejected`).toBeUndefined();
            }
          }
        }
        expect(run).toBeGreaterThan(20);
      });
    }
  });
}

import { describe, expect, it } from 'vitest';
import { AEAD_SPECS, type AeadAlgorithm, aeadSpecById, deriveAlgorithmKey, getAead, hasNodeEngine } from '../../src/crypto/aead/index.js';
import { secureRandom } from '../../src/util/random.js';

const algorithms = Object.keys(AEAD_SPECS) as AeadAlgorithm[];

function seal(alg: AeadAlgorithm, engine: 'node' | 'noble' | 'auto', key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, aad: Uint8Array): Uint8Array {
  const out = new Uint8Array(pt.length + 16);
  const n = getAead(alg, engine).seal(key, nonce, pt, aad, out, 0);
  expect(n).toBe(out.length);
  return out;
}

describe('AEAD engines', () => {
  it('node:crypto serves AES-256-GCM on this runtime', () => {
    expect(hasNodeEngine('aes-256-gcm')).toBe(true);
    expect(getAead('aes-256-gcm').engine).toBe('node');
    expect(getAead('aes-256-gcm-siv').engine).toBe('noble');
    expect(() => getAead('xchacha20-poly1305', 'node')).toThrowError(expect.objectContaining({ code: 'invalid_input' }));
    expect(() => getAead('rot13' as AeadAlgorithm)).toThrowError(expect.objectContaining({ code: 'invalid_input' }));
  });

  it('ids map back to their specs', () => {
    for (const alg of algorithms) expect(aeadSpecById(AEAD_SPECS[alg].id)?.name).toBe(alg);
    expect(aeadSpecById(0)).toBeUndefined();
    expect(aeadSpecById(255)).toBeUndefined();
  });

  for (const alg of algorithms) {
    it(`${alg}: round trip, and any change to key, nonce, aad or bytes fails`, () => {
      const spec = AEAD_SPECS[alg];
      const aead = getAead(alg);
      const key = secureRandom(32);
      const nonce = secureRandom(spec.nonceLength);
      const aad = secureRandom(40);
      for (const size of [0, 1, 15, 16, 17, 1000]) {
        const pt = secureRandom(size);
        const ct = seal(alg, 'auto', key, nonce, pt, aad);
        expect(aead.open(key, nonce, ct, aad)).toEqual(pt);
        expect(aead.open(secureRandom(32), nonce, ct, aad)).toBeUndefined();
        expect(aead.open(key, secureRandom(spec.nonceLength), ct, aad)).toBeUndefined();
        expect(aead.open(key, nonce, ct, secureRandom(40))).toBeUndefined();
        const bad = ct.slice();
        bad[bad.length - 1]! ^= 1;
        expect(aead.open(key, nonce, bad, aad)).toBeUndefined();
        expect(aead.open(key, nonce, ct.subarray(0, ct.length - 1), aad)).toBeUndefined();
      }
      expect(aead.open(key, nonce, new Uint8Array(3), aad)).toBeUndefined();
    });
  }

  it('node and noble AES-256-GCM are byte-identical and open each other', () => {
    for (let i = 0; i < 50; i++) {
      const key = secureRandom(32);
      const nonce = secureRandom(12);
      const aad = secureRandom(i);
      const pt = secureRandom(i * 37);
      const a = seal('aes-256-gcm', 'node', key, nonce, pt, aad);
      const b = seal('aes-256-gcm', 'noble', key, nonce, pt, aad);
      expect(a).toEqual(b);
      expect(getAead('aes-256-gcm', 'noble').open(key, nonce, a, aad)).toEqual(pt);
      expect(getAead('aes-256-gcm', 'node').open(key, nonce, b, aad)).toEqual(pt);
    }
  });

  it('seal writes at an offset inside a larger buffer', () => {
    const key = secureRandom(32);
    const nonce = secureRandom(12);
    const pt = secureRandom(100);
    for (const engine of ['node', 'noble'] as const) {
      const out = new Uint8Array(10 + 116).fill(7);
      getAead('aes-256-gcm', engine).seal(key, nonce, pt, new Uint8Array(0), out, 10);
      expect(out.subarray(0, 10)).toEqual(new Uint8Array(10).fill(7));
      expect(getAead('aes-256-gcm', engine).open(key, nonce, out.subarray(10), new Uint8Array(0))).toEqual(pt);
    }
  });

  it('non-GCM algorithms use a per-algorithm subkey; GCM uses the key as is', () => {
    const key = secureRandom(32);
    expect(deriveAlgorithmKey(key, 'aes-256-gcm')).toBe(key);
    const siv = deriveAlgorithmKey(key, 'aes-256-gcm-siv');
    const xc = deriveAlgorithmKey(key, 'xchacha20-poly1305');
    expect(siv).not.toEqual(key);
    expect(xc).not.toEqual(siv);
    expect(deriveAlgorithmKey(key, 'aes-256-gcm-siv')).toBe(siv); // cached
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from 'sealed-session-store';
import { base64urlEncode } from '../../src/util/bytes.js';
import { Keyring } from '../../src/keys/keyring.js';
import { EncryptedStore } from '../../src/layers/encrypt.js';
import { type Alg, specOpenGcm, specSeal } from './spec-impl.js';

interface Vector {
  name: string;
  algorithm: Alg;
  key: string;
  kid: string;
  nonce: string;
  namespace: string;
  id: string;
  plaintext: string;
  envelope: string;
}

const file = JSON.parse(readFileSync(new URL('./envelope-v1.json', import.meta.url), 'utf8')) as { version: number; cases: Vector[] };
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

function ringFor(v: Vector): Keyring {
  return Keyring.insecureFromCleartextJwks({
    keys: [{ kty: 'oct', kid: v.kid, k: base64urlEncode(hex(v.key)), purpose: 'encrypt', status: 'primary', createdAt: 0 }],
  });
}

describe('golden envelope vectors, format v1', () => {
  expect(file.version).toBe(1);
  for (const v of file.cases) {
    const engines = v.algorithm === 'aes-256-gcm' ? (['node', 'noble'] as const) : (['noble'] as const);
    for (const engine of engines) {
      it(`${v.name} (${engine}): the library writes exactly these bytes and opens them`, async () => {
        const inner = new MemoryStore();
        const store = new EncryptedStore(inner, {
          keyring: ringFor(v),
          namespace: v.namespace,
          algorithm: v.algorithm,
          engine,
          random: (n) => {
            expect(n).toBe(v.nonce.length / 2);
            return hex(v.nonce);
          },
        });
        await store.saveRecord(v.id, JSON.parse(v.plaintext), { expiresAt: Date.now() + 60_000 });
        const written = (await inner.loadRecord(v.id))!.value as Uint8Array;
        expect(Buffer.from(written).toString('hex')).toBe(v.envelope);
        const other = new MemoryStore();
        await other.saveRecord(v.id, hex(v.envelope), { expiresAt: Date.now() + 60_000 });
        const reader = new EncryptedStore(other, { keyring: ringFor(v), namespace: v.namespace, engine });
        expect(await reader.load(v.id)).toEqual(JSON.parse(v.plaintext));
      });
    }
    it(`${v.name}: the spec implementation agrees with the file`, () => {
      expect(specSeal(v.algorithm, Buffer.from(v.key, 'hex'), v.kid, Buffer.from(v.nonce, 'hex'), v.namespace, v.id, v.plaintext).toString('hex')).toBe(v.envelope);
      if (v.algorithm === 'aes-256-gcm') expect(specOpenGcm(Buffer.from(v.envelope, 'hex'), Buffer.from(v.key, 'hex'), v.namespace, v.id)).toBe(v.plaintext);
    });
  }

  it('what the library writes with a random nonce opens with node:crypto and the documented layout alone', async () => {
    const keyring = Keyring.generate();
    const inner = new MemoryStore();
    const store = new EncryptedStore(inner, { keyring, namespace: 'docs', engine: 'noble' });
    const state = { hello: 'world', n: [1, 2, 3] };
    await store.save('sess-42', state);
    const env = Buffer.from((await inner.loadRecord('sess-42'))!.value as Uint8Array);
    expect(JSON.parse(specOpenGcm(env, Buffer.from(keyring.primary('encrypt').key), 'docs', 'sess-42'))).toEqual(state);
  });
});

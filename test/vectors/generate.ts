/**
 * Regenerates envelope-v1.json from fixed inputs with the independent spec implementation. Run only
 * for a deliberate format change (a new version gets a NEW file; v1 vectors never change):
 *   npx tsx test/vectors/generate.ts
 */
import { writeFileSync } from 'node:fs';
import { specSeal, type Alg } from './spec-impl.js';
const hex = (s: string) => Buffer.from(s, 'hex');
const key = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const cases: unknown[] = [];
const inputs: Array<[string, Alg, string, string, string, string, string]> = [
  ['gcm-basic', 'aes-256-gcm', 'k1', '00112233445566778899aabb', 'app', 'session-1', JSON.stringify({ user: 'alice', n: 1 })],
  ['gcm-empty-state', 'aes-256-gcm', 'golden-kid_01', 'ffffffffffffffffffffffff', 'app', 'a', JSON.stringify({})],
  ['gcm-unicode-namespace', 'aes-256-gcm', 'k1', '0102030405060708090a0b0c', 'tenant-é/prod', 'ZXhhbXBsZQ', JSON.stringify({ meta: { v: 1, createdAt: 1700000000000 }, data: { cart: ['x', 'ü', 3.5, null, true] } })],
  ['gcm-long-kid', 'aes-256-gcm', 'K'.repeat(64), '000000000000000000000001', 'n', '!~', JSON.stringify({ s: 'x'.repeat(300) })],
  ['gcm-siv-basic', 'aes-256-gcm-siv', 'k1', '00112233445566778899aabb', 'app', 'session-1', JSON.stringify({ user: 'alice', n: 1 })],
  ['xchacha-basic', 'xchacha20-poly1305', 'k1', '000102030405060708090a0b0c0d0e0f1011121314151617', 'app', 'session-1', JSON.stringify({ user: 'alice', n: 1 })],
];
for (const [name, algorithm, kid, nonce, namespace, id, json] of inputs) {
  cases.push({ name, algorithm, key: key.toString('hex'), kid, nonce, namespace, id, plaintext: json, envelope: specSeal(algorithm, key, kid, hex(nonce), namespace, id, json).toString('hex') });
}
writeFileSync(new URL('./envelope-v1.json', import.meta.url), JSON.stringify({ format: 'sealed-session-store envelope', version: 1, source: 'test/vectors/spec-impl.ts (independent implementation of SECURITY.md)', cases }, null, 2) + '\n');

/**
 * Regenerates request-state-v1.json: MCP request-state handles (`s1.` …) sealed by the library's
 * `requestStateCodec` over fixed inputs. The file was first written by the codec as it stood before
 * it moved onto the shared sealer, so it pins the handles clients already hold. Run only for a
 * deliberate format change (a new format gets a NEW file; v1 vectors never change):
 *   npx tsx test/vectors/generate-request-state.ts
 */
import { writeFileSync } from 'node:fs';
import { Keyring } from '../../src/keys/keyring.js';
import { base64urlEncode } from '../../src/util/bytes.js';
import { requestStateCodec } from '../../src/mcp/request-state.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const key = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const now = Date.UTC(2030, 0, 1, 12, 0, 0, 123);
type Input = [name: string, kid: string, nonce: string, namespace: string, purpose: string | null, bind: string | null, ttlMs: number | null, data: string];
const inputs: Input[] = [
  ['basic-bound', 'k1', '00112233445566778899aabb', 'app', null, 'session-1', null, JSON.stringify({ cursor: 42, q: 'query' })],
  ['unbound', 'k1', 'ffffffffffffffffffffffff', 'app', null, null, null, JSON.stringify({ a: 1 })],
  ['cursor-purpose-long-ttl', 'golden-kid_01', '0102030405060708090a0b0c', 'app', 'cursor', 'owner:alice', 3_600_000, JSON.stringify([1, 'two', null, true, { x: 3.5 }])],
  ['unicode-namespace-string', 'K'.repeat(64), '000000000000000000000001', 'tenant-é/prod', 'requestState', 'ü-session', 1_000, JSON.stringify('ü'.repeat(40))],
];
const cases: unknown[] = [];
for (const [name, kid, nonce, namespace, purpose, bind, ttlMs, data] of inputs) {
  const keyring = Keyring.insecureFromCleartextJwks({
    keys: [{ kty: 'oct', kid, k: base64urlEncode(hex(key)), purpose: 'encrypt', status: 'primary', createdAt: 0 }],
  });
  const codec = requestStateCodec({ keyring, namespace, ...(purpose === null ? {} : { purpose }), now: () => now, random: () => hex(nonce) });
  const handle = codec.seal(JSON.parse(data), { ...(bind === null ? {} : { bind }), ...(ttlMs === null ? {} : { ttlMs }) });
  cases.push({ name, key, kid, nonce, now, namespace, purpose, bind, ttlMs, data, handle });
}
writeFileSync(
  new URL('./request-state-v1.json', import.meta.url),
  JSON.stringify({ format: 'sealed-session-store MCP request-state handle', version: 1, source: 'src/mcp/request-state.ts at commit ac70e4b (before the shared sealer)', cases }, null, 2) + '\n',
);

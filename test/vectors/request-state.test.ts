/**
 * Golden MCP request-state handles (`s1.` …): the codec must keep writing and opening exactly the
 * handles clients already hold. The last test opens each vector with node:crypto and the layout in
 * src/mcp/request-state.ts's header alone, so the format is pinned independently of the library.
 */
import { createDecipheriv, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Keyring } from '../../src/keys/keyring.js';
import { base64urlEncode } from '../../src/util/bytes.js';
import { requestStateCodec } from '../../src/mcp/request-state.js';

interface Vector {
  name: string;
  key: string;
  kid: string;
  nonce: string;
  now: number;
  namespace: string;
  purpose: string | null;
  bind: string | null;
  ttlMs: number | null;
  data: string;
  handle: string;
}

const file = JSON.parse(readFileSync(new URL('./request-state-v1.json', import.meta.url), 'utf8')) as { version: number; cases: Vector[] };
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

function codecFor(v: Vector, random?: (n: number) => Uint8Array) {
  const keyring = Keyring.insecureFromCleartextJwks({
    keys: [{ kty: 'oct', kid: v.kid, k: base64urlEncode(hex(v.key)), purpose: 'encrypt', status: 'primary', createdAt: 0 }],
  });
  return requestStateCodec({ keyring, namespace: v.namespace, ...(v.purpose === null ? {} : { purpose: v.purpose }), now: () => v.now, ...(random === undefined ? {} : { random }) });
}

const bindOf = (v: Vector) => (v.bind === null ? {} : { bind: v.bind });

describe('golden request-state handles, format s1', () => {
  expect(file.version).toBe(1);
  for (const v of file.cases) {
    it(`${v.name}: the codec writes exactly this handle and opens it`, () => {
      const codec = codecFor(v, (n) => {
        expect(n).toBe(12);
        return hex(v.nonce);
      });
      expect(codec.seal(JSON.parse(v.data), { ...bindOf(v), ...(v.ttlMs === null ? {} : { ttlMs: v.ttlMs }) })).toBe(v.handle);
      expect(codecFor(v).open(v.handle, bindOf(v))).toEqual(JSON.parse(v.data));
    });

    it(`${v.name}: opens with node:crypto and the documented layout alone`, () => {
      const [format, kid, body] = v.handle.split('.') as [string, string, string];
      expect([format, kid]).toEqual(['s1', v.kid]);
      const purpose = v.purpose ?? 'requestState';
      const key = Buffer.from(hkdfSync('sha256', hex(v.key), Buffer.alloc(0), `sss/mcp/request-state/v1\u0000${purpose}`, 32));
      const bytes = Buffer.from(body, 'base64url');
      const aad = Buffer.from(JSON.stringify(['s1', kid, v.namespace, purpose, v.bind]), 'utf8');
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12), { authTagLength: 16 });
      decipher.setAAD(aad);
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      const plain = Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString('utf8');
      expect(bytes.subarray(0, 12).toString('hex')).toBe(v.nonce);
      expect(JSON.parse(plain)).toEqual({ d: JSON.parse(v.data), e: Math.floor((v.now + (v.ttlMs ?? 15 * 60 * 1000)) / 1000) });
    });
  }
});

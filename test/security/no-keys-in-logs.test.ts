/**
 * No library object reveals key material when logged or serialized. Before, `console.log` of an
 * `EncryptedStore` at the default depth printed its primary encrypt key, and `JSON.stringify` of a
 * keyring, a secure store, a scoped store or the token verifier printed every primary key.
 *
 * A table builds every public class (each used first, so its caches are warm), then looks for any
 * key's bytes - as base64url, base64, hex, Node's Buffer rendering or a decimal byte list - and for
 * the keyset passphrase in: `util.inspect` at the default depth and at depth 10 (with and without
 * custom inspectors, i.e. the raw enumerable graph), `JSON.stringify`, a walk of
 * `Object.entries` (into Maps, Sets, arrays and typed arrays, comparing bytes), and
 * `structuredClone` (its result, or its error).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Keyring, KeysetEnvSource, KeysetFileSource, MemoryStore, passphraseProvider, secureStore } from 'sealed-session-store';
import { EncryptedStore, StoreKeysetSource, TtlStore } from 'sealed-session-store/kit';
import { SessionTokens } from 'sealed-session-store/tokens';
import { createSessionStore } from 'sealed-session-store/config';
import { McpEventLog, mcpSessions, requestStateCodec } from 'sealed-session-store/mcp';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { deriveAlgorithmKey } from '../../src/crypto/aead/subkey.js';
import { KeyringManager } from '../../src/keys/keyring-manager.js';
import { parseJwks } from '../../src/keys/jwks.js';
import { EnvelopeSealer, Sealer } from '../../src/layers/sealer.js';
import { Output } from '../../src/cli/io.js';
import { base64urlDecode } from '../../src/util/bytes.js';
import { secureRandom } from '../../src/util/random.js';

const PASSPHRASE = 'the keyset passphrase 7f3a9c';
const dir = mkdtempSync(join(tmpdir(), 'sss-nokeys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every key of `ring`, and the subkeys the other AEADs derive from its encrypt keys. */
function keyBytes(ring: Keyring): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const jwk of ring.insecureExportCleartextJwks().keys) {
    if (jwk.k === undefined) continue;
    const key = base64urlDecode(jwk.k)!;
    out.push(key);
    if (jwk.purpose === 'encrypt') out.push(deriveAlgorithmKey(key, 'xchacha20-poly1305'), deriveAlgorithmKey(key, 'aes-256-gcm-siv'));
  }
  return out;
}

function spellings(key: Uint8Array): string[] {
  const b = Buffer.from(key);
  const hex = b.toString('hex');
  return [
    b.toString('base64url'),
    b.toString('base64'),
    b.toString('base64').replace(/=+$/, ''),
    hex,
    hex.toUpperCase(),
    [...b.subarray(0, 8)].map((x) => x.toString(16).padStart(2, '0')).join(' '), // <Buffer 0c 22 ...>
    `[${[...b.subarray(0, 8)].join(',')}`, // Uint8Array(32) [ 12, 34, ... ] with whitespace removed
    `{"0":${b[0]},"1":${b[1]},"2":${b[2]}`, // a typed array through JSON.stringify
  ];
}

function leaksIn(text: string, keys: Uint8Array[], secrets: string[]): string[] {
  const squeezed = text.replace(/\s+/g, '');
  const found: string[] = [];
  for (const key of keys) for (const s of spellings(key)) if (text.includes(s) || squeezed.includes(s.replace(/\s+/g, ''))) found.push(s);
  for (const s of secrets) if (text.includes(s)) found.push(s);
  return found;
}

/** Walks what enumeration and structuredClone reach: own enumerable properties, Map/Set contents, arrays. */
function walk(root: unknown, keys: Uint8Array[], secrets: string[]): string[] {
  const found: string[] = [];
  const seen = new Set<unknown>();
  const visit = (v: unknown, path: string, depth: number) => {
    if (depth > 30) return;
    if (typeof v === 'string') {
      for (const leak of leaksIn(v, keys, secrets)) found.push(`${path}: ${leak}`);
      return;
    }
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      const bytes = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      for (const key of keys) if (bytes.includes(Buffer.from(key))) found.push(`${path}: key bytes`);
      return;
    }
    if (v instanceof Map) for (const [k, x] of v) (visit(k, `${path}<key>`, depth + 1), visit(x, `${path}<value>`, depth + 1));
    if (v instanceof Set) for (const x of v) visit(x, `${path}<item>`, depth + 1);
    for (const [k, x] of Object.entries(v)) visit(x, `${path}.${k}`, depth + 1);
  };
  visit(root, '$', 0);
  return found;
}

function report(obj: unknown, keys: Uint8Array[], secrets: string[]): string[] {
  const found: string[] = [];
  const check = (where: string, text: string) => {
    for (const leak of leaksIn(text, keys, secrets)) found.push(`${where}: ${leak}`);
  };
  check('console.log depth', inspect(obj));
  check('inspect depth 10', inspect(obj, { depth: 10 }));
  check('inspect depth 10, showHidden', inspect(obj, { depth: 10, showHidden: true }));
  check('inspect raw graph', inspect(obj, { depth: 10, customInspect: false, maxArrayLength: 1000, maxStringLength: Infinity }));
  try {
    check('JSON.stringify', JSON.stringify(obj) ?? '');
  } catch (err) {
    check('JSON.stringify error', String(err));
  }
  found.push(...walk(obj, keys, secrets).map((x) => `Object.entries ${x}`));
  try {
    const clone = structuredClone(obj);
    found.push(...walk(clone, keys, secrets).map((x) => `structuredClone ${x}`));
    check('structuredClone result', inspect(clone, { depth: 10, maxArrayLength: 1000 }));
  } catch (err) {
    check('structuredClone error', `${String(err)} ${(err as Error).stack ?? ''}`);
  }
  return found;
}

interface Built {
  obj: unknown;
  ring: Keyring;
  /** Key material not in `ring` that must not show either. */
  extraKeys?: Uint8Array[];
  secrets?: string[];
}

const owner = { subject: 'alice' };

const table: Array<[string, () => Promise<Built>]> = [
  ['Keyring (in memory)', async () => {
    const ring = Keyring.generate();
    ring.rotate('encrypt');
    return { obj: ring, ring };
  }],
  ['Keyring (keyset file, wrapped)', async () => {
    const provider = passphraseProvider(PASSPHRASE, { logN: 10, unsafeLowCost: true });
    const ring = await Keyring.fromFile(join(dir, 'k1.json'), { provider, createIfMissing: true });
    await ring.transaction((m) => m.rotate('sign'));
    return { obj: ring, ring, secrets: [PASSPHRASE] };
  }],
  ['Keyring (environment, wrapped)', async () => {
    const provider = passphraseProvider(PASSPHRASE, { logN: 10, unsafeLowCost: true });
    const src = Keyring.generate();
    const env = { KS: JSON.stringify(await src.exportWrapped(provider)), SSS_KEYSET_PASSPHRASE: PASSPHRASE };
    const ring = await Keyring.fromEnv('KS', { provider, env });
    return { obj: ring, ring, secrets: [PASSPHRASE] };
  }],
  ['KeyringManager', async () => {
    const ring = Keyring.generate();
    const drawn: Uint8Array[] = [];
    const random = (n: number) => {
      const b = secureRandom(n);
      if (n === 32) drawn.push(b.slice()); // the new key's material: look for it too
      return b;
    };
    const manager = new KeyringManager(parseJwks(ring.insecureExportCleartextJwks()), { now: Date.now, random, maxSessionLifetimeMs: 1000 });
    manager.rotate('hash');
    expect(drawn).toHaveLength(1);
    return { obj: manager, ring, extraKeys: drawn };
  }],
  ['KeysetFileSource', async () => {
    const ring = Keyring.generate();
    const source = new KeysetFileSource(join(dir, 'k2.json'), { insecureCleartext: true });
    await source.transaction(async () => ring.insecureExportCleartextJwks());
    await source.read();
    return { obj: source, ring };
  }],
  ['KeysetEnvSource', async () => {
    const ring = Keyring.generate();
    const env = { KS: JSON.stringify(ring.insecureExportCleartextJwks()), SSS_KEYSET_PASSPHRASE: PASSPHRASE };
    const source = new KeysetEnvSource('KS', { insecureCleartext: true, env });
    await source.read();
    return { obj: source, ring, secrets: [PASSPHRASE] };
  }],
  ['StoreKeysetSource (a wrapped keyset kept in a MemoryStore)', async () => {
    const ring = Keyring.generate();
    const provider = passphraseProvider(PASSPHRASE, { logN: 10, unsafeLowCost: true });
    const source = new StoreKeysetSource(new MemoryStore(), { provider, createIfMissing: true });
    await source.transaction(async () => ring.insecureExportCleartextJwks());
    await source.read();
    return { obj: source, ring, secrets: [PASSPHRASE] };
  }],
  ['passphraseProvider (KeyEncryptionProvider)', async () => {
    const provider = passphraseProvider(PASSPHRASE, { logN: 10, unsafeLowCost: true });
    const ring = Keyring.generate();
    await Keyring.fromWrapped(await ring.exportWrapped(provider), provider);
    return { obj: provider, ring, secrets: [PASSPHRASE] };
  }],
  ['SecureStore', async () => {
    const ring = Keyring.generate();
    const store = secureStore(new MemoryStore(), { keyring: ring });
    const id = await store.for(owner).create({ a: 1 });
    await store.for(owner).load(id);
    store.verifyToken(store.issueToken(id, owner), owner);
    await store.revokeOwner('bob');
    return { obj: store, ring };
  }],
  ['ScopedSessionStore', async () => {
    const ring = Keyring.generate();
    const scoped = secureStore(new MemoryStore(), { keyring: ring }).for(owner);
    const id = await scoped.create({ a: 1 });
    await scoped.update(id, { b: 2 });
    return { obj: scoped, ring };
  }],
  ['EncryptedStore (xchacha20-poly1305)', async () => {
    const ring = Keyring.generate();
    const store = new EncryptedStore(new MemoryStore(), { keyring: ring, namespace: 'app', algorithm: 'xchacha20-poly1305' });
    await store.save('s1', { a: 1 });
    await store.load('s1');
    return { obj: store, ring };
  }],
  ['EncryptedStore (aes-256-gcm)', async () => {
    const ring = Keyring.generate();
    const store = new EncryptedStore(new MemoryStore(), { keyring: ring, namespace: 'app' });
    await store.save('s1', { a: 1 });
    await store.load('s1');
    return { obj: store, ring };
  }],
  ['TtlStore', async () => {
    const ring = Keyring.generate();
    const store = new TtlStore(new EncryptedStore(new MemoryStore(), { keyring: ring, namespace: 'app' }));
    await store.save('s1', { a: 1 });
    await store.load('s1');
    return { obj: store, ring };
  }],
  ['SessionTokens', async () => {
    const ring = Keyring.generate();
    const tokens = new SessionTokens(ring);
    tokens.verify(tokens.issue('sid-1', owner), owner);
    return { obj: tokens, ring };
  }],
  ['Sealer', async () => {
    const ring = Keyring.generate();
    const sealer = new Sealer({ keyring: ring, algorithm: 'aes-256-gcm-siv' });
    sealer.primary();
    return { obj: sealer, ring };
  }],
  ['EnvelopeSealer', async () => {
    const ring = Keyring.generate();
    const sealer = new EnvelopeSealer({ keyring: ring, namespace: 'app' });
    sealer.open('s1', sealer.seal('s1', sealer.serialize({ a: 1 })));
    return { obj: sealer, ring };
  }],
  ['McpSessions', async () => {
    const ring = Keyring.generate();
    const store = secureStore(new MemoryStore(), { keyring: ring });
    const sessions = mcpSessions({ store, createServer: () => new McpServer({ name: 't', version: '1' }), events: { backend: new MemoryStore() } });
    return { obj: sessions, ring };
  }],
  ['McpEventLog', async () => {
    const ring = Keyring.generate();
    const log = new McpEventLog({ backend: new MemoryStore(), keyring: ring, namespace: 'events' });
    return { obj: log, ring };
  }],
  ['requestStateCodec', async () => {
    const ring = Keyring.generate();
    const codec = requestStateCodec({ keyring: ring, namespace: 'app' });
    return { obj: codec, ring };
  }],
  ['createSessionStore (config, keyset file)', async () => {
    const provider = passphraseProvider(PASSPHRASE);
    const path = join(dir, 'k3.json');
    const made = await Keyring.generate().exportWrapped(provider);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, JSON.stringify(made));
    const created = await createSessionStore({ adapter: 'memory', keyset: { path, passphrase: PASSPHRASE } });
    await created.store.for(owner).create({ a: 1 });
    return { obj: created, ring: created.keyring, secrets: [PASSPHRASE] };
  }],
  ['createSessionStore (config, cleartext keyset JSON)', async () => {
    const ring = Keyring.generate();
    const created = await createSessionStore({ adapter: 'memory', keyset: { json: JSON.stringify(ring.insecureExportCleartextJwks()), insecureCleartext: true } });
    return { obj: created, ring };
  }],
  ['CLI Output', async () => {
    const ring = Keyring.generate();
    const io = {
      stdout: () => {},
      stderr: () => {},
      env: { SSS_KEYSET_PASSPHRASE: PASSPHRASE, SSS_KEYSET_JSON: JSON.stringify(ring.insecureExportCleartextJwks()) },
      cwd: dir,
      isTTY: false,
    };
    return { obj: new Output(io, false), ring, secrets: [PASSPHRASE] };
  }],
];

describe('no key material through inspect, JSON, enumeration or structuredClone', () => {
  for (const [name, build] of table) {
    it(name, async () => {
      const { obj, ring, extraKeys = [], secrets = [] } = await build();
      const keys = [...keyBytes(ring), ...extraKeys];
      expect(keys.length).toBeGreaterThan(0);
      expect(report(obj, keys, secrets)).toEqual([]);
    });
  }

  it('the checks find a key that is exposed (the test can fail)', () => {
    const ring = Keyring.generate();
    const keys = keyBytes(ring);
    const exposed = { holder: { key: ring.primary('encrypt').key } };
    expect(report(exposed, keys, []).length).toBeGreaterThan(0);
    expect(report({ jwks: ring.insecureExportCleartextJwks() }, keys, []).length).toBeGreaterThan(0);
    expect(report(new Map([['k', Buffer.from(ring.primary('hash').key)]]), keys, []).length).toBeGreaterThan(0);
  });

  it('what a keyring shows is its kids and states', () => {
    const ring = Keyring.generate();
    const shown = JSON.parse(JSON.stringify(ring));
    expect(shown.keys.map((k: { kid: string }) => k.kid).sort()).toEqual(ring.list().map((k) => k.kid).sort());
    expect(inspect(ring)).toContain(ring.primary('encrypt').kid);
    expect(inspect(ring)).toMatch(/^Keyring /);
  });
});

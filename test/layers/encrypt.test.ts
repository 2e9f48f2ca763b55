import { describe, expect, it } from 'vitest';
import { MemoryStore, type RecordStore, type SessionState, isSessionStoreError } from 'sealed-session-store';
import { createFakeClock, expectCode } from 'sealed-session-store/testing';
import { ConflictError } from '../../src/contract/errors.js';
import { Keyring } from '../../src/keys/keyring.js';
import { EncryptedStore, type EncryptedStoreOptions } from '../../src/layers/encrypt.js';
import { parseEnvelope } from '../../src/layers/envelope.js';
import { encryptionCounts } from '../../src/admin/keys.js';
import { secureStore } from '../../src/secure-store.js';

function setup(options: Partial<EncryptedStoreOptions> = {}) {
  const clock = createFakeClock();
  const inner = new MemoryStore({ now: clock.now });
  const keyring = options.keyring ?? Keyring.generate({ now: clock.now });
  const store = new EncryptedStore(inner, { keyring, namespace: 'app', now: clock.now, ...options });
  return { clock, inner, keyring, store };
}

async function kidOf(inner: RecordStore, id: string): Promise<string> {
  const rec = await inner.loadRecord(id);
  expect(rec?.value).toBeInstanceOf(Uint8Array);
  return parseEnvelope(rec!.value as Uint8Array, 1 << 30).kid;
}

describe('EncryptedStore', () => {
  it('the inner store only ever sees sealed bytes; states round-trip', async () => {
    const { inner, store } = setup();
    const state = { user: 'alice', secret: 'hunter2-the-secret', n: 3, nested: { a: [1, 'two', null] } };
    await store.save('s1', state);
    const rec = await inner.loadRecord('s1');
    expect(rec?.value).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(rec!.value as Uint8Array).toString('latin1')).not.toContain('hunter2');
    expect(await store.load('s1')).toEqual(state);
  });

  it('passes expiresAt through unchanged and writes a fresh nonce every time', async () => {
    const { inner, store } = setup();
    const v1 = await store.saveRecord('s1', { a: 1 }, { expiresAt: 1_700_000_123_456 });
    const r1 = await inner.loadRecord('s1');
    expect(r1?.expiresAt).toBe(1_700_000_123_456);
    expect((await store.loadRecord('s1'))).toEqual({ value: { a: 1 }, version: v1, expiresAt: 1_700_000_123_456 });
    await store.saveRecord('s1', { a: 1 }, { expiresAt: 1_700_000_123_456, ifVersion: v1 });
    const r2 = await inner.loadRecord('s1');
    expect(Buffer.from(r2!.value as Uint8Array).equals(Buffer.from(r1!.value as Uint8Array))).toBe(false);
    await expectCode(store.saveRecord('s1', { a: 2 }, { expiresAt: 1, ifVersion: v1 }), 'conflict');
    await expectCode(store.saveRecord('s1', { a: 2 }, { expiresAt: 1, ifAbsent: true }), 'conflict');
  });

  it('validates options', () => {
    const inner = new MemoryStore();
    const keyring = Keyring.generate();
    const bad: Array<Partial<EncryptedStoreOptions>> = [
      { namespace: '' },
      { namespace: 'x'.repeat(256) },
      { algorithm: 'aes-128-cbc' as never },
      { engine: 'node', algorithm: 'xchacha20-poly1305' },
      { engine: 'gpu' as never },
      { maxPlaintextBytes: 0 },
    ];
    for (const b of bad) expect(() => new EncryptedStore(inner, { keyring, namespace: 'ok', ...b })).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    expect(() => new EncryptedStore({} as RecordStore, { keyring, namespace: 'ok' })).toThrow(expect.objectContaining({ code: 'invalid_input' }));
  });

  it('lazy re-encryption: a load under an older key re-seals under the primary and returns the NEW version', async () => {
    const { clock, inner, keyring, store } = setup();
    await store.save('s1', { a: 1 }, { ttlMs: 60_000 });
    const before = await inner.loadRecord('s1');
    const oldKid = keyring.primary('encrypt').kid;
    const fresh = keyring.rotate('encrypt');
    clock.advance(1000);
    const rec = await store.loadRecord('s1');
    const after = await inner.loadRecord('s1');
    expect(rec?.value).toEqual({ a: 1 });
    expect(rec?.version).toBe(after?.version);
    expect(rec?.version).not.toBe(before?.version);
    expect(after?.expiresAt).toBe(before?.expiresAt); // a re-seal is not activity
    expect(await kidOf(inner, 's1')).toBe(fresh.kid);
    expect(oldKid).not.toBe(fresh.kid);
    // the caller's next CAS with the returned version succeeds
    await store.saveRecord('s1', { a: 2 }, { expiresAt: rec!.expiresAt, ifVersion: rec!.version });
  });

  it('lazy re-encryption is best-effort: a failed re-seal leaves the load and its result unchanged', async () => {
    const { inner, keyring } = setup();
    const writer = new EncryptedStore(inner, { keyring, namespace: 'app' });
    await writer.save('s1', { a: 1 });
    keyring.rotate('encrypt');
    // A read-only view of the same data (read-only credentials / replica).
    const readOnly = Object.create(inner) as RecordStore;
    readOnly.saveRecord = async () => {
      throw new Error('permission denied');
    };
    const racing = Object.create(inner) as RecordStore;
    racing.saveRecord = async () => {
      throw new ConflictError();
    };
    const original = await inner.loadRecord('s1');
    for (const view of [readOnly, racing]) {
      const store = new EncryptedStore(view, { keyring, namespace: 'app' });
      expect(await store.loadRecord('s1')).toEqual({ value: { a: 1 }, version: original!.version, expiresAt: original!.expiresAt });
      expect(await store.load('s1')).toEqual({ a: 1 });
    }
    // switched off: nothing is written
    const off = new EncryptedStore(inner, { keyring, namespace: 'app', lazyReencrypt: false });
    expect((await off.loadRecord('s1'))?.version).toBe(original!.version);
    expect((await inner.loadRecord('s1'))?.version).toBe(original!.version);
  });

  it('an expired session stays `expired` (not unknown_key) once its key is retired, and is not re-sealed', async () => {
    const { clock, inner, keyring, store } = setup();
    await store.save('s1', { a: 1 }, { ttlMs: 1000 });
    const old = keyring.primary('encrypt').kid;
    keyring.rotate('encrypt');
    clock.advance(2000);
    const v = (await inner.loadRecord('s1'))!.version;
    await store.loadRecord('s1');
    expect((await inner.loadRecord('s1'))!.version).toBe(v);
    keyring.retire(old);
    await expectCode(store.load('s1'), 'expired');
    await expectCode(store.load('missing'), 'not_found');
  });

  it('reads envelopes of any algorithm and re-seals them into the configured one', async () => {
    const { inner, keyring } = setup();
    const gcm = new EncryptedStore(inner, { keyring, namespace: 'app' });
    await gcm.save('s1', { a: 1 });
    const xc = new EncryptedStore(inner, { keyring, namespace: 'app', algorithm: 'xchacha20-poly1305' });
    expect(await xc.load('s1')).toEqual({ a: 1 });
    expect(parseEnvelope((await inner.loadRecord('s1'))!.value as Uint8Array, 1 << 20).spec.name).toBe('xchacha20-poly1305');
    expect(await gcm.load('s1')).toEqual({ a: 1 });
  });

  it('another process with the same keyset reads what this one wrote', async () => {
    const { inner, keyring, store } = setup();
    await store.save('s1', { a: 1 });
    const elsewhere = Keyring.insecureFromCleartextJwks(keyring.insecureExportCleartextJwks());
    expect(await new EncryptedStore(inner, { keyring: elsewhere, namespace: 'app' }).load('s1')).toEqual({ a: 1 });
  });

  it('maxPlaintextBytes: payload_too_large before any encryption (default 1 MiB)', async () => {
    const { store, keyring } = setup({ maxPlaintextBytes: 100 });
    const kid = keyring.primary('encrypt').kid;
    const before = store.encryptionCounts()[kid] ?? 0;
    await expectCode(store.save('s1', { s: 'x'.repeat(100) }), 'payload_too_large');
    await expectCode(store.save('s1', { s: 'é'.repeat(50) }), 'payload_too_large'); // 58 UTF-16 units but 108 UTF-8 bytes
    expect(store.encryptionCounts()[kid] ?? 0).toBe(before);
    await store.save('s1', { s: 'x'.repeat(80) });
    expect(store.encryptionCounts()[kid]).toBe(before + 1);
    expect(setup().store.maxPlaintextBytes).toBe(1024 * 1024);
  });

  it('an envelope longer than maxPlaintextBytes + overhead is refused before decoding', async () => {
    const { inner, store } = setup({ maxPlaintextBytes: 100 });
    await inner.saveRecord('s1', new Uint8Array(100 + 200), { expiresAt: Date.now() * 2 });
    await expectCode(store.load('s1'), 'integrity');
  });

  it('__proto__ in a state never reaches a prototype, through save, load and update', async () => {
    const { store } = setup();
    const hostile = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "ok": 1}') as SessionState;
    await store.save('s1', hostile);
    const loaded = await store.load('s1');
    expect(Object.getPrototypeOf(loaded)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(loaded, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await store.update('s1', JSON.parse('{"__proto__": {"polluted": 2}}') as SessionState);
    const again = await store.load('s1');
    expect(Object.getPrototypeOf(again)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(again.ok).toBe(1);
  });

  it('encryptionCounts counts every write per kid, renewals included', async () => {
    const { store, keyring } = setup();
    const kid = keyring.primary('encrypt').kid;
    await store.save('s1', { a: 1 });
    await store.update('s1', { b: 2 });
    await store.updateTtl('s1', 5000);
    expect(store.encryptionCounts()[kid]).toBe(3);
  });

  it('50 concurrent updates of one session through the layer lose none', async () => {
    const { store } = setup();
    await store.save('s1', {});
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.update('s1', { [`f${i}`]: i })));
    const state = await store.load('s1');
    for (let i = 0; i < 50; i++) expect(state[`f${i}`]).toBe(i);
  });

  it('50 concurrent updates from two "processes" (two layers, one backend) lose none', async () => {
    const { inner, keyring } = setup();
    const a = new EncryptedStore(inner, { keyring, namespace: 'app', cas: { maxAttempts: 100, backoffMs: 0 } });
    const b = new EncryptedStore(inner, { keyring, namespace: 'app', cas: { maxAttempts: 100, backoffMs: 0 } });
    await a.save('s1', {});
    await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).update('s1', { [`f${i}`]: i })));
    const state = await a.load('s1');
    expect(Object.keys(state)).toHaveLength(50);
  });

  it('a rekey running during updates loses none and leaves every session under the new key', async () => {
    const { inner, keyring } = setup();
    const app = new EncryptedStore(inner, { keyring, namespace: 'app', lazyReencrypt: false, cas: { maxAttempts: 200, backoffMs: 0 } });
    const admin = new EncryptedStore(inner, { keyring, namespace: 'app', lazyReencrypt: false, cas: { maxAttempts: 200, backoffMs: 0 } });
    const ids = Array.from({ length: 40 }, (_, i) => `s${i}`);
    for (const id of ids) await app.save(id, { id });
    const fresh = keyring.rotate('encrypt');
    const updates = ids.flatMap((id) => Array.from({ length: 5 }, (_, j) => app.update(id, { [`u${j}`]: j })));
    const rekey = admin.rekey({ batchSize: 7, concurrency: 3 });
    await Promise.all(updates);
    const result = await rekey;
    expect(result.failed).toBe(0);
    expect(result.done).toBe(true);
    await admin.rekey(); // sessions updated by `app` after the walk passed them are already under the new key
    for (const id of ids) {
      expect(await app.load(id)).toEqual({ id, u0: 0, u1: 1, u2: 2, u3: 3, u4: 4 });
      expect(await kidOf(inner, id)).toBe(fresh.kid);
    }
  });

  it('rekey re-seals every active session, keeps expiries, reports, and is resumable', async () => {
    const { clock, inner, keyring, store } = setup({ lazyReencrypt: false });
    for (let i = 0; i < 250; i++) await store.save(`s${String(i).padStart(3, '0')}`, { i }, { ttlMs: 60_000 + i });
    await store.save('gone', { x: 1 }, { ttlMs: 10 });
    clock.advance(100); // 'gone' expires: not listed, not touched
    const before = new Map<string, number>();
    for (let i = 0; i < 250; i++) before.set(`s${String(i).padStart(3, '0')}`, (await inner.loadRecord(`s${String(i).padStart(3, '0')}`))!.expiresAt);
    const oldKid = keyring.primary('encrypt').kid;
    const fresh = keyring.rotate('encrypt');
    expect(await store.keyUsage()).toEqual({ [oldKid]: 250 });

    // interrupted after the first page, then resumed from the cursor
    const ac = new AbortController();
    const progress: number[] = [];
    const first = await store.rekey({
      batchSize: 100,
      signal: ac.signal,
      onProgress: (p) => {
        progress.push(p.scanned);
        ac.abort();
      },
    });
    expect(first).toMatchObject({ done: false, scanned: 100, resealed: 100 });
    expect(first.cursor).toBeTypeOf('string');
    const rest = await store.rekey({ batchSize: 100, cursor: first.cursor! });
    expect(rest).toMatchObject({ done: true, scanned: 150, resealed: 150, current: 0, failed: 0 });
    expect(rest.cursor).toBeUndefined();
    expect(progress).toEqual([100]);
    expect(await store.keyUsage()).toEqual({ [fresh.kid]: 250 });
    for (const [id, exp] of before) expect((await inner.loadRecord(id))!.expiresAt).toBe(exp);
    expect(await store.rekey()).toMatchObject({ scanned: 250, current: 250, resealed: 0, done: true });
  });

  it('rekey counts records it cannot open as failed and carries on', async () => {
    const { inner, keyring, store } = setup({ lazyReencrypt: false });
    await store.save('a', { a: 1 });
    await store.save('b', { b: 1 });
    const rec = await inner.loadRecord('b');
    const broken = (rec!.value as Uint8Array).slice();
    broken[broken.length - 1]! ^= 1;
    await inner.saveRecord('b', broken, { expiresAt: rec!.expiresAt });
    keyring.rotate('encrypt');
    expect(await store.rekey()).toMatchObject({ scanned: 2, resealed: 1, failed: 1, done: true });
  });

  it('retireKey refuses an encrypt key that still seals sessions, unless forced or re-keyed', async () => {
    const { keyring, store } = setup({ lazyReencrypt: false });
    await store.save('s1', { a: 1 });
    const old = keyring.primary('encrypt').kid;
    keyring.rotate('encrypt');
    await expectCode(store.retireKey(old), 'key_state');
    expect(keyring.get(old)?.status).toBe('active');
    await store.rekey();
    await store.retireKey(old);
    expect(keyring.get(old)?.status).toBe('retired');
    // forced: the session becomes unreadable with unknown_key
    await store.save('s2', { b: 1 });
    const second = keyring.primary('encrypt').kid;
    keyring.rotate('encrypt');
    await store.retireKey(second, { force: true });
    await expectCode(store.load('s2'), 'unknown_key');
    // the primary is never retired; sign/hash keys follow the keyring's lifetime rule
    await expectCode(store.retireKey(keyring.primary('encrypt').kid, { force: true }), 'key_state');
    const sign = keyring.primary('sign').kid;
    keyring.rotate('sign');
    await expectCode(store.retireKey(sign), 'key_state');
  });

  describe('plaintext migration (unsafeAcceptPlaintext)', () => {
    it('refuses plaintext records by default with integrity', async () => {
      const { inner, store } = setup();
      await inner.save('old', { legacy: true });
      await expectCode(store.load('old'), 'integrity');
      await expectCode(store.update('old', { x: 1 }), 'integrity');
      expect(await inner.load('old')).toEqual({ legacy: true });
    });

    it('reads plaintext as is, seals it on the next write, and rekey seals all of them', async () => {
      const { inner, keyring, store } = setup({ unsafeAcceptPlaintext: true, lazyReencrypt: false });
      for (let i = 0; i < 5; i++) await inner.save(`old${i}`, { legacy: i });
      await store.save('new', { fresh: true });
      expect(await store.keyUsage()).toEqual({ plaintext: 5, [keyring.primary('encrypt').kid]: 1 });
      expect(await store.load('old0')).toEqual({ legacy: 0 });
      await store.update('old0', { touched: true });
      expect((await inner.loadRecord('old0'))!.value).toBeInstanceOf(Uint8Array);
      expect(await store.rekey()).toMatchObject({ resealed: 4, current: 2, failed: 0 });
      expect(await store.keyUsage()).toEqual({ [keyring.primary('encrypt').kid]: 6 });
      const strict = new EncryptedStore(inner, { keyring, namespace: 'app', now: Date.now });
      expect(await strict.load('old3')).toEqual({ legacy: 3 });
    });

    it('lazy re-encryption seals plaintext on load', async () => {
      const { inner, store } = setup({ unsafeAcceptPlaintext: true });
      await inner.save('old', { legacy: true });
      expect(await store.load('old')).toEqual({ legacy: true });
      expect((await inner.loadRecord('old'))!.value).toBeInstanceOf(Uint8Array);
    });
  });

  it('close() waits for queued work, closes the inner store, and is idempotent', async () => {
    const { inner, store } = setup();
    await store.save('s1', {});
    const pending = Promise.all(Array.from({ length: 10 }, (_, i) => store.update('s1', { [`k${i}`]: i })));
    await store.close();
    await pending;
    await store.close();
    await expectCode(inner.load('s1'), 'backend_unavailable');
    try {
      await store.load('s1');
      expect.unreachable();
    } catch (err) {
      expect(isSessionStoreError(err, 'backend_unavailable')).toBe(true);
    }
  });
});

describe('encryption counters (each key\'s nonce budget)', () => {
  it('two stores sealing under one key share its count; another algorithm is another key', async () => {
    const { inner, keyring, store: a } = setup();
    const kid = keyring.primary('encrypt').kid;
    const b = new EncryptedStore(inner, { keyring, namespace: 'other' });
    await a.save('s1', { a: 1 });
    await b.save('s2', { b: 1 });
    await b.save('s3', { b: 2 });
    expect(a.encryptionCounts()).toEqual({ [kid]: 3 });
    expect(b.encryptionCounts()).toEqual({ [kid]: 3 });
    expect(encryptionCounts([a.sealer, b.sealer])).toEqual({ [kid]: 3 }); // one key, counted once
    const x = new EncryptedStore(inner, { keyring, namespace: 'app', algorithm: 'xchacha20-poly1305' });
    expect(x.encryptionCounts()).toEqual({}); // nothing sealed yet under its derived key
    await x.save('s4', { x: 1 });
    expect(x.encryptionCounts()).toEqual({ [kid]: 1 });
    expect(a.encryptionCounts()).toEqual({ [kid]: 3 });
    expect(encryptionCounts([a.sealer, x.sealer])).toEqual({ [kid]: 4 }); // two derived keys of one kid: summed
  });

  it('the same key loaded twice (another keyring, a reload) is one count; a rotation starts a new one', async () => {
    const { inner, keyring, store } = setup();
    const kid = keyring.primary('encrypt').kid;
    await store.save('s1', {});
    const copy = new EncryptedStore(inner, { keyring: Keyring.insecureFromCleartextJwks(keyring.insecureExportCleartextJwks()), namespace: 'app' });
    await copy.save('s2', {});
    expect(store.encryptionCounts()).toEqual({ [kid]: 2 });
    const next = keyring.rotate('encrypt').kid;
    await store.save('s3', {});
    expect(store.encryptionCounts()).toEqual({ [kid]: 2, [next]: 1 });
    expect(copy.encryptionCounts()).toEqual({ [kid]: 2 });
  });

  it('SecureStore.stats() counts every write of its stack, reads none', async () => {
    const keyring = Keyring.generate();
    const store = secureStore(new MemoryStore(), { keyring });
    const owner = { subject: 'alice' };
    const id = await store.for(owner).create({ n: 1 });
    await store.for(owner).update(id, { n: 2 });
    await store.for(owner).load(id);
    await store.revokeOwner('bob'); // a revocation mark is sealed too
    expect(store.stats().encryptions).toEqual({ [keyring.primary('encrypt').kid]: 3 });
    await store.close();
  });
});

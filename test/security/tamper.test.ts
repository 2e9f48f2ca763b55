/**
 * Tampering with sealed envelopes: every change an attacker with write access to the backend can
 * make gives a typed error (`integrity`, or `unknown_key` when a kid no longer names a usable key)
 * and never returns data.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStore, type RecordStore, isSessionStoreError } from 'sealed-session-store';
import { Keyring } from '../../src/keys/keyring.js';
import { EncryptedStore } from '../../src/layers/encrypt.js';
import { parseEnvelope } from '../../src/layers/envelope.js';

const EXP = () => Date.now() + 3_600_000;
const state = { user: 'alice', roles: ['admin'], n: 42 };

async function setup(algorithm: 'aes-256-gcm' | 'aes-256-gcm-siv' | 'xchacha20-poly1305' = 'aes-256-gcm') {
  const keyring = Keyring.generate();
  const inner = new MemoryStore();
  const store = new EncryptedStore(inner, { keyring, namespace: 'app', algorithm, lazyReencrypt: false });
  await store.save('victim', state);
  const envelope = (await inner.loadRecord('victim'))!.value as Uint8Array;
  return { keyring, inner, store, envelope };
}

/** Plants `bytes` under `id` in the backend and returns the error code of loading it (or 'DATA'). */
async function outcome(inner: RecordStore, store: EncryptedStore, bytes: Uint8Array, id = 'victim', viaUpdate = true): Promise<string> {
  await inner.saveRecord(id, bytes, { expiresAt: EXP() });
  const codes = new Set<string>();
  const reads: Array<() => Promise<unknown>> = [() => store.load(id), () => store.loadRecord(id)];
  if (viaUpdate) reads.push(() => store.update(id, { x: 1 }));
  for (const read of reads) {
    try {
      await read();
      return 'DATA';
    } catch (err) {
      if (!isSessionStoreError(err)) throw err;
      codes.add(err.code);
    }
  }
  expect(codes.size).toBe(1);
  return [...codes][0]!;
}

describe('tampered envelopes', () => {
  for (const algorithm of ['aes-256-gcm', 'aes-256-gcm-siv', 'xchacha20-poly1305'] as const) {
    it(`${algorithm}: flipping any bit of any byte never returns data`, async () => {
      const { inner, store, envelope } = await setup(algorithm);
      const kidEnd = 3 + envelope[2]!;
      for (let i = 0; i < envelope.length; i++) {
        for (const mask of [0x01, 0x80]) {
          const bad = envelope.slice();
          bad[i]! ^= mask;
          const code = await outcome(inner, store, bad, 'victim', mask === 0x01);
          // A changed kid (or kid length) byte may name no key at all: unknown_key. Anything else: integrity.
          if (i >= 2 && i < kidEnd) expect(['integrity', 'unknown_key'], `byte ${i}`).toContain(code);
          else expect(code, `byte ${i} mask ${mask}`).toBe('integrity');
        }
      }
    }, 60_000);
  }

  it('truncation at every length and extension by 1..64 bytes: integrity', async () => {
    const { inner, store, envelope } = await setup();
    for (let len = 0; len < envelope.length; len++) expect(await outcome(inner, store, envelope.slice(0, len)), `length ${len}`).toBe('integrity');
    for (let extra = 1; extra <= 64; extra++) {
      const longer = new Uint8Array(envelope.length + extra);
      longer.set(envelope);
      expect(await outcome(inner, store, longer)).toBe('integrity');
    }
  });

  it('an envelope moved to another session id or namespace does not open', async () => {
    const { keyring, inner, store, envelope } = await setup();
    expect(await outcome(inner, store, envelope, 'attacker')).toBe('integrity');
    const otherNs = new EncryptedStore(inner, { keyring, namespace: 'app2' });
    await inner.saveRecord('victim', envelope, { expiresAt: EXP() });
    await expect(otherNs.load('victim')).rejects.toMatchObject({ code: 'integrity' });
    // and it still opens where it belongs
    expect(await store.load('victim')).toEqual(state);
  });

  it('substituting another valid encrypt kid: integrity; a kid of another purpose: unknown_key', async () => {
    const { keyring, inner, store, envelope } = await setup();
    const other = keyring.rotate('encrypt', { activate: false });
    const { kid } = parseEnvelope(envelope, 1 << 20);
    const swap = (newKid: string) => {
      expect(newKid.length).toBe(kid.length);
      const bad = envelope.slice();
      bad.set(Buffer.from(newKid, 'ascii'), 3);
      return bad;
    };
    expect(await outcome(inner, store, swap(other.kid))).toBe('integrity');
    expect(await outcome(inner, store, swap(keyring.primary('hash').kid))).toBe('unknown_key');
    expect(await outcome(inner, store, swap(keyring.primary('sign').kid))).toBe('unknown_key');
  });

  it('re-labelling the algorithm byte, or the version byte: integrity', async () => {
    const { inner, store, envelope } = await setup();
    for (const [pos, values] of [[0, [0, 2, 255]], [1, [0, 2, 3, 4, 255]]] as const) {
      for (const value of values) {
        const bad = envelope.slice();
        bad[pos] = value;
        expect(await outcome(inner, store, bad)).toBe('integrity');
      }
    }
  });

  it('a retired or destroyed key: unknown_key, never data', async () => {
    const { keyring, inner, store, envelope } = await setup();
    const kid = keyring.primary('encrypt').kid;
    keyring.rotate('encrypt');
    keyring.retire(kid);
    expect(await outcome(inner, store, envelope)).toBe('unknown_key');
    keyring.destroy(kid);
    expect(await outcome(inner, store, envelope)).toBe('unknown_key');
  });

  it('a plaintext state planted in the backend: integrity', async () => {
    const { inner, store } = await setup();
    await inner.saveRecord('victim', { user: 'mallory', roles: ['admin'] }, { expiresAt: EXP() });
    await expect(store.load('victim')).rejects.toMatchObject({ code: 'integrity' });
  });

  it('a failed update leaves the tampered record as it was (nothing is re-sealed from it)', async () => {
    const { inner, store, envelope } = await setup();
    const bad = envelope.slice();
    bad[bad.length - 5]! ^= 1;
    await inner.saveRecord('victim', bad, { expiresAt: EXP() });
    const before = await inner.loadRecord('victim');
    await expect(store.updateTtl('victim', 1000)).rejects.toMatchObject({ code: 'integrity' });
    expect(await inner.loadRecord('victim')).toEqual(before);
  });

  it('random bytes never open (property)', async () => {
    const { keyring, inner, store } = await setup();
    const kid = keyring.primary('encrypt').kid;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.boolean(), async (body, framed) => {
        // Half the cases carry a valid header naming the real kid, so they reach the AEAD.
        const bytes = framed ? new Uint8Array([1, 1, kid.length, ...Buffer.from(kid, 'ascii'), ...body]) : body;
        const code = await outcome(inner, store, bytes);
        expect(['integrity', 'unknown_key']).toContain(code);
      }),
      { numRuns: 300 },
    );
  });

  it('the integrity error carries no detail', async () => {
    const { inner, store, envelope } = await setup();
    const messages = new Set<string>();
    for (const bad of [envelope.slice(0, 5), envelope.slice(0, envelope.length - 1), Uint8Array.from(envelope, (b, i) => (i === envelope.length - 1 ? b ^ 1 : b))]) {
      await inner.saveRecord('victim', bad, { expiresAt: EXP() });
      try {
        await store.load('victim');
      } catch (err) {
        messages.add(`${(err as Error).name}:${(err as Error).message}:${String((err as Error).cause)}`);
      }
    }
    expect(messages.size).toBe(1);
  });
});

/**
 * Every keyring (and keyring manager) method checks its arguments before it touches anything: a
 * bad call from JavaScript is `invalid_input`, and the keyring afterwards is exactly what it was
 * and still works. (`keyring.rotate('bogus')` used to add a key of no purpose, then throw a plain
 * TypeError, and leave a keyring that failed every later change.)
 */
import { describe, expect, it } from 'vitest';
import { Keyring } from 'sealed-session-store';
import { isSessionStoreError } from '../../src/contract/errors.js';
import { parseJwks } from '../../src/keys/jwks.js';
import { KeyringManager } from '../../src/keys/keyring-manager.js';
import { secureRandom } from '../../src/util/random.js';

type Call = (ring: any) => unknown;

async function codeOf(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
  } catch (err) {
    return isSessionStoreError(err) ? err.code : `other: ${String(err)}`;
  }
  return undefined;
}

function snapshot(ring: Keyring): string {
  return JSON.stringify(ring.insecureExportCleartextJwks());
}

function retiredRing() {
  let t = 1_700_000_000_000;
  const ring = Keyring.generate({ now: () => t });
  const old = ring.primary('encrypt').kid;
  ring.rotate('encrypt');
  ring.retire(old);
  t += 1;
  return { ring, old };
}

const BAD_PURPOSES = ['bogus', undefined, null, 42, {}, 'Encrypt', ['encrypt']];
const BAD_KIDS = [undefined, null, 42, '', {}, ['k']];
const BAD_OPTIONS = [null, 'yes', 42, { activate: 'no' }, { force: 1 }];

const keyringCalls: Array<[string, Call[]]> = [
  ['rotate', [...BAD_PURPOSES.map((p): Call => (r) => r.rotate(p)), (r) => r.rotate('encrypt', null), (r) => r.rotate('encrypt', 'x'), (r) => r.rotate('encrypt', { activate: 'no' })]],
  ['promote', BAD_KIDS.map((k): Call => (r) => r.promote(k))],
  ['retire', [...BAD_KIDS.map((k): Call => (r) => r.retire(k)), ...BAD_OPTIONS.filter((o) => !(o !== null && typeof o === 'object' && 'activate' in o)).map((o): Call => (r) => r.retire(r.list()[0].kid, o))]],
  ['reactivate', BAD_KIDS.map((k): Call => (r) => r.reactivate(k))],
  ['destroy', BAD_KIDS.map((k): Call => (r) => r.destroy(k))],
  ['primary', BAD_PURPOSES.map((p): Call => (r) => r.primary(p))],
  ['keyFor', [...BAD_PURPOSES.map((p): Call => (r) => r.keyFor(p, r.primary('encrypt').kid)), (r) => r.keyFor('encrypt', undefined), (r) => r.keyFor('encrypt', 42)]],
  ['keysFor', BAD_PURPOSES.map((p): Call => (r) => r.keysFor(p))],
  ['get', BAD_KIDS.map((k): Call => (r) => r.get(k))],
  ['onChange', [undefined, null, 'f', {}].map((f): Call => (r) => r.onChange(f))],
  ['transaction', [undefined, null, 'f'].map((f): Call => (r) => r.transaction(f))],
  ['watch', [null, 'x', { onError: 'no' }].map((o): Call => (r) => r.watch(o))],
  ['exportWrapped', [undefined, null, {}, { name: 'x' }].map((p): Call => (r) => r.exportWrapped(p))],
];

describe('Keyring methods refuse bad arguments with invalid_input and change nothing', () => {
  for (const [method, calls] of keyringCalls) {
    it(method, async () => {
      const { ring, old } = retiredRing();
      let changes = 0;
      ring.onChange(() => changes++);
      for (const call of calls) {
        const before = snapshot(ring);
        expect(await codeOf(() => call(ring)), `${method}: ${call.toString()}`).toBe('invalid_input');
        expect(snapshot(ring)).toBe(before);
      }
      expect(changes).toBe(0);
      // Still fully usable: every purpose has its primary, and every kind of change still works.
      for (const purpose of ['encrypt', 'sign', 'hash'] as const) expect(ring.keyFor(purpose, ring.primary(purpose).kid)).toHaveLength(32);
      const fresh = ring.rotate('sign', { activate: false });
      ring.promote(fresh.kid);
      ring.reactivate(old);
      ring.retire(old, { force: true });
      ring.destroy(old);
      expect(ring.get(old)?.status).toBe('destroyed');
    });
  }

  it('a string kid that names no key stays unknown_key (kids arrive in tokens and envelopes)', () => {
    const ring = Keyring.generate();
    expect(() => ring.keyFor('encrypt', 'nope')).toThrowError(expect.objectContaining({ code: 'unknown_key' }));
    expect(() => ring.promote('nope')).toThrowError(expect.objectContaining({ code: 'unknown_key' }));
    expect(ring.get('nope')).toBeUndefined();
  });
});

describe('KeyringManager methods refuse bad arguments with invalid_input and change nothing', () => {
  const managerCalls: Array<[string, Call[]]> = [
    ['rotate', [...BAD_PURPOSES.map((p): Call => (m) => m.rotate(p)), (m) => m.rotate('hash', 7), (m) => m.rotate('hash', { activate: 1 })]],
    ['promote', BAD_KIDS.map((k): Call => (m) => m.promote(k))],
    ['retire', [...BAD_KIDS.map((k): Call => (m) => m.retire(k)), (m) => m.retire(m.list()[0].kid, 'x'), (m) => m.retire(m.list()[0].kid, { force: 'yes' })]],
    ['reactivate', BAD_KIDS.map((k): Call => (m) => m.reactivate(k))],
    ['destroy', BAD_KIDS.map((k): Call => (m) => m.destroy(k))],
    ['primary', BAD_PURPOSES.map((p): Call => (m) => m.primary(p))],
    ['get', BAD_KIDS.map((k): Call => (m) => m.get(k))],
  ];
  for (const [method, calls] of managerCalls) {
    it(method, async () => {
      const { ring } = retiredRing();
      const manager = new KeyringManager(parseJwks(ring.insecureExportCleartextJwks()), { now: () => 1_700_000_000_001, random: secureRandom, maxSessionLifetimeMs: 1000 });
      const before = JSON.stringify(manager.list());
      for (const call of calls) {
        expect(await codeOf(() => call(manager)), `${method}: ${call.toString()}`).toBe('invalid_input');
        expect(JSON.stringify(manager.list())).toBe(before);
        expect(manager.changed).toBe(false);
      }
      manager.rotate('encrypt');
      expect(manager.finish().length).toBe(manager.list().length);
    });
  }

  it('inside a transaction, a refused call stores nothing', async () => {
    const stored: { keys: unknown[] }[] = [];
    const ring = await Keyring.fromSource({
      description: 'test source',
      writable: true,
      read: async () => (stored.length === 0 ? undefined : (stored.at(-1) as never)),
      transaction: async (fn) => {
        stored.push((await fn(stored.at(-1) as never)) as never);
      },
    }, { createIfMissing: true });
    const before = JSON.stringify(stored.at(-1));
    expect(await codeOf(() => ring.transaction((m) => m.rotate('bogus' as never)))).toBe('invalid_input');
    expect(JSON.stringify(stored.at(-1))).toBe(before);
    expect(JSON.stringify(ring.insecureExportCleartextJwks())).toBe(before);
  });
});

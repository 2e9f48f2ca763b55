/**
 * hideExistence and timing: a stranger asking for another owner's session and for an id that does
 * not exist must make the store do the same work, or the time of the `not_found` says whether the id
 * exists. Counted, not timed: every AEAD open (the shared engine objects, spied) and every HMAC
 * (the module wrapped with a counter). The timings side by side are a bench pair (bench/pairs.ts,
 * `hide-existence`).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AuditEvent, Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { createFakeClock, expectCode } from 'sealed-session-store/testing';
import { getAead } from '../../src/crypto/aead/index.js';

const counts = vi.hoisted(() => ({ hmac: 0 }));
vi.mock('../../src/crypto/hmac.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/crypto/hmac.js')>();
  return {
    ...real,
    hmacSha256: (...args: Parameters<typeof real.hmacSha256>) => {
      counts.hmac++;
      return real.hmacSha256(...args);
    },
  };
});

const alice = { subject: 'alice' };
const bob = { subject: 'bob' };
const MISSING = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

let opens = 0;
beforeEach(() => {
  opens = 0;
  counts.hmac = 0;
  for (const engine of ['node', 'noble'] as const) {
    const aead = getAead('aes-256-gcm', engine);
    const real = aead.open.bind(aead);
    vi.spyOn(aead, 'open').mockImplementation((...args) => {
      opens++;
      return real(...args);
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
});

function setup(options: { hideExistence: boolean; audit: boolean }) {
  const clock = createFakeClock(Date.UTC(2030, 0, 1));
  const events: AuditEvent[] = [];
  const store = secureStore(new MemoryStore({ now: clock.now }), {
    keyring: Keyring.generate({ now: clock.now }),
    now: clock.now,
    hideExistence: options.hideExistence,
    ...(options.audit ? { onEvent: (e: AuditEvent) => events.push(e) } : {}),
  });
  return { store, events };
}

/** The AEAD opens and HMACs one call spends, on a fresh scoped store (as a request handler makes one). */
async function work(run: () => Promise<unknown>): Promise<{ opens: number; hmacs: number; outcome: string }> {
  opens = 0;
  counts.hmac = 0;
  const outcome = await run().then(
    () => 'resolved',
    (err: { code?: string }) => err.code ?? String(err),
  );
  return { opens, hmacs: counts.hmac, outcome };
}

const OPERATIONS: Array<[string, (s: ReturnType<typeof setup>['store'], id: string) => Promise<unknown>]> = [
  ['load', (s, id) => s.for(bob).load(id)],
  ['loadWithMeta', (s, id) => s.for(bob).loadWithMeta(id)],
  ['update', (s, id) => s.for(bob).update(id, { x: 1 })],
  ['update(fn)', (s, id) => s.for(bob).update(id, () => ({ x: 1 }))],
  ['updateTtl', (s, id) => s.for(bob).updateTtl(id, 60_000)],
  ['regenerate', (s, id) => s.for(bob).regenerate(id)],
  ['delete', (s, id) => s.for(bob).delete(id)],
];

describe('hideExistence: another owner’s id and a missing id cost the same work', () => {
  for (const audit of [false, true]) {
    for (const [name, op] of OPERATIONS) {
      it(`${name}${audit ? ' (with an audit sink)' : ''}: same outcome, same AEAD opens, same HMACs`, async () => {
        const { store } = setup({ hideExistence: true, audit });
        const theirs = await store.for(alice).create({ a: 1, note: 'x'.repeat(100) });
        await op(store, MISSING).catch(() => undefined); // first miss seals the decoy (once per key)
        const foreign = await work(() => op(store, theirs));
        const missing = await work(() => op(store, MISSING));
        expect(missing).toEqual(foreign);
        expect(foreign.opens).toBe(1);
        expect(foreign.outcome).toBe(name === 'delete' ? 'resolved' : 'not_found');
        // Nothing of alice's changed.
        expect(await store.for(alice).load(theirs)).toEqual({ a: 1, note: 'x'.repeat(100) });
      });
    }
  }

  it('the decoy follows key rotation, and a stranger’s delete is audited but deletes nothing', async () => {
    const { store, events } = setup({ hideExistence: true, audit: true });
    const theirs = await store.for(alice).create({ a: 1 });
    await expectCode(store.for(bob).load(MISSING), 'not_found');
    await store.rotateKey('encrypt');
    await store.rotateKey('hash');
    const theirsNew = await store.for(alice).create({ a: 2 });
    const foreign = await work(() => store.for(bob).load(theirsNew));
    await expectCode(store.for(bob).load(MISSING), 'not_found'); // re-seals the decoy under the new keys
    const missing = await work(() => store.for(bob).load(MISSING));
    expect(missing).toEqual(foreign);
    await store.for(bob).delete(theirs);
    expect(events.filter((e) => e.type === 'owner_mismatch' && e.operation === 'delete')).toHaveLength(1);
    expect(await store.for(alice).load(theirs)).toEqual({ a: 1 });
  });

  it('without hideExistence a miss opens nothing (and a stranger gets owner_mismatch)', async () => {
    const { store } = setup({ hideExistence: false, audit: false });
    const theirs = await store.for(alice).create({ a: 1 });
    expect(await work(() => store.for(bob).load(MISSING))).toEqual({ opens: 0, hmacs: 0, outcome: 'not_found' });
    expect((await work(() => store.for(bob).load(theirs))).outcome).toBe('owner_mismatch');
    await expectCode(store.for(bob).delete(theirs), 'owner_mismatch');
  });
});

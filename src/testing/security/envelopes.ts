/**
 * Sealed records at rest, as an attacker with write access to the database handles them: an envelope
 * moved to another id, relabelled with another kid, truncated, extended or flipped never opens; every
 * write uses a fresh nonce; the backend holds no plaintext.
 */
import { expect, it } from 'vitest';
import { isSessionStoreError } from '../../internal.js';
import { MINUTE, expectCode } from '../helpers.js';
import { alice, kidOf, nonceOf } from './attacker.js';
import type { SecurityContext } from './types.js';

export function envelopeTests(t: SecurityContext): void {
  it('an envelope swapped to another session id fails integrity', async () => {
    const scoped = t.stack.store.for(alice);
    const a = await scoped.create({ who: 'a' }, { ttlMs: MINUTE });
    const b = await scoped.create({ who: 'b' }, { ttlMs: MINUTE });
    await t.put(b, await t.raw(a));
    await expectCode(scoped.load(b), 'integrity');
    expect(t.events.some((e) => e.type === 'integrity')).toBe(true);
  });

  it('kid confusion: an envelope relabelled with another valid kid never opens', async () => {
    const scoped = t.stack.store.for(alice);
    const id = await scoped.create({ a: 1 }, { ttlMs: MINUTE });
    const envelope = await t.raw(id);
    for (const info of t.stack.store.keyring.list()) {
      if (info.kid.length !== envelope[2] || info.kid === kidOf(envelope)) continue;
      const relabelled = envelope.slice();
      relabelled.set(Buffer.from(info.kid, 'latin1'), 3);
      await t.put(id, relabelled);
      const err = await scoped.load(id).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSessionStoreError(err, 'integrity') || isSessionStoreError(err, 'unknown_key')).toBe(true);
    }
  });

  it('truncated, extended and malformed envelopes never open', async () => {
    const scoped = t.stack.store.for(alice);
    const id = await scoped.create({ a: 1 }, { ttlMs: MINUTE });
    const envelope = await t.raw(id);
    const variants: Uint8Array[] = [new Uint8Array(0), new Uint8Array([1]), envelope.subarray(0, envelope.length - 1), envelope.subarray(0, 20)];
    const extended = new Uint8Array(envelope.length + 1);
    extended.set(envelope);
    variants.push(extended);
    const flipped = envelope.slice();
    flipped[envelope.length - 1]! ^= 1;
    variants.push(flipped);
    for (const v of variants) {
      await t.put(id, v);
      const err = await scoped.load(id).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSessionStoreError(err, 'integrity') || isSessionStoreError(err, 'unknown_key')).toBe(true);
    }
  });

  it('every write uses a fresh nonce (saves, updates, TTL changes)', async () => {
    const scoped = t.stack.store.for(alice);
    const id = await scoped.create({ n: 0 }, { ttlMs: MINUTE });
    const nonces = new Set<string>([nonceOf(await t.raw(id))]);
    for (let i = 1; i <= 30; i++) {
      if (i % 3 === 0) await scoped.save(id, { n: i }, { ttlMs: MINUTE });
      else if (i % 3 === 1) await scoped.update(id, { n: i });
      else await scoped.updateTtl(id, MINUTE + i);
      nonces.add(nonceOf(await t.raw(id)));
    }
    expect(nonces.size).toBe(31);
  });

  it('the backend holds no plaintext of states, owners or session ids', async () => {
    const scoped = t.stack.store.for(alice);
    const id = await scoped.create({ marker: 'PLAINTEXT-MARKER-123' }, { ttlMs: MINUTE });
    const text = Buffer.from(await t.raw(id)).toString('latin1');
    expect(text).not.toContain('PLAINTEXT-MARKER-123');
    expect(text).not.toContain('alice');
    expect(text).not.toContain(id);
  });
}

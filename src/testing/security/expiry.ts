/**
 * Deadlines the backend cannot move: a restored backup stays expired, a backend that never expires
 * keeps nothing alive, the absolute deadline holds through renewals, and a revocation survives a
 * restart.
 */
import { expect, it } from 'vitest';
import { MINUTE, START, expectCode } from '../helpers.js';
import { alice, mallory } from './attacker.js';
import type { SecurityContext } from './types.js';

export function expiryTests(t: SecurityContext): void {
  it('an envelope restored from an old backup stays expired, whatever the backend’s own TTL says', async () => {
    const scoped = t.stack.store.for(alice);
    const id = await scoped.create({ v: 'old' }, { ttlMs: MINUTE });
    const backup = await t.raw(id);
    t.clock.advance(2 * MINUTE);
    await expectCode(scoped.load(id), 'expired');
    // The attacker restores the envelope with a backend expiry far in the future.
    await t.put(id, backup, t.clock.now() + 1000 * MINUTE);
    await expectCode(scoped.load(id), 'expired');
  });

  it('a backend that never expires cannot keep a session alive (TTL bypass)', async () => {
    const scoped = t.stack.store.for(alice);
    const id = await scoped.create({ a: 1 }, { ttlMs: MINUTE });
    const envelope = await t.raw(id);
    t.clock.advance(MINUTE + 1);
    await t.put(id, envelope, t.clock.now() + 10_000 * MINUTE);
    await expectCode(scoped.load(id), 'expired');
    await expectCode(scoped.update(id, { a: 2 }), 'expired');
    await expectCode(scoped.updateTtl(id, MINUTE), 'expired');
  });

  it('the absolute deadline never moves', async () => {
    const scoped = t.stack.store.for(alice);
    const id = await scoped.create({ a: 1 }, { ttlMs: 30 * MINUTE });
    const absolute = t.stack.store.lifetimes.absoluteMs;
    for (let elapsed = 0; elapsed < absolute; elapsed += 20 * MINUTE) {
      t.clock.advance(20 * MINUTE);
      if (t.clock.now() - START >= absolute) break;
      await scoped.updateTtl(id, 10 * 60 * MINUTE);
      await scoped.save(id, { a: 2 }, { ttlMs: 10 * 60 * MINUTE });
    }
    // The backend's own expiry (the space hint) never passes the deadline either.
    expect((await t.stack.backend.loadRecord(id))!.expiresAt).toBeLessThanOrEqual(START + absolute);
    t.clock.set(START + absolute);
    await expectCode(scoped.load(id), 'expired');
  });

  it('revocation ("log out everywhere") kills existing sessions and survives a restart', async () => {
    const scoped = t.stack.store.for(alice);
    const before = await scoped.create({ a: 1 }, { ttlMs: MINUTE });
    const other = await t.stack.store.for(mallory).create({ m: 1 }, { ttlMs: MINUTE });
    t.clock.advance(1);
    // Marked, then deleted: a deleted or rolled-back mark cannot bring the session back.
    await t.stack.store.revokeOwner('alice');
    await expectCode(scoped.load(before), 'not_found');
    const restarted = await t.stack.reopen();
    try {
      await expectCode(restarted.for(alice).load(before), 'not_found');
      expect(await restarted.for(mallory).load(other)).toEqual({ m: 1 });
      t.clock.advance(1);
      const after = await restarted.for(alice).create({ fresh: true }, { ttlMs: MINUTE });
      expect(await restarted.for(alice).load(after)).toEqual({ fresh: true });
    } finally {
      await restarted.close();
    }
  });
}

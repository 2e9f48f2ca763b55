/**
 * One owner's session is out of every other principal's reach: ids cannot be guessed, a stolen token
 * or id opens nothing, no operation of a stranger changes it, and a save on a version this process saw
 * never takes over (or re-dates) a session another process re-created.
 */
import { expect, it } from 'vitest';
import { MINUTE, expectCode } from '../helpers.js';
import { alice, mallory, b64url, fromB64url } from './attacker.js';
import type { SecurityContext } from './types.js';

export function ownershipTests(t: SecurityContext): void {
  it('ids cannot be guessed or enumerated: 192-bit CSPRNG ids, and a guess finds nothing', async () => {
    const scoped = t.stack.store.for(alice);
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) ids.add(await scoped.create({ i }, { ttlMs: MINUTE }));
    expect(ids.size).toBe(200);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{32,}$/);
      expect(fromB64url(id).length).toBeGreaterThanOrEqual(16);
    }
    await expectCode(scoped.load(b64url(new Uint8Array(24).fill(7))), 'not_found');
  });

  it('hijack on reconnect: another owner’s token or id gets nothing', async () => {
    const id = await t.stack.store.for(alice).create({ secret: 'alice-data' }, { ttlMs: MINUTE });
    const token = t.stack.store.issueToken(id, alice);
    await expect(t.stack.store.resume(token, alice)).resolves.toEqual({ sessionId: id, state: { secret: 'alice-data' } });
    await expectCode(t.stack.store.resume(token, mallory), 'owner_mismatch');
    // The token's own owner binding, before any session is read.
    await expectCode(Promise.resolve().then(() => t.stack.store.verifyToken(token, mallory)), 'owner_mismatch');
    await expectCode(t.stack.store.for(mallory).load(id), 'owner_mismatch');
    await expectCode(t.stack.store.for({ subject: 'alice', clientId: 'other-client' }).load(id), 'owner_mismatch');
    expect(t.events.some((e) => e.type === 'owner_mismatch')).toBe(true);
    expect(JSON.stringify(t.events)).not.toContain(id);
  });

  it('no operation of a stranger touches another owner’s session', async () => {
    const id = await t.stack.store.for(alice).create({ a: 1 }, { ttlMs: MINUTE });
    const m = t.stack.store.for(mallory);
    await expectCode(m.save(id, { taken: true }, { ttlMs: MINUTE }), 'owner_mismatch');
    await expectCode(m.update(id, { a: 2 }), 'owner_mismatch');
    await expectCode(m.updateTtl(id, 100 * MINUTE), 'owner_mismatch');
    await expectCode(m.delete(id), 'owner_mismatch');
    await expectCode(m.regenerate(id), 'owner_mismatch');
    expect(await t.stack.store.for(alice).load(id)).toEqual({ a: 1 });
    t.clock.advance(MINUTE);
    // Not even an expired session of someone else can be taken over by saving over its id.
    await expectCode(m.save(id, { taken: true }, { ttlMs: MINUTE }), 'owner_mismatch');
  });

  it('a save on a version this process saw never takes over a session another process re-created', async () => {
    // This process sees alice's session (and so knows its version); another process then deletes
    // it and mallory saves her own session under the same id. Alice's save here must find out.
    const id = 'shared-id-for-a-takeover-test';
    await t.stack.store.for(alice).save(id, { owner: 'alice' }, { ttlMs: MINUTE });
    expect(await t.stack.store.for(alice).load(id)).toEqual({ owner: 'alice' });
    const other = await t.stack.reopen();
    try {
      await other.for(alice).delete(id);
      await other.for(mallory).save(id, { owner: 'mallory' }, { ttlMs: MINUTE });
      await expectCode(t.stack.store.for(alice).save(id, { owner: 'alice again' }, { ttlMs: MINUTE }), 'owner_mismatch');
      expect(await t.stack.store.for(mallory).load(id)).toEqual({ owner: 'mallory' });
    } finally {
      await other.close();
    }
  });

  it('a save on a version this process saw keeps the deadlines of the session as it is now', async () => {
    // Alice's session is re-created by another process: it has a new creation time and absolute
    // deadline. A save here must carry those, not the ones this process saw before.
    const id = 'shared-id-for-a-deadline-test';
    const absolute = t.stack.store.lifetimes.absoluteMs;
    await t.stack.store.for(alice).save(id, { v: 1 }, { ttlMs: absolute });
    t.clock.advance(absolute - 10 * MINUTE);
    expect(await t.stack.store.for(alice).load(id)).toEqual({ v: 1 });
    const other = await t.stack.reopen();
    try {
      await other.for(alice).delete(id);
      await other.for(alice).save(id, { v: 2 }, { ttlMs: 30 * MINUTE });
      await t.stack.store.for(alice).save(id, { v: 3 }, { ttlMs: 30 * MINUTE });
      // Past the first session's absolute deadline, the re-created one still lives.
      t.clock.advance(20 * MINUTE);
      expect(await t.stack.store.for(alice).load(id)).toEqual({ v: 3 });
    } finally {
      await other.close();
    }
  });
}

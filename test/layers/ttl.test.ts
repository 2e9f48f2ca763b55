/**
 * TtlStore behaviour beyond the contract: the sealed deadlines, sliding renewal, granularity,
 * re-saves that keep the deadline, the sweep timer, and legacy (pre-layer) records.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, type SessionState } from 'sealed-session-store';
import { TtlStore } from 'sealed-session-store/kit';
import { createFakeClock, expectCode } from 'sealed-session-store/testing';
import { roundTtl } from '../../src/layers/ttl-policy.js';

const MIN = 60_000;

function setup(options: ConstructorParameters<typeof TtlStore>[1] = {}) {
  const clock = createFakeClock(Date.UTC(2030, 0, 1));
  const backend = new MemoryStore({ now: clock.now });
  const ttl = new TtlStore(backend, { now: clock.now, ...options });
  return { clock, backend, ttl };
}

afterEach(() => vi.useRealTimers());

describe('TtlStore', () => {
  it('defaults follow OWASP: 30 min idle, 12 h absolute', () => {
    const { ttl } = setup();
    expect(ttl.idleMs).toBe(30 * MIN);
    expect(ttl.absoluteMs).toBe(12 * 60 * MIN);
  });

  it('writes the backend expiry hint as min(idle, absolute) and reads the sealed meta', async () => {
    const { ttl, backend, clock } = setup({ absoluteMs: 10 * MIN });
    await ttl.save('s', { a: 1 }, { ttlMs: 60 * MIN });
    expect((await backend.loadRecord('s'))!.expiresAt).toBe(clock.now() + 10 * MIN);
    const meta = ((await backend.loadRecord('s'))!.value as { meta: Record<string, number> }).meta;
    expect(meta.absoluteAt).toBe(clock.now() + 10 * MIN);
    expect(meta.createdAt).toBe(clock.now());
  });

  it('re-saving a live session keeps its createdAt and absolute deadline; an expired one starts over', async () => {
    const { ttl, backend, clock } = setup({ absoluteMs: 60 * MIN });
    const t0 = clock.now();
    await ttl.save('s', { a: 1 }, { ttlMs: 10 * MIN });
    clock.advance(5 * MIN);
    await ttl.save('s', { a: 2 }, { ttlMs: 10 * MIN });
    const meta = () => backend.loadRecord('s').then((r) => (r!.value as { meta: Record<string, number> }).meta);
    expect((await meta()).createdAt).toBe(t0);
    expect((await meta()).absoluteAt).toBe(t0 + 60 * MIN);
    clock.advance(20 * MIN);
    await ttl.save('s', { a: 3 }, { ttlMs: 10 * MIN });
    expect((await meta()).createdAt).toBe(clock.now());
  });

  it('updateTtl never pushes past the absolute deadline', async () => {
    const { ttl, clock } = setup({ absoluteMs: 30 * MIN });
    await ttl.save('s', { a: 1 }, { ttlMs: 10 * MIN });
    await ttl.updateTtl('s', 1000 * MIN);
    clock.advance(30 * MIN - 1);
    expect(await ttl.load('s')).toEqual({ a: 1 });
    clock.advance(1);
    await expectCode(ttl.load('s'), 'expired');
  });

  it('TTLs below the backend granularity round up, never down', async () => {
    const { ttl, backend, clock } = setup({ granularityMs: 1000 });
    expect(roundTtl(ttl.policy, 1)).toBe(1000);
    expect(roundTtl(ttl.policy, 1001)).toBe(2000);
    await ttl.save('s', { a: 1 }, { ttlMs: 1 });
    expect((await backend.loadRecord('s'))!.expiresAt).toBe(clock.now() + 1000);
  });

  describe('sliding renewal', () => {
    it('renews on read only when less than half the idle window remains, and counts it', async () => {
      const { ttl, clock } = setup({ sliding: true });
      await ttl.save('s', { a: 1 }, { ttlMs: 10 * MIN });
      clock.advance(4 * MIN);
      await ttl.load('s');
      expect(ttl.stats().renewals).toBe(0);
      clock.advance(2 * MIN); // 4 min left < 5
      await ttl.load('s');
      expect(ttl.stats().renewals).toBe(1);
      clock.advance(9 * MIN); // renewed at t=6 for 10 min: still alive at t=15
      expect(await ttl.load('s')).toEqual({ a: 1 });
    });

    it('folds the renewal into an update’s own write', async () => {
      const { ttl, backend, clock } = setup({ sliding: true });
      await ttl.save('s', { a: 1 }, { ttlMs: 10 * MIN });
      clock.advance(6 * MIN);
      await ttl.update('s', { b: 2 });
      expect((await backend.loadRecord('s'))!.expiresAt).toBe(clock.now() + 10 * MIN);
    });

    it('never renews past the absolute deadline', async () => {
      const { ttl, clock } = setup({ sliding: true, absoluteMs: 12 * MIN });
      await ttl.save('s', { a: 1 }, { ttlMs: 10 * MIN });
      for (let i = 0; i < 5; i++) {
        clock.advance(2 * MIN + 30_000);
        if (clock.now() < Date.UTC(2030, 0, 1) + 12 * MIN) await ttl.load('s');
      }
      clock.set(Date.UTC(2030, 0, 1) + 12 * MIN);
      await expectCode(ttl.load('s'), 'expired');
    });

    it('a renewal that loses a race never fails the read', async () => {
      const { ttl, backend, clock } = setup({ sliding: true });
      await ttl.save('s', { a: 1 }, { ttlMs: 10 * MIN });
      clock.advance(6 * MIN);
      const original = backend.saveRecord.bind(backend);
      let first = true;
      vi.spyOn(backend, 'saveRecord').mockImplementation(async (id, value, opts) => {
        if (first) {
          first = false;
          // Someone else writes between our read and the renewal.
          await original(id, value, { expiresAt: opts.expiresAt });
        }
        return original(id, value, opts);
      });
      expect(await ttl.load('s')).toEqual({ a: 1 });
      expect(ttl.stats().renewalsSkipped).toBe(1);
    });
  });

  describe('automatic cleanup', () => {
    it('sweeps on an interval, reports errors instead of throwing, and stops on close', async () => {
      vi.useFakeTimers();
      const clock = createFakeClock(Date.UTC(2030, 0, 1));
      const backend = new MemoryStore({ now: clock.now });
      const errors: unknown[] = [];
      const ttl = new TtlStore(backend, { now: clock.now, sweepIntervalMs: 1000, onSweepError: (e) => errors.push(e) });
      await ttl.save('old', { a: 1 }, { ttlMs: 10 });
      clock.advance(20);
      await vi.advanceTimersByTimeAsync(1000);
      expect(backend.size).toBe(0);
      vi.spyOn(backend, 'cleanupExpired').mockRejectedValueOnce(new Error('down'));
      await vi.advanceTimersByTimeAsync(1000);
      expect(errors).toHaveLength(1);
      expect(ttl.stats().sweepErrors).toBe(1);
      await ttl.close();
      const sweeps = ttl.stats().sweeps;
      await vi.advanceTimersByTimeAsync(5000);
      expect(ttl.stats().sweeps).toBe(sweeps);
    });

    it('the sweep timer does not keep the process alive', () => {
      const unref = vi.fn();
      const spy = vi.spyOn(globalThis, 'setInterval').mockReturnValue({ unref } as unknown as ReturnType<typeof setInterval>);
      const ttl = new TtlStore(new MemoryStore(), { sweepIntervalMs: 1000 });
      expect(unref).toHaveBeenCalled();
      spy.mockRestore();
      void ttl;
    });
  });

  it('legacy plain states are refused unless migration is on, then read as fresh sessions', async () => {
    const clock = createFakeClock(Date.UTC(2030, 0, 1));
    const backend = new MemoryStore({ now: clock.now });
    await backend.save('legacy', { old: true } as SessionState, { ttlMs: 10 * MIN });
    await expectCode(new TtlStore(backend, { now: clock.now }).load('legacy'), 'integrity');
    const migrating = new TtlStore(backend, { now: clock.now, acceptLegacyStates: true });
    expect(await migrating.load('legacy')).toEqual({ old: true });
    await migrating.update('legacy', { more: 1 });
    expect(await new TtlStore(backend, { now: clock.now }).load('legacy')).toEqual({ old: true, more: 1 });
  });
});

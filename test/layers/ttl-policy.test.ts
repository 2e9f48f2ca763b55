/** The pure TTL rules both the TTL layer and the ownership layer build their writes with. */
import { describe, expect, it } from 'vitest';
import { expectCode } from 'sealed-session-store/testing';
import { clampToDeadline, expiryOf, newMeta, renewedExpiry, resavedMeta, roundTtl, ttlPolicy } from '../../src/layers/ttl-policy.js';

const MIN = 60_000;
const T0 = Date.UTC(2030, 0, 1);

describe('ttl policy', () => {
  it('is frozen, defaults to 30 min idle / 12 h absolute / no sliding, and refuses bad options with invalid_input', async () => {
    const policy = ttlPolicy();
    expect(policy).toEqual({ idleMs: 30 * MIN, absoluteMs: 12 * 60 * MIN, sliding: false, granularityMs: 1 });
    expect(Object.isFrozen(policy)).toBe(true);
    for (const bad of [{ idleMs: 0 }, { absoluteMs: -1 }, { granularityMs: 1.5 }, { idleMs: Number.NaN }, { sliding: 'yes' as never }]) {
      await expectCode(Promise.resolve().then(() => ttlPolicy(bad)), 'invalid_input');
    }
  });

  it('rounds TTLs up to the granularity, never down', () => {
    const policy = ttlPolicy({ granularityMs: 1000 });
    expect(roundTtl(policy, 1)).toBe(1000);
    expect(roundTtl(policy, 1000)).toBe(1000);
    expect(roundTtl(policy, 1000.5)).toBe(2000);
  });

  it('a new session gets its deadlines from the policy; a re-save of a live one keeps them', () => {
    const policy = ttlPolicy({ absoluteMs: 60 * MIN });
    const meta = newMeta(policy, T0, 10 * MIN);
    expect(meta).toEqual({ v: 1, createdAt: T0, expiresAt: T0 + 10 * MIN, absoluteAt: T0 + 60 * MIN, ttlMs: 10 * MIN });
    expect(resavedMeta(policy, meta, T0 + 5 * MIN, 20 * MIN)).toEqual({ ...meta, ttlMs: 20 * MIN });
    expect(resavedMeta(policy, undefined, T0 + 5 * MIN, 20 * MIN).createdAt).toBe(T0 + 5 * MIN);
  });

  it('no expiry passes the absolute deadline', () => {
    const meta = newMeta(ttlPolicy({ absoluteMs: 60 * MIN }), T0, 10 * MIN);
    expect(clampToDeadline(meta, T0 + 90 * MIN)).toBe(T0 + 60 * MIN);
    expect(clampToDeadline(meta, T0 + 30 * MIN)).toBe(T0 + 30 * MIN);
    expect(expiryOf({ ...meta, expiresAt: T0 + 90 * MIN })).toBe(T0 + 60 * MIN);
  });

  it('renews only when sliding, under half the idle window left, and before the deadline', () => {
    const fixed = ttlPolicy();
    const sliding = ttlPolicy({ sliding: true });
    const meta = newMeta(sliding, T0, 10 * MIN);
    expect(renewedExpiry(fixed, meta, meta.expiresAt, T0 + 6 * MIN)).toBe(meta.expiresAt);
    expect(renewedExpiry(sliding, meta, meta.expiresAt, T0 + 4 * MIN)).toBe(meta.expiresAt);
    expect(renewedExpiry(sliding, meta, meta.expiresAt, T0 + 6 * MIN)).toBe(T0 + 16 * MIN);
    expect(renewedExpiry(sliding, meta, meta.absoluteAt, meta.absoluteAt - MIN)).toBe(meta.absoluteAt);
  });
});

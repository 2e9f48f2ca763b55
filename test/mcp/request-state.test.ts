/** The encrypted, key-rotating `requestState` / state-handle codec. */
import { describe, expect, it } from 'vitest';
import { Keyring } from '../../src/index.js';
import { requestStateCodec } from '../../src/mcp/index.js';

function setup() {
  const clock = { t: Date.UTC(2030, 0, 1) };
  const keyring = Keyring.generate({ now: () => clock.t });
  const codec = requestStateCodec({ keyring, namespace: 'app', now: () => clock.t, ttlMs: 60_000 });
  return { clock, keyring, codec };
}

describe('requestStateCodec', () => {
  it('round-trips, bound to what it was sealed for', () => {
    const { codec, keyring } = setup();
    const handle = codec.seal({ cursor: 42, q: 'secret-query' }, { bind: 'session-1' });
    expect(handle).toMatch(/^s1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(handle).not.toContain('secret');
    expect(codec.open(handle, { bind: 'session-1' })).toEqual({ cursor: 42, q: 'secret-query' });
    expect(() => codec.open(handle, { bind: 'session-2' })).toThrow(expect.objectContaining({ code: 'integrity' }));
    expect(() => codec.open(handle)).toThrow(expect.objectContaining({ code: 'integrity' }));
    const other = requestStateCodec({ keyring, namespace: 'app', purpose: 'cursor' });
    expect(() => other.open(handle, { bind: 'session-1' })).toThrow(expect.objectContaining({ code: 'integrity' }));
  });

  it('one integrity error for every fault', () => {
    const { codec } = setup();
    const handle = codec.seal({ a: 1 });
    const last = handle.at(-2) === 'A' ? 'B' : 'A';
    for (const bad of [handle.slice(0, -2) + last + handle.at(-1), handle.replace(/^s1/, 's2'), 'x', 42, '', `${handle}.x`, handle.replace(/\.[^.]+\./, '.nokid.')]) {
      expect(() => codec.open(bad)).toThrow(expect.objectContaining({ code: 'integrity' }));
    }
  });

  it('expires, and survives a rotation until the old key is retired', () => {
    const { codec, clock, keyring } = setup();
    const handle = codec.seal({ a: 1 });
    const oldKid = keyring.primary('encrypt').kid;
    keyring.rotate('encrypt');
    expect(codec.open(handle)).toEqual({ a: 1 });
    expect(codec.seal({ a: 2 })).toContain(`.${keyring.primary('encrypt').kid}.`);
    clock.t += 61_000;
    expect(() => codec.open(handle)).toThrow(expect.objectContaining({ code: 'expired' }));
    const fresh = codec.seal({ a: 3 }, { ttlMs: 3_600_000 });
    expect(codec.open(fresh)).toEqual({ a: 3 });
    const stale = requestStateCodec({ keyring, namespace: 'app', now: () => clock.t });
    keyring.retire(oldKid, { force: true });
    expect(() => stale.open(handle)).toThrow(expect.objectContaining({ code: 'integrity' }));
  });

  it('bad options and a broken random source are invalid_input, never a handle', () => {
    const { keyring } = setup();
    for (const ttlMs of [0, -1, 1.5, Number.NaN]) {
      expect(() => requestStateCodec({ keyring, namespace: 'app', ttlMs })).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    }
    expect(() => requestStateCodec({ keyring, namespace: '' })).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    const short = requestStateCodec({ keyring, namespace: 'app', random: () => new Uint8Array(8) });
    expect(() => short.seal({ a: 1 })).toThrow(expect.objectContaining({ code: 'invalid_input' }));
  });
});

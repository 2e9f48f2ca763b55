/** MemoryStore's own promises beyond the contract: its bounds and what it evicts. */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from 'sealed-session-store';
import { expectCode } from 'sealed-session-store/testing';

describe('MemoryStore bounds', () => {
  it('keeps at most maxEntries sessions, evicting the least recently used', async () => {
    const store = new MemoryStore({ maxEntries: 10 });
    for (let i = 0; i < 10; i++) await store.save(`s${i}`, { i });
    await store.load('s0'); // s0 is now the most recently used
    for (let i = 10; i < 15; i++) await store.save(`s${i}`, { i });
    expect(store.size).toBe(10);
    expect(await store.load('s0')).toEqual({ i: 0 });
    for (let i = 1; i <= 5; i++) await expectCode(store.load(`s${i}`), 'not_found');
    for (let i = 6; i < 15; i++) expect(await store.load(`s${i}`)).toEqual({ i });
  });

  it('replacing a session never evicts another', async () => {
    const store = new MemoryStore({ maxEntries: 3 });
    for (let i = 0; i < 3; i++) await store.save(`s${i}`, { i });
    for (let k = 0; k < 5; k++) await store.save('s1', { k });
    expect(store.size).toBe(3);
    expect(await store.load('s0')).toEqual({ i: 0 });
  });

  it('stays within maxBytes and refuses one record larger than maxRecordBytes', async () => {
    const store = new MemoryStore({ maxBytes: 64 * 1024, maxRecordBytes: 16 * 1024 });
    for (let i = 0; i < 200; i++) await store.save(`s${i}`, { blob: 'x'.repeat(1000) });
    expect(store.bytes).toBeLessThanOrEqual(64 * 1024);
    await expectCode(store.save('big', { blob: 'x'.repeat(20_000) }), 'payload_too_large');
  });

  it('refuses a nonsensical bound', () => {
    expect(() => new MemoryStore({ maxEntries: 0 })).toThrowError(expect.objectContaining({ code: 'invalid_input' }));
  });
});

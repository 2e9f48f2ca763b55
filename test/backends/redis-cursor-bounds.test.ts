/**
 * A forged `listActive` cursor whose SCAN position does not fit an unsigned 64-bit integer is bad
 * input (`invalid_input`), refused before any command is sent, never reported as an outage.
 */
import { RedisStore } from 'sealed-session-store/redis';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeListCursor, encodeListCursor } from '../../src/backends/redis/scan.js';
import { redisClient, redisFixture, redisPrefix } from '../support/fixtures/redis.js';
import { serviceSkipReason } from '../support/services.js';

const skip = await serviceSkipReason('redis');
afterAll(async () => {
  if (skip === undefined) await redisFixture.cleanup();
});

const forged = (scan: string) => `r1.${Buffer.from(JSON.stringify(['', scan, []])).toString('base64url')}`;
const PAST_U64 = ['18446744073709551616', '18446744073709551617', '99999999999999999999'];

describe('listActive cursor: the SCAN position is an unsigned 64-bit integer', () => {
  it('accepts 2^64 - 1 and refuses 2^64 and above with invalid_input', () => {
    expect(decodeListCursor(forged('18446744073709551615')).scan).toBe('18446744073709551615');
    for (const scan of PAST_U64) {
      expect(() => decodeListCursor(forged(scan)), scan).toThrowError(expect.objectContaining({ code: 'invalid_input' }));
    }
    // What the store itself issues still round-trips.
    const pos = { node: '', scan: '12345', carried: [] };
    expect(decodeListCursor(encodeListCursor(pos))).toEqual(pos);
  });

  it.skipIf(skip !== undefined)('a real store answers invalid_input, not backend_unavailable', async () => {
    const store = new RedisStore({ client: redisClient(), prefix: redisPrefix() });
    for (const scan of PAST_U64) {
      await expect(store.listActive({ cursor: forged(scan) })).rejects.toMatchObject({ code: 'invalid_input' });
    }
    await store.close();
  });
});

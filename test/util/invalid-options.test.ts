/**
 * The error rule (contract/errors.ts): a bad option is `invalid_input`, like bad request data.
 * One row per option check: each must throw (or reject with) a SessionStoreError whose code is
 * `invalid_input`, never a plain RangeError or TypeError.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Keyring, MemoryStore, isSessionStoreError, passphraseProvider } from 'sealed-session-store';
import { PgliteStore } from 'sealed-session-store/pglite';
import { PostgresStore } from 'sealed-session-store/postgres';
import { RedisStore } from 'sealed-session-store/redis';
// From source: these are not application-author names, whichever public entry carries them.
import { adaptSessionStoreSingleProcess } from '../../src/contract/adapt.js';
import { compareAndSwap } from '../../src/contract/cas.js';
import { getAead } from '../../src/crypto/aead/index.js';
import { KeysetFileSource } from '../../src/keys/file.js';
import { intOption } from '../../src/util/options.js';
import { secureRandom } from '../../src/util/random.js';
import { SessionTokens } from '../../src/tokens/token.js';

/** A real client that never connects (lazy): every row fails in the constructor, before any command. */
const redisClient = new Redis({ lazyConnect: true });
const pgPool = { connect: async () => ({}), on: () => undefined, off: () => undefined } as never;
const sessionStore = new MemoryStore();
const keyring = Keyring.generate();
const PASS = 'a passphrase long enough';

const rows: Array<[string, () => unknown]> = [
  ['intOption: a fraction', () => intOption(1.5, 1, 0, 10, 'x')],
  ['intOption: a string', () => intOption('5', 1, 0, 10, 'x')],
  ['MemoryStore maxEntries 0', () => new MemoryStore({ maxEntries: 0 })],
  ['MemoryStore maxBytes -1', () => new MemoryStore({ maxBytes: -1 })],
  ['MemoryStore maxRecordBytes NaN', () => new MemoryStore({ maxRecordBytes: Number.NaN })],
  ['RedisStore graceMs -1', () => new RedisStore({ client: redisClient, graceMs: -1 })],
  ['RedisStore commandTimeoutMs 0', () => new RedisStore({ client: redisClient, commandTimeoutMs: 0 })],
  ['RedisStore retry.maxAttempts 0', () => new RedisStore({ client: redisClient, retry: { maxAttempts: 0 } })],
  ['RedisStore retry.backoffMs 1.5', () => new RedisStore({ client: redisClient, retry: { backoffMs: 1.5 } })],
  ['RedisStore maxRecordBytes 0', () => new RedisStore({ client: redisClient, maxRecordBytes: 0 })],
  ['PostgresStore timeoutMs 0', () => new PostgresStore({ pool: pgPool, timeoutMs: 0 })],
  ['PostgresStore retries 11', () => new PostgresStore({ pool: pgPool, retries: 11 })],
  ['PostgresStore retryBackoffMs Infinity', () => new PostgresStore({ pool: pgPool, retryBackoffMs: Number.POSITIVE_INFINITY })],
  ['PostgresStore preparedStatements "no"', () => new PostgresStore({ pool: pgPool, preparedStatements: 'no' as never })],
  ['SQL maxRecordBytes 0', () => new PostgresStore({ pool: pgPool, maxRecordBytes: 0 })],
  ['SQL cleanupBatchSize 10001', () => new PostgresStore({ pool: pgPool, cleanupBatchSize: 10_001 })],
  ['adaptSessionStoreSingleProcess graceMs -1', () => adaptSessionStoreSingleProcess(sessionStore, { graceMs: -1 })],
  ['getAead: an unknown algorithm', () => getAead('rot13' as never)],
  ['getAead: an unknown engine', () => getAead('aes-256-gcm', 'gpu' as never)],
  ['getAead: the node engine for a noble-only algorithm', () => getAead('xchacha20-poly1305', 'node')],
  ['AES-256-GCM (node): a short key', () => getAead('aes-256-gcm', 'node').seal(new Uint8Array(16), new Uint8Array(12), new Uint8Array(1), new Uint8Array(0), new Uint8Array(17), 0)],
  ['AES-256-GCM (node): a short nonce', () => getAead('aes-256-gcm', 'node').seal(new Uint8Array(32), new Uint8Array(8), new Uint8Array(1), new Uint8Array(0), new Uint8Array(17), 0)],
  ['secureRandom: a negative length', () => secureRandom(-1)],
  ['SessionTokens clockToleranceMs 61 s', () => new SessionTokens(keyring, { clockToleranceMs: 61_000 })],
  ['SessionTokens clockToleranceMs -1', () => new SessionTokens(keyring, { clockToleranceMs: -1 })],
  ['SessionTokens defaultLifetimeMs 0', () => new SessionTokens(keyring, { defaultLifetimeMs: 0 })],
  ['passphraseProvider: a short passphrase', () => passphraseProvider('short')],
  ['passphraseProvider: not a string', () => passphraseProvider(42 as never)],
  ['passphraseProvider logN 10 without unsafeLowCost', () => passphraseProvider(PASS, { logN: 10 })],
  ['passphraseProvider logN 23', () => passphraseProvider(PASS, { logN: 23 })],
  ['passphraseProvider r 0', () => passphraseProvider(PASS, { r: 0 })],
  ['passphraseProvider p 17', () => passphraseProvider(PASS, { p: 17 })],
  ['KeysetFileSource lock.timeoutMs -1', () => new KeysetFileSource('/nonexistent/keyset.json', { insecureCleartext: true, lock: { timeoutMs: -1 } })],
  ['KeysetFileSource lock.staleMs 0', () => new KeysetFileSource('/nonexistent/keyset.json', { insecureCleartext: true, lock: { staleMs: 0 } })],
];

const asyncRows: Array<[string, () => Promise<unknown>]> = [
  ['compareAndSwap cas.maxAttempts 0', () => compareAndSwap(new MemoryStore(), 's1', () => ({ value: {}, expiresAt: Date.now() + 1000 }), { maxAttempts: 0 })],
  ['compareAndSwap cas.backoffMs -1', () => compareAndSwap(new MemoryStore(), 's1', () => ({ value: {}, expiresAt: Date.now() + 1000 }), { backoffMs: -1 })],
  ['PgliteStore.open: no dataDir', () => PgliteStore.open({ dataDir: '' })],
];

function codeOfThrow(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('a bad option is invalid_input', () => {
  it.each(rows)('%s', (_, fn) => {
    const err = codeOfThrow(fn);
    expect(isSessionStoreError(err), String(err)).toBe(true);
    expect(err).toMatchObject({ code: 'invalid_input', name: 'InvalidInputError' });
  });

  it.each(asyncRows)('%s', async (_, fn) => {
    const err = await fn().then(
      () => {
        throw new Error('expected a rejection');
      },
      (e: unknown) => e,
    );
    expect(isSessionStoreError(err), String(err)).toBe(true);
    expect(err).toMatchObject({ code: 'invalid_input' });
  });

  it('names the option and what it accepts', () => {
    expect(() => new MemoryStore({ maxEntries: 0 })).toThrowError(/maxEntries must be an integer in 1\.\.\d+, got 0/);
    expect(() => new RedisStore({ client: redisClient, retry: { maxAttempts: 11 } })).toThrowError(/retry\.maxAttempts must be an integer in 1\.\.10/);
  });
});

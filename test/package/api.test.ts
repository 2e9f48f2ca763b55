/**
 * The public surface per audience, checked from source: the root entry stays the application
 * author's (a short list of runtime names), the error classes pair each `code` with one class so
 * `switch (err.code)` narrows (checked by the compiler: `npx tsc --noEmit` fails if the narrowing
 * breaks), and the kit and tokens entries hold what moved off the root.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as root from 'sealed-session-store';
import {
  type AnySessionStoreError,
  BackendUnavailableError,
  type ErrorCode,
  PayloadTooLargeError,
  type SessionStoreErrorOf,
  errors,
  isSessionStoreError,
} from 'sealed-session-store';
import * as kit from 'sealed-session-store/kit';
import * as tokens from 'sealed-session-store/tokens';

describe('the root entry', () => {
  it('exports the application author’s runtime names and nothing else', () => {
    expect(Object.keys(root).sort()).toEqual(
      [
        'secureStore',
        'SecureStore',
        'MemoryStore',
        'Keyring',
        'KeysetFileSource',
        'KeysetEnvSource',
        'passphraseProvider',
        'disableRandomPool',
        'isSessionStoreError',
        'errors',
        ...Object.keys(errors).filter((name) => name !== 'isSessionStoreError'),
      ].sort(),
    );
  });

  it('exports every error class also as the errors namespace, each with its static code', () => {
    const classes = Object.entries(errors).filter(([name]) => /^[A-Z]\w*Error$/.test(name) && name !== 'SessionStoreError');
    expect(classes).toHaveLength(11);
    for (const [name, cls] of classes) {
      const Cls = cls as unknown as { code: ErrorCode; new (...args: never[]): AnySessionStoreError };
      expect((root as Record<string, unknown>)[name], name).toBe(cls);
      const err = name === 'PayloadTooLargeError' ? new PayloadTooLargeError(2, 1) : new Cls(...(['message'] as never[]));
      expect(err.code, name).toBe(Cls.code);
      expect(err).toBeInstanceOf(root.SessionStoreError);
      expect(isSessionStoreError(err, Cls.code)).toBe(true);
    }
    expect(new Set(classes.map(([, cls]) => (cls as unknown as { code: string }).code)).size).toBe(11);
  });

  it('narrows switch (err.code) to the class and its fields', () => {
    const describeError = (err: unknown): string => {
      if (!isSessionStoreError(err)) return 'not ours';
      switch (err.code) {
        case 'payload_too_large':
          expectTypeOf(err).toEqualTypeOf<PayloadTooLargeError>();
          return `${err.size}/${err.limit}`;
        case 'backend_unavailable':
          expectTypeOf(err).toEqualTypeOf<BackendUnavailableError>();
          expectTypeOf(err.outcome).toEqualTypeOf<'failed' | 'unknown'>();
          return `${err.outcome} ${err.version ?? '-'}`;
        case 'integrity':
          expectTypeOf(err).toEqualTypeOf<errors.IntegrityError>();
          return err.code;
        default:
          expectTypeOf(err).not.toHaveProperty('size');
          return err.code;
      }
    };
    expect(describeError(new PayloadTooLargeError(10, 5))).toBe('10/5');
    expect(describeError(new BackendUnavailableError('down', { outcome: 'unknown', version: 'v1' }))).toBe('unknown v1');
    expect(describeError(new errors.IntegrityError())).toBe('integrity');
    expect(describeError(new errors.ConflictError())).toBe('conflict');
    expect(describeError(new Error('x'))).toBe('not ours');

    // Every code has exactly one class in the union, and the class's static code is its literal.
    expectTypeOf<AnySessionStoreError['code']>().toEqualTypeOf<ErrorCode>();
    expectTypeOf<SessionStoreErrorOf<'payload_too_large'>>().toEqualTypeOf<PayloadTooLargeError>();
    expectTypeOf<typeof PayloadTooLargeError.code>().toEqualTypeOf<'payload_too_large'>();
    const err: unknown = new PayloadTooLargeError(3, 2);
    if (isSessionStoreError(err, 'payload_too_large')) expectTypeOf(err.limit).toBeNumber();
  });
});

describe('the kit and tokens entries', () => {
  it('hold what backend and layer authors and token checkers use', () => {
    for (const name of ['BackendStore', 'VersionedStore', 'compareAndSwap', 'KeyedQueue', 'newVersion', 'assertSessionId', 'assertState', 'normalizeTtl', 'normalizeLimit', 'isPlainObject', 'adaptSessionStoreSingleProcess', 'isRecordStore', 'ENVELOPE_VERSION', 'MAX_ENVELOPE_OVERHEAD', 'KID_PATTERN', 'RESERVED_PREFIX', 'EncryptedStore', 'TtlStore', 'unpooledRandom']) {
      expect(kit, name).toHaveProperty(name);
    }
    for (const name of ['verifyCompact', 'verifyCompactBytes', 'constantTimeEqual', 'TOKEN_TYP', 'MAX_TOKEN_LENGTH', 'SessionTokens', 'createSessionId']) {
      expect(tokens, name).toHaveProperty(name);
    }
  });
});

import { expect, it } from 'vitest';
import { ConflictError, IntegrityError, NotFoundError, SessionStoreError, isSessionStoreError } from 'sealed-session-store';

it('errors carry a stable code and are recognised by code, not message', () => {
  const e = new NotFoundError('anything at all');
  expect(e.code).toBe('not_found');
  expect(e.name).toBe('NotFoundError');
  expect(isSessionStoreError(e)).toBe(true);
  expect(isSessionStoreError(e, 'not_found')).toBe(true);
  expect(isSessionStoreError(e, 'expired')).toBe(false);
  expect(isSessionStoreError(new Error('not_found'))).toBe(false);
  expect(isSessionStoreError({ code: 'not_found' })).toBe(false);
  expect(new ConflictError()).toBeInstanceOf(SessionStoreError);
});

it('an integrity error says nothing about what failed', () => {
  const e = new IntegrityError();
  expect(e.message).toBe('sealed data failed integrity checks');
  expect(e.cause).toBeUndefined();
});

it('errors from another copy of the library (a second bundle) are still recognised', () => {
  // What a second copy's class looks like: same global brand, different class identity.
  class OtherCopyError extends Error {
    readonly code = 'conflict';
    constructor() {
      super('from another bundle');
      Object.defineProperty(this, Symbol.for('sealed-session-store.error'), { value: true });
    }
  }
  const foreign = new OtherCopyError();
  expect(isSessionStoreError(foreign, 'conflict')).toBe(true);
  expect(foreign instanceof SessionStoreError).toBe(true);
  expect(foreign instanceof ConflictError).toBe(false);
});

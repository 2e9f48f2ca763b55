/**
 * Argument checks for the keyring and its manager, run before a method touches anything: a call
 * from JavaScript with a bogus purpose, a missing kid or a malformed options object is
 * `invalid_input` and leaves the keyring exactly as it was. (Before these checks,
 * `keyring.rotate('bogus')` added a key of an unknown purpose and then failed with a plain
 * `TypeError`, leaving a keyring that could no longer be used.)
 *
 * A kid that is a string but names no key is not bad input: it stays `unknown_key` (kids arrive in
 * tokens and envelopes, where an absent kid is an ordinary answer).
 */
import { InvalidInputError } from '../contract/errors.js';
import { describe } from '../util/options.js';
import { KEY_PURPOSES, type KeyPurpose } from './types.js';

export function assertPurpose(value: unknown, method: string): asserts value is KeyPurpose {
  if (value !== 'encrypt' && value !== 'sign' && value !== 'hash') {
    throw new InvalidInputError(`${method}: purpose must be one of ${KEY_PURPOSES.join(', ')}, got ${describe(value)}`);
  }
}

export function assertKidArg(value: unknown, method: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidInputError(`${method}: kid must be a non-empty string, got ${describe(value)}`);
}

/** An options argument: undefined or a plain object whose listed members are booleans or undefined. */
export function assertFlags(value: unknown, flags: readonly string[], method: string): void {
  if (value === undefined) return;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidInputError(`${method}: options must be an object, got ${describe(value)}`);
  for (const flag of flags) {
    const v = (value as Record<string, unknown>)[flag];
    if (v !== undefined && typeof v !== 'boolean') throw new InvalidInputError(`${method}: options.${flag} must be true or false, got ${describe(v)}`);
  }
}

export function assertFunction(value: unknown, what: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw new InvalidInputError(`${what} must be a function, got ${describe(value)}`);
}

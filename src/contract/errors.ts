/**
 * Typed errors. Every failure this library reports is a `SessionStoreError` with a stable
 * string `code`; callers switch on `code` (or use `isSessionStoreError`), never on messages,
 * which may change between releases.
 *
 * The error rule: bad options and bad request data are both `invalid_input` (`InvalidInputError`,
 * with a message naming the option or field and what it accepts). A constructor, factory or
 * method refusing what it was given never throws a plain `RangeError` or `TypeError`, so every
 * error that reaches a caller carries a code to switch on. Option checks go through
 * `util/options.ts` (`intOption`, `boolOption`), one line per option.
 */

export type ErrorCode =
  | 'not_found'
  | 'expired'
  | 'conflict'
  | 'invalid_input'
  | 'payload_too_large'
  | 'backend_unavailable'
  | 'integrity'
  | 'unknown_key'
  | 'key_state'
  | 'owner_mismatch'
  | 'invalid_token';

export interface SessionStoreErrorOptions {
  cause?: unknown;
}

/**
 * A global brand, so errors thrown by one copy of this library (each CJS subpath bundle carries its
 * own copy of these classes) are still recognised by another: `instanceof` alone would not.
 */
const BRAND: unique symbol = Symbol.for('sealed-session-store.error') as never;

export class SessionStoreError extends Error {
  readonly code: ErrorCode;
  declare readonly [BRAND]: true;

  constructor(code: ErrorCode, message: string, options?: SessionStoreErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** `err instanceof SessionStoreError` holds across bundle copies too. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === SessionStoreError) return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/** No record under that id (or it was cleaned up). */
export class NotFoundError extends SessionStoreError {
  static readonly code = 'not_found';
  declare readonly code: 'not_found';
  constructor(message = 'session not found', options?: SessionStoreErrorOptions) {
    super('not_found', message, options);
  }
}

/** The record exists but its idle or absolute deadline has passed. */
export class ExpiredError extends SessionStoreError {
  static readonly code = 'expired';
  declare readonly code: 'expired';
  constructor(message = 'session expired', options?: SessionStoreErrorOptions) {
    super('expired', message, options);
  }
}

/** A conditional write lost: the record changed (or appeared, or vanished) underneath. */
export class ConflictError extends SessionStoreError {
  static readonly code = 'conflict';
  declare readonly code: 'conflict';
  constructor(message = 'record changed concurrently', options?: SessionStoreErrorOptions) {
    super('conflict', message, options);
  }
}

/** The caller passed something the contract does not accept; nothing was written. */
export class InvalidInputError extends SessionStoreError {
  static readonly code = 'invalid_input';
  declare readonly code: 'invalid_input';
  constructor(message: string, options?: SessionStoreErrorOptions) {
    super('invalid_input', message, options);
  }
}

/** A state (or envelope) over the configured size bound; rejected before any work. */
export class PayloadTooLargeError extends SessionStoreError {
  static readonly code = 'payload_too_large';
  declare readonly code: 'payload_too_large';
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number, what = 'payload') {
    super('payload_too_large', `${what} is ${size} bytes, over the limit of ${limit}`);
    this.size = size;
    this.limit = limit;
  }
}

/**
 * The backend could not be reached or did not answer in time.
 *
 * `outcome` says what the caller may assume about a write:
 * - `'failed'`: the write certainly did not happen (e.g. the connection was refused before sending);
 * - `'unknown'`: the request may have reached the server (timed out mid-flight). When `version`
 *   is set, that is the version token the write would have produced: `loadRecord` tells whether it
 *   landed (a record at that version is this write, since versions never repeat).
 */
export class BackendUnavailableError extends SessionStoreError {
  static readonly code = 'backend_unavailable';
  declare readonly code: 'backend_unavailable';
  readonly outcome: 'failed' | 'unknown';
  readonly version: string | undefined;
  constructor(
    message: string,
    options?: SessionStoreErrorOptions & { outcome?: 'failed' | 'unknown'; version?: string },
  ) {
    super('backend_unavailable', message, options);
    this.outcome = options?.outcome ?? 'failed';
    this.version = options?.version;
  }
}

/**
 * A sealed record or keyset could not be opened. Deliberately carries no detail (bad tag,
 * truncation, wrong AAD and malformed framing all look the same) so it is no oracle for an attacker.
 */
export class IntegrityError extends SessionStoreError {
  static readonly code = 'integrity';
  declare readonly code: 'integrity';
  /**
   * `message` may say WHAT failed to open (a keyset file, for its operator) and what to check, but
   * never which check failed: every cause must read the same.
   */
  constructor(message = 'sealed data failed integrity checks') {
    super('integrity', message);
  }
}

/** A record or token names a key id the keyring does not hold (or holds destroyed). */
export class UnknownKeyError extends SessionStoreError {
  static readonly code = 'unknown_key';
  declare readonly code: 'unknown_key';
  constructor(message = 'unknown key id', options?: SessionStoreErrorOptions) {
    super('unknown_key', message, options);
  }
}

/** A keyring operation would break an invariant (e.g. retire the primary). */
export class KeyStateError extends SessionStoreError {
  static readonly code = 'key_state';
  declare readonly code: 'key_state';
  constructor(message: string, options?: SessionStoreErrorOptions) {
    super('key_state', message, options);
  }
}

/** The session belongs to someone else. */
export class OwnerMismatchError extends SessionStoreError {
  static readonly code = 'owner_mismatch';
  declare readonly code: 'owner_mismatch';
  constructor(message = 'session owner mismatch', options?: SessionStoreErrorOptions) {
    super('owner_mismatch', message, options);
  }
}

/** A token failed its shape, header, signature or claim checks. */
export class InvalidTokenError extends SessionStoreError {
  static readonly code = 'invalid_token';
  declare readonly code: 'invalid_token';
  constructor(message = 'invalid token', options?: SessionStoreErrorOptions) {
    super('invalid_token', message, options);
  }
}

/**
 * Every error this library throws, one class per `code`. After `isSessionStoreError(err)`,
 * `switch (err.code)` narrows to the class and its fields: `'payload_too_large'` has `.size` and
 * `.limit`, `'backend_unavailable'` has `.outcome` and `.version`.
 */
export type AnySessionStoreError =
  | NotFoundError
  | ExpiredError
  | ConflictError
  | InvalidInputError
  | PayloadTooLargeError
  | BackendUnavailableError
  | IntegrityError
  | UnknownKeyError
  | KeyStateError
  | OwnerMismatchError
  | InvalidTokenError;

/** The error class thrown with a given `code`. */
export type SessionStoreErrorOf<C extends ErrorCode> = Extract<AnySessionStoreError, { code: C }>;

/**
 * True for any error of this library (from any copy of it), optionally of one `code`. The brand
 * check, not `instanceof`, decides, so an error thrown by another bundle copy is recognised too.
 */
export function isSessionStoreError(err: unknown): err is AnySessionStoreError;
export function isSessionStoreError<C extends ErrorCode>(err: unknown, code: C): err is SessionStoreErrorOf<C>;
export function isSessionStoreError(err: unknown, code?: ErrorCode): err is AnySessionStoreError;
export function isSessionStoreError(err: unknown, code?: ErrorCode): err is AnySessionStoreError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true && (code === undefined || (err as SessionStoreError).code === code);
}

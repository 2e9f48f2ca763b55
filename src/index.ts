/**
 * sealed-session-store: the application author's entry. `secureStore()` over a backend and a
 * `Keyring`, the errors to switch on, and the types those take and return.
 *
 * Other audiences have their own doors: `sealed-session-store/kit` for people writing a backend or
 * a layer, `sealed-session-store/tokens` for low-level token checks, one subpath per backend
 * (`/redis`, `/postgres`, `/pglite`), `/config`, `/mcp` and `/testing`.
 */
import * as errors from './contract/errors.js';

export {
  type AnySessionStoreError,
  BackendUnavailableError,
  ConflictError,
  type ErrorCode,
  ExpiredError,
  IntegrityError,
  InvalidInputError,
  InvalidTokenError,
  KeyStateError,
  NotFoundError,
  OwnerMismatchError,
  PayloadTooLargeError,
  SessionStoreError,
  type SessionStoreErrorOf,
  type SessionStoreErrorOptions,
  UnknownKeyError,
  isSessionStoreError,
} from './contract/errors.js';
/** The error classes as one namespace, as jose does: `err instanceof errors.ConflictError`. */
export { errors };

export { SecureStore, type SecureStoreOptions, type ResumedSession, type InspectedSession, secureStore } from './secure-store.js';
export { MemoryStore, type MemoryStoreOptions } from './backends/memory.js';
export { type FollowOptions, Keyring, type KeyringOptions, type RetireOptions, type UsableKey, type WatchOptions } from './keys/keyring.js';
export type { KeyringManager } from './keys/keyring-manager.js';
export { KeysetFileSource, type KeysetFileOptions } from './keys/file.js';
export { KeysetEnvSource, type KeysetEnvOptions } from './keys/env.js';
export type { StoreKeysetOptions } from './keys/store-source.js';
export { passphraseProvider, type PassphraseProviderOptions } from './keys/providers/passphrase.js';

// Types cost nothing at run time: everything the functions above take or return.
export type {
  DeleteRecordOptions,
  JsonValue,
  ListOptions,
  ListPage,
  RecordStore,
  RecordValue,
  SaveOptions,
  SaveRecordOptions,
  SessionState,
  SessionStore,
  StateUpdater,
  StoredRecord,
} from './contract/store.js';
export type { ScopedSessionStore } from './layers/ownership.js';
export type { AuditEvent, AuditEventType, AuditSink } from './audit.js';
export type { Owner } from './layers/owner-hash.js';
export type { Sealed, SessionMeta } from './layers/sealed.js';
export type { TtlOptions, TtlStats } from './layers/ttl.js';
export type { EncryptedStoreOptions, RekeyOptions, RekeyProgress, RekeyResult } from './layers/encrypt.js';
export type { SessionTokens, SessionTokensOptions, VerifiedToken } from './tokens/token.js';
export type { KeyInfo, KeyPurpose, KeyStatus } from './keys/types.js';
export type { KeyEncryptionProvider, WrappedBlob } from './keys/providers/types.js';
export type { KeyringSource } from './keys/source.js';
export type { KeysetSlotStore, KeysetWriteCondition, StoredKeysetText } from './contract/keyset-slot.js';
export type { KeysetJwk, KeysetJwks } from './keys/jwks.js';
export type { LockOptions } from './keys/file.js';
export type { KeysetProtection, WrappedKeysetDocument } from './keys/wrapped.js';
export type { AeadAlgorithm } from './crypto/aead/types.js';
export { disableRandomPool } from './util/random.js';
export type { RandomSource } from './util/random.js';

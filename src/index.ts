/** sealed-session-store: the public API. */
export * from './contract/errors.js';
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
  StoredRecord,
} from './contract/store.js';
export { isRecordStore } from './contract/store.js';
export { BackendStore, DEFAULT_TTL_MS, VersionedStore, type VersionedStoreOptions } from './contract/versioned-store.js';
export { type CasOptions, compareAndSwap } from './contract/cas.js';
export { KeyedQueue } from './contract/queue.js';
export { MAX_ID_LENGTH, MAX_TTL_MS, assertSessionId, assertState, normalizeTtl } from './contract/validate.js';
export { newVersion } from './contract/version.js';
export { MemoryStore, type MemoryStoreOptions } from './backends/memory.js';
export type { RandomSource } from './util/random.js';
export { type AdaptOptions, adaptSessionStoreSingleProcess } from './contract/adapt.js';
export { isPlainObject, normalizeLimit } from './contract/validate.js';
export { SecureStore, type SecureStoreOptions, type ResumedSession, type InspectedSession, secureStore } from './secure-store.js';
export { ScopedSessionStore } from './layers/ownership.js';
export type { AuditEvent, AuditEventType, AuditSink } from './audit.js';
export { RESERVED_PREFIX } from './layers/revocations.js';
export { TtlStore, type TtlOptions, type TtlStats } from './layers/ttl.js';
export { DEFAULT_IDLE_MS, DEFAULT_ABSOLUTE_MS } from './layers/ttl-policy.js';
export type { Sealed, SessionMeta } from './layers/sealed.js';
export { type Owner, ownerHash, subjectHash } from './layers/owner-hash.js';
export { createSessionId } from './tokens/session-id.js';
export { SessionTokens, type SessionTokensOptions, type VerifiedToken, TOKEN_TYP, MAX_CLOCK_TOLERANCE_MS } from './tokens/token.js';
export { verifyCompact, verifyCompactBytes, type CompactHeader, MAX_TOKEN_LENGTH } from './tokens/jws.js';
export { constantTimeEqual } from './crypto/compare.js';
export { Keyring, type KeyringOptions, type RetireOptions, DEFAULT_MAX_SESSION_LIFETIME_MS } from './keys/keyring.js';
export type { KeyInfo, KeyPurpose, KeyStatus } from './keys/types.js';
export {
  EncryptedStore,
  type EncryptedStoreOptions,
  type RekeyOptions,
  type RekeyProgress,
  type RekeyResult,
  DEFAULT_MAX_PLAINTEXT_BYTES,
} from './layers/encrypt.js';
export { passphraseProvider, type PassphraseProviderOptions } from './keys/providers/passphrase.js';
export type { KeyEncryptionProvider, WrappedBlob } from './keys/providers/types.js';
export { KeysetFileSource, type KeysetFileOptions } from './keys/file.js';
export { KeysetEnvSource, type KeysetEnvOptions } from './keys/env.js';
export type { KeyringSource } from './keys/source.js';
export type { KeysetJwk, KeysetJwks } from './keys/jwks.js';
export type { LockOptions } from './keys/lock.js';
export { type KeysetProtection, type WrappedKeysetDocument, WRAPPED_FORMAT, MAX_KEYSET_TEXT_BYTES } from './keys/wrapped.js';
export type { UsableKey, WatchOptions } from './keys/keyring.js';
export { KEY_PURPOSES, KID_PATTERN } from './keys/types.js';
export { ENVELOPE_VERSION, MAX_ENVELOPE_OVERHEAD } from './layers/envelope.js';
export type { AeadAlgorithm } from './crypto/aead/types.js';

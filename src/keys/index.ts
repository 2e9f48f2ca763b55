/** The keys module's public surface. */
export { DEFAULT_MAX_SESSION_LIFETIME_MS, Keyring, type KeyringOptions, type RetireOptions, type UsableKey, type WatchOptions } from './keyring.js';
export { KEY_PURPOSES, KID_PATTERN, type KeyInfo, type KeyPurpose, type KeyStatus } from './types.js';
export type { KeysetJwk, KeysetJwks } from './jwks.js';
export type { KeyringSource } from './source.js';
export { KeysetFileSource, type KeysetFileOptions } from './file.js';
export { KeysetEnvSource, type KeysetEnvOptions } from './env.js';
export type { LockOptions } from './lock.js';
export { type KeysetProtection, type WrappedKeysetDocument, MAX_KEYSET_TEXT_BYTES, WRAPPED_FORMAT } from './wrapped.js';
export type { KeyEncryptionProvider, WrappedBlob } from './providers/types.js';
export { passphraseProvider, type PassphraseProviderOptions } from './providers/passphrase.js';

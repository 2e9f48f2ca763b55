/**
 * sealed-session-store/kit: for people writing a backend or a layer. The base classes that give a
 * store the record-level contract, the queued compare-and-swap, the validators every store applies
 * to its input, the adapter for a plain `SessionStore`, the layer classes to compose, and the
 * constants of the stored formats. Application code needs none of it: see the root entry.
 */
export { BackendStore, DEFAULT_TTL_MS, VersionedStore, type VersionedStoreOptions } from './contract/versioned-store.js';
export { type CasOptions, type CasStep, compareAndSwap } from './contract/cas.js';
export { KeyedQueue } from './contract/queue.js';
export { newVersion } from './contract/version.js';
export { isIndexedStore, isRecordStore } from './contract/store.js';
export { MAX_INDEX_KEY_LENGTH, assertIndexKey } from './contract/index-key.js';
export {
  type KeysetSlotStore,
  type KeysetWriteCondition,
  type StoredKeysetText,
  MAX_KEYSET_SLOT_BYTES,
  assertKeysetWrite,
  hasKeysetSlot,
} from './contract/keyset-slot.js';
export { StoreKeysetSource, type StoreKeysetOptions } from './keys/store-source.js';
export {
  MAX_ID_LENGTH,
  MAX_STATE_DEPTH,
  MAX_TTL_MS,
  assertExpiresAt,
  assertSessionId,
  assertState,
  isPlainObject,
  normalizeLimit,
  normalizeTtl,
} from './contract/validate.js';
export { type AdaptOptions, adaptSessionStoreSingleProcess } from './contract/adapt.js';

// The layers a layer author composes (secureStore() stacks them for applications).
export {
  EncryptedStore,
  type EncryptedStoreOptions,
  type RekeyOptions,
  type RekeyProgress,
  type RekeyResult,
  DEFAULT_MAX_PLAINTEXT_BYTES,
} from './layers/encrypt.js';
export { TtlStore, type TtlOptions, type TtlStats } from './layers/ttl.js';
export { DEFAULT_IDLE_MS, DEFAULT_ABSOLUTE_MS } from './layers/ttl-policy.js';
export type { Sealed, SessionMeta } from './layers/sealed.js';

// Formats and bounds (the byte layout of an envelope is in SECURITY.md).
export { ENVELOPE_VERSION, MAX_ENVELOPE_OVERHEAD } from './layers/envelope.js';
export { KEY_PURPOSES, KID_PATTERN } from './keys/types.js';
export { RESERVED_PREFIX } from './layers/ownership.js';
export { DEFAULT_MAX_SESSION_LIFETIME_MS } from './keys/keyring.js';
export { WRAPPED_FORMAT, MAX_KEYSET_TEXT_BYTES } from './keys/wrapped.js';

export type {
  DeleteRecordOptions,
  IndexedRecordStore,
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
export { unpooledRandom } from './util/random.js';
export type { RandomSource } from './util/random.js';

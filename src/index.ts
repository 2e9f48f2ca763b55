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
export { BackendStore, DEFAULT_TTL_MS, VersionedStore, type VersionedStoreOptions } from './contract/base.js';
export { type CasOptions, compareAndSwap } from './contract/cas.js';
export { KeyedQueue } from './contract/queue.js';
export { MAX_ID_LENGTH, MAX_TTL_MS, assertSessionId, assertState, normalizeTtl } from './contract/validate.js';
export { newVersion } from './contract/version.js';
export { MemoryStore, type MemoryStoreOptions } from './backends/memory.js';
export type { RandomSource } from './crypto/random.js';
export { type AdaptOptions, adaptSessionStoreSingleProcess } from './contract/adapt.js';
export { isPlainObject, normalizeLimit } from './contract/validate.js';

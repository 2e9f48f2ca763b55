/**
 * sealed-session-store/keyv, both directions:
 * - `sealedKeyv(secure)` (store.ts): a Keyv storage adapter whose values are sealed by a `SecureStore`;
 * - `keyvBackend(keyv)` (backend.ts): any Keyv store as the record store under `secureStore()`
 *   (single process only: Keyv has no compare-and-swap).
 * Keyv itself is the application's (an optional peer); this module never imports it.
 */
export { KEYV_OWNER, SealedKeyvStore, type SealedKeyvOptions, sealedKeyv } from './store.js';
export { type KeyvBackendOptions, type KeyvLike, KeyvListingUnsupportedError, keyvBackend } from './backend.js';

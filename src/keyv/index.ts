/**
 * sealed-session-store/keyv: a Keyv storage adapter whose values are sealed by a `SecureStore`
 * (see store.ts). Keyv itself is the application's (an optional peer); this module never imports it.
 */
export { KEYV_OWNER, SealedKeyvStore, type SealedKeyvOptions, sealedKeyv } from './store.js';

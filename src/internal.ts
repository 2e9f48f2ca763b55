/**
 * The library's private barrel: what its own fronts (`./mcp`, `./config`, `./testing`, the CLI and
 * the framework stores) import. It is not in package.json `exports`, so nothing here is a promise
 * to users; the public entries are `src/index.ts` (application authors), `src/kit.ts` (store and
 * layer authors) and `src/tokens/index.ts` (low-level token checks).
 *
 * Every public entry and every front shares one copy of these modules in the build (tsup splits
 * shared code into chunks for ESM and CJS alike), so `instanceof` and module state hold across them.
 */
export * from './index.js';
export * from './kit.js';
export * from './tokens/index.js';

// Beyond the public entries: what the fronts need and users do not.
export { ScopedSessionStore, assertClientSessionId } from './layers/ownership.js';
export { ownerHash, subjectHash } from './layers/owner-hash.js';
// Internals the fronts share with the library (not public): the sealer, key administration,
// byte helpers and the derivation labels.
export { EnvelopeSealer, Sealer, type KeyContext, type SealerOptions } from './layers/sealer.js';
export { encryptionCounts, keyUsage, rekey, retireKey, type SealedRecords } from './admin/keys.js';
export { registerEventsNamespace } from './admin/namespaces.js';
export { isNamespaceRecordId } from './admin/namespace-ids.js';
export { type TargetUsage, type WalkPlan, type WalkTarget, describeTarget, planWalk, usageOf } from './admin/walk.js';
export { base64urlDecode, base64urlEncode, utf8Decode, utf8Encode } from './util/bytes.js';
export { intOption, optionsObject } from './util/options.js';
export { MCP_EVENT_TAG_LABEL, MCP_REQUEST_STATE_LABEL, labelled } from './crypto/labels.js';
export { auditOf, loadAsNamedOwner, unsafeLayersOf } from './secure-store.js';
export { parseIntOption } from './util/options.js';
export { sleep } from './util/time.js';
export { partialOf } from './contract/updater.js';
export { SessionTokens } from './tokens/token.js';
export { hmacSha256 } from './crypto/hmac.js';
export { ADOPT_LABEL, KEYV_KEY_LABEL, KEYV_NAMESPACE_LABEL } from './crypto/labels.js';
export { INSPECT_CUSTOM, redactedView } from './keys/redact.js';
export { ReadOnlyKeysetError } from './keys/file.js';

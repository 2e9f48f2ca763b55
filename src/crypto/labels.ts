/**
 * Every domain-separation label of the library, in one place. Each key derivation (HKDF info) and
 * each keyed or plain hash starts its input with one of these, so one key used for two jobs never
 * produces the same bytes for both (an owner hash is never a subject hash, a request-state key is
 * never an envelope key). Changing a label changes a stored or issued format: existing envelopes,
 * owner hashes, revocation marks and handles would stop matching. Add a new label instead.
 */

/** HKDF info of an `encrypt` key's per-algorithm subkey: this prefix + the algorithm name (envelope v1; AES-256-GCM uses the key as is). */
export const ALGORITHM_SUBKEY_LABEL = 'sealed-session-store/v1/';
/** HMAC input prefix of an owner's hash (subject, client id, fingerprint), under a `hash` key. */
export const OWNER_HASH_LABEL = 'sss/owner/v1';
/** HMAC input prefix of a subject's hash, for per-subject revocation marks. */
export const SUBJECT_HASH_LABEL = 'sss/subject/v1';
/** HMAC input prefix of the session tag in audit events (a session id never reaches an audit sink in clear). */
export const AUDIT_TAG_LABEL = 'sss/audit/v1';
/** HKDF info prefix of the MCP request-state key, followed by the handle's purpose. */
export const MCP_REQUEST_STATE_LABEL = 'sss/mcp/request-state/v1';
/** SHA-256 input prefix of the session tag inside MCP event ids. */
export const MCP_EVENT_TAG_LABEL = 'sss/mcp/events/v1';
/**
 * HMAC input that names a derived key inside this process, so encryptions are counted per key (its
 * nonce budget) without keeping the key's bytes as a map key. Never stored or sent.
 */
export const KEY_COUNTER_LABEL = 'sss/encryption-counter/v1';

/** `label || 0x00 || context`: the NUL keeps a label and its context from running into each other. */
export function labelled(label: string, context: string): string {
  return `${label}\u0000${context}`;
}
/** HMAC input prefix that maps a Keyv key (with its namespace) to a session id, under a `hash` key: keys never reach the backend in clear. */
export const KEYV_KEY_LABEL = 'sss/keyv/key/v1';
/** HMAC input prefix of a Keyv namespace's id prefix, so `clear()` finds its ids without opening any record. */
export const KEYV_NAMESPACE_LABEL = 'sss/keyv/namespace/v1';
/** HMAC input prefix of the adoption window (src/adopt/): the keyed hashes of the legacy ids it admits, and its state's tag. */
export const ADOPT_LABEL = 'sss/adopt/v1';

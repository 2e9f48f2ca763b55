/**
 * The reserved ids of the namespace registry (src/admin/namespaces.ts), apart from the registry's
 * logic so the key walks (src/admin/keys.ts) can skip its records without importing any backend.
 * `~` starts every reserved id: the ownership layer refuses session ids that start with it, so a
 * session can never take one.
 */
export const NAMESPACE_RECORD_PREFIX = '~ns.';
/** The index the registry files its records under, so they are listed without walking the sessions. */
export const NAMESPACE_INDEX = '~namespaces';

/** True for a namespace-registry record (plain JSON, never sealed: not a session, not an event). */
export function isNamespaceRecordId(id: string): boolean {
  return id.startsWith(NAMESPACE_RECORD_PREFIX);
}

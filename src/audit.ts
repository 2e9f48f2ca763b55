/**
 * Audit events: what the stack reports to the application's hook (integrity failures, owner
 * mismatches, refused tokens, conflicts, expiries, revocations, rotations, re-keys, adoptions of plaintext sessions). An event never
 * carries a session id, token, owner or state in clear, so an audit log is not a second place to
 * steal sessions from.
 */
export type AuditEventType =
  | 'integrity'
  | 'owner_mismatch'
  | 'invalid_token'
  | 'conflict'
  | 'expired'
  | 'revoked'
  | 'revocation'
  | 'rotation'
  | 'rekey'
  /** A followed keyset could not be reloaded (the keyring kept its keys): operation `reload_failed`. */
  | 'keyset_reload'
  /** A plaintext session of another store (connect-redis) was sealed into this one (src/adopt/). */
  | 'adopted'
  /** A plaintext session outside the adoption window was refused: a planted login, or one written after the migration started. */
  | 'plaintext_refused';

/** What the audit hook receives: never a session id, token, owner or state in clear. */
export interface AuditEvent {
  type: AuditEventType;
  operation: string;
  /** Key id involved, when one is. */
  kid?: string;
  /** base64url of a keyed hash of the session id (stable per session and hash key, not reversible). */
  session?: string;
}

export type AuditSink = (event: AuditEvent) => void;

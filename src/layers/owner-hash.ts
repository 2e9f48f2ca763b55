/**
 * Keyed hashes of who owns a session. The owner (subject, optional client id and fingerprint) is
 * never stored or put in a token in clear: only HMAC-SHA256 under a `hash`-purpose key, so a
 * database or token leak does not reveal who the sessions belong to, and an attacker without the
 * key cannot compute the hash of a victim to forge ownership.
 * Inputs are domain-separated and length-unambiguous (a JSON array), so no two owners share bytes.
 */
import { InvalidInputError } from '../contract/errors.js';
import { assertWellFormedText } from '../contract/validate.js';
import { utf8Encode } from '../util/bytes.js';
import { hmacSha256 } from '../crypto/hmac.js';
import { OWNER_HASH_LABEL, SUBJECT_HASH_LABEL, labelled } from '../crypto/labels.js';

export interface Owner {
  /** The authenticated principal (e.g. the OAuth `sub`). */
  subject: string;
  /** The OAuth client the principal uses, when sessions must not cross clients. */
  clientId?: string;
  /** Anything else the session is bound to (e.g. a device key thumbprint). */
  fingerprint?: string;
}

const MAX_FIELD = 1024;

function field(value: unknown, name: string, required: boolean): string | null {
  if (value === undefined && !required) return null;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_FIELD) {
    throw new InvalidInputError(`owner.${name} must be a non-empty string of at most ${MAX_FIELD} characters`);
  }
  // A lone surrogate becomes U+FFFD in UTF-8: 'bob\uD800' would hash like 'bob\uFFFD', so one
  // subject could revoke (or, with a chosen client id, reach) another's sessions.
  assertWellFormedText(value, `owner.${name}`);
  return value;
}

/** The canonical bytes of an owner; throws `invalid_input` for a malformed one. */
export function ownerBytes(owner: Owner): Uint8Array {
  if (owner === null || typeof owner !== 'object') throw new InvalidInputError('owner must be an object with a subject');
  const parts = [field(owner.subject, 'subject', true), field(owner.clientId, 'clientId', false), field(owner.fingerprint, 'fingerprint', false)];
  return utf8Encode(labelled(OWNER_HASH_LABEL, JSON.stringify(parts)));
}

/** HMAC of the owner under a hash key (32 bytes). */
export function ownerHash(key: Uint8Array, owner: Owner): Uint8Array {
  return hmacSha256(key, ownerBytes(owner));
}

/** HMAC of a subject alone, for per-subject revocation marks. */
export function subjectHash(key: Uint8Array, subject: string): Uint8Array {
  field(subject, 'subject', true);
  return hmacSha256(key, utf8Encode(labelled(SUBJECT_HASH_LABEL, subject)));
}

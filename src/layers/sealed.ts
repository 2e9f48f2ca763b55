/**
 * The one shape the security layers keep in a record: `{ meta, data }`. `data` is the user's state;
 * `meta` is what the layers need, sealed together with it by the encrypting layer, so an attacker
 * who can write to the database cannot move a deadline or an owner without breaking the seal, and
 * no user key can ever collide with metadata (`update(partial)` merges into `data` only).
 */
import { IntegrityError } from '../contract/errors.js';
import type { JsonValue, SessionState } from '../contract/store.js';
import { isPlainObject } from '../contract/validate.js';

export const SEALED_FORMAT = 1;

export interface SessionMeta {
  /** Shape version. */
  v: number;
  /** Epoch ms the session was created; kept by re-saves; revocation compares against it. */
  createdAt: number;
  /** Idle expiry (epoch ms), never past `absoluteAt`. */
  expiresAt: number;
  /** Absolute deadline (epoch ms): nothing moves it. */
  absoluteAt: number;
  /** The idle window this session renews by. */
  ttlMs: number;
  /** base64url HMAC of the owner (ownership layer). */
  owner?: string;
  /** Subject hash, the key of this owner's revocation mark. */
  subject?: string;
  /** Kid of the `hash` key behind `owner` and `subject`. */
  ownerKid?: string;
}

export interface Sealed {
  meta: SessionMeta;
  data: SessionState;
}

/** An HMAC-SHA256 in canonical base64url: what `owner` and `subject` hold. */
const HASH_B64 = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
const KID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * True when `value` has the sealed shape, checked field by field: anything else is not ours. Even a
 * record that opened (so it was sealed by a key holder) must not be able to steer the layers with a
 * malformed field, e.g. a subject that is not a hash and so no valid revocation-mark id.
 */
export function isSealed(value: unknown): value is Sealed {
  if (!isPlainObject(value)) return false;
  const meta = value.meta;
  if (!isPlainObject(meta) || !isPlainObject(value.data) || meta.v !== SEALED_FORMAT) return false;
  if (!isFiniteNumber(meta.createdAt) || !isFiniteNumber(meta.expiresAt) || !isFiniteNumber(meta.absoluteAt)) return false;
  const { ttlMs, owner, subject, ownerKid } = meta;
  if (!isFiniteNumber(ttlMs) || ttlMs <= 0) return false;
  return (
    (owner === undefined || (typeof owner === 'string' && HASH_B64.test(owner))) &&
    (subject === undefined || (typeof subject === 'string' && HASH_B64.test(subject))) &&
    (ownerKid === undefined || (typeof ownerKid === 'string' && KID.test(ownerKid)))
  );
}

function isFiniteNumber(x: unknown): x is number {
  return typeof x === 'number' && x - x === 0;
}

/** The sealed shape of a record, or one `integrity` error: a record that opened but is not ours. */
export function asSealed(value: unknown): Sealed {
  if (!isSealed(value)) throw new IntegrityError();
  return value;
}

/** The shape as a JSON state (what the encrypting layer seals). */
export function toState(sealed: Sealed): SessionState {
  return sealed as unknown as { [key: string]: JsonValue };
}

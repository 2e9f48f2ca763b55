/**
 * The keyset slot: ONE record per store, beside the sessions but never among them, that holds a
 * keyring's keyset as text (wrapped under a key-encryption key by `keys/store-source.ts`; the
 * backend never sees a key). It lets a fleet with no shared file system share one keyset through
 * the store it already has.
 *
 * What every backend promises (the compliance suite's `keyset` topic checks it):
 * - the slot is NOT a session: it has no TTL and no expiry, `listActive`, `listByIndex`,
 *   `cleanupExpired` (whatever the clock says), re-key and key usage never see, count or remove it,
 *   and no session id can name it (memory: a field; Redis: a key with a space, impossible as
 *   `<prefix><id>`; SQL: its own table `<table>_keyset`);
 * - every write is a compare-and-swap (`ifAbsent` to create, `ifVersion` to change), so two
 *   rotations at once never lose a key; there is no blind overwrite;
 * - the version is an opaque token that never repeats, so a poller can tell a change by it alone.
 */
import { InvalidInputError } from './errors.js';

export interface StoredKeysetText {
  /** The keyset as stored (a wrapped keyset document, normally). */
  text: string;
  /** Opaque, never-repeating version token. */
  version: string;
}

/** Exactly one condition: create (`ifAbsent`) or change (`ifVersion`). */
export type KeysetWriteCondition = { ifAbsent: true; ifVersion?: undefined } | { ifVersion: string; ifAbsent?: undefined };

export interface KeysetSlotStore {
  /** The stored keyset text and its version, or undefined when none is stored. */
  loadKeysetText(): Promise<StoredKeysetText | undefined>;
  /** Writes under the condition; resolves the new version, or rejects `conflict`. */
  saveKeysetText(text: string, condition: KeysetWriteCondition): Promise<string>;
  /** Removes the keyset (operators, tests); resolves whether one was there. */
  deleteKeysetText(): Promise<boolean>;
  /**
   * Optional: warnings about how this backend keeps the slot (Redis: an eviction policy that may
   * evict it). Never rejects for a check it cannot make; it says so in the warning instead.
   */
  keysetWarnings?(): Promise<string[]>;
}

/** Largest keyset text a backend accepts (a bound against runaway writes); 1 MiB, as keyset files. */
export const MAX_KEYSET_SLOT_BYTES = 1024 * 1024;

export function hasKeysetSlot(store: unknown): store is KeysetSlotStore {
  if (store === null || typeof store !== 'object') return false;
  const s = store as Partial<KeysetSlotStore>;
  return typeof s.loadKeysetText === 'function' && typeof s.saveKeysetText === 'function' && typeof s.deleteKeysetText === 'function';
}

/** Checks a slot write's arguments (`invalid_input`); returns the condition in a normal form. */
export function assertKeysetWrite(text: unknown, condition: unknown): { ifAbsent: boolean; ifVersion: string | undefined } {
  if (typeof text !== 'string' || text.length === 0) throw new InvalidInputError('keyset text must be a non-empty string');
  if (text.length > MAX_KEYSET_SLOT_BYTES) throw new InvalidInputError(`keyset text is longer than ${MAX_KEYSET_SLOT_BYTES} characters`);
  if (condition === null || typeof condition !== 'object') throw new InvalidInputError('a keyset write needs a condition: { ifAbsent: true } or { ifVersion }');
  const c = condition as { ifAbsent?: unknown; ifVersion?: unknown };
  const absent = c.ifAbsent === true;
  const version = c.ifVersion;
  if (version !== undefined && (typeof version !== 'string' || version.length === 0)) throw new InvalidInputError('ifVersion must be a non-empty string');
  // No blind overwrite (threat: a rotation that silently drops another's key).
  if (absent === (version !== undefined)) throw new InvalidInputError('a keyset write needs exactly one condition: { ifAbsent: true } or { ifVersion }');
  return { ifAbsent: absent, ifVersion: version as string | undefined };
}

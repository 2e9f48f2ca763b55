/**
 * Walks the per-index listing for one subject: the ids filed under its subject hash, one index
 * per usable `hash` key (a session is filed under the hash of the key that bound it, so after a
 * rotation the subject's sessions sit under two or more), the keys taken in kid order.
 *
 * The cursor is `o1.` + base64url(JSON [kid, the backend's cursor or null]). It comes back from
 * callers, so it is decoded strictly: a forged one is `invalid_input` or names an index walk of the
 * same subject (the backend checks its own cursor). Nothing listed here is trusted: the caller
 * opens every record and checks its owner, as a load does.
 */
import { InvalidInputError } from '../contract/errors.js';
import type { ListOptions, ListPage } from '../contract/store.js';
import type { Keyring } from '../keys/keyring.js';
import { base64urlDecode, base64urlEncode, utf8Decode, utf8Encode } from '../util/bytes.js';
import { subjectHash } from './owner-hash.js';

const CURSOR_PREFIX = 'o1.';
const MAX_CURSOR_LENGTH = 16_384;

type ByIndex = (index: string, options?: ListOptions) => Promise<ListPage>;

/** The subject hash (base64url) under each usable hash key, in kid order. */
export function subjectIndexes(keyring: Keyring, subject: string): Array<{ kid: string; index: string }> {
  return keyring
    .keysFor('hash')
    .map(({ kid, key }) => ({ kid, index: base64urlEncode(subjectHash(key, subject)) }))
    .sort((a, b) => (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0));
}

/** One page of the ids filed under `subject`'s hashes (unchecked: the caller opens each). */
export async function listOwnerIndex(byIndex: ByIndex, keyring: Keyring, subject: string, limit: number, cursor: string | undefined): Promise<ListPage> {
  const indexes = subjectIndexes(keyring, subject);
  const at = cursor === undefined ? undefined : decodeCursor(cursor);
  // Resume at the kid the cursor names, or the first one after it when that key is no longer usable.
  let i = at === undefined ? 0 : indexes.findIndex((x) => x.kid >= at.kid);
  if (i === -1) return { ids: [] };
  const current = indexes[i]!;
  const inner = at !== undefined && at.kid === current.kid && at.inner !== null ? at.inner : undefined;
  const page = await byIndex(current.index, inner === undefined ? { limit } : { limit, cursor: inner });
  if (page.cursor !== undefined) return { ids: page.ids, cursor: encodeCursor(current.kid, page.cursor) };
  const next = indexes[++i];
  return next === undefined ? { ids: page.ids } : { ids: page.ids, cursor: encodeCursor(next.kid, null) };
}

function encodeCursor(kid: string, inner: string | null): string {
  return CURSOR_PREFIX + base64urlEncode(utf8Encode(JSON.stringify([kid, inner])));
}

function decodeCursor(cursor: unknown): { kid: string; inner: string | null } {
  const fail = () => new InvalidInputError('cursor is not one this store issued');
  if (typeof cursor !== 'string' || !cursor.startsWith(CURSOR_PREFIX) || cursor.length > MAX_CURSOR_LENGTH) throw fail();
  const bytes = base64urlDecode(cursor.slice(CURSOR_PREFIX.length));
  const text = bytes === undefined ? undefined : utf8Decode(bytes);
  if (text === undefined) throw fail();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw fail();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw fail();
  const [kid, inner] = parsed as unknown[];
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > 128) throw fail();
  if (inner !== null && (typeof inner !== 'string' || inner.length === 0)) throw fail();
  return { kid, inner };
}

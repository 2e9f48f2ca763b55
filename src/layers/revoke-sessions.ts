/**
 * The second half of "log out everywhere": after the subject's revocation marks are written,
 * DELETE the sessions they revoke, so that deleting or rolling back a mark later (anyone with write
 * access to the backend can) brings nothing back. What remains is restoring the deleted sessions
 * themselves from a backup (SECURITY.md, "Revocation").
 *
 * The sessions are found through the per-index listing (every built-in backend keeps it: the ids
 * filed under the subject hash, expired ones included, so a backend expiry moved into the past
 * hides nothing), or, on a store without it, by walking every live record. The listing is only a
 * lead: each record is opened and checked (its sealed subject is one of the revoked hashes and it
 * was created before the mark) before a version-checked delete, so a forged index entry can make
 * this delete nothing it should not.
 */
import { ConflictError, isSessionStoreError } from '../contract/errors.js';
import type { ListPage } from '../contract/store.js';
import { RESERVED_PREFIX } from './revocations.js';
import type { SealedStore } from './sealed-store.js';

const PAGE = 500;
const PARALLEL = 16;
const ATTEMPTS = 8;

/**
 * Deletes every session filed under (or, without the listing, sealed with) one of `subjectHashes`
 * and created before `notBefore`; resolves how many were deleted. `onDeleted` hears each id.
 */
export async function deleteRevokedSessions(
  store: SealedStore,
  subjectHashes: string[],
  notBefore: number,
  onDeleted: (id: string) => void = () => {},
): Promise<number> {
  const hashes = new Set(subjectHashes);
  let deleted = 0;
  const visit = async (ids: string[]): Promise<void> => {
    const sessions = ids.filter((id) => !id.startsWith(RESERVED_PREFIX));
    for (let i = 0; i < sessions.length; i += PARALLEL) {
      const done = await Promise.all(sessions.slice(i, i + PARALLEL).map((id) => store.serialize(id, () => deleteOne(store, id, hashes, notBefore))));
      done.forEach((gone, j) => {
        if (!gone) return;
        deleted++;
        onDeleted(sessions[i + j]!);
      });
    }
  };
  const byIndex = store.listByIndex;
  if (byIndex !== undefined) {
    for (const index of hashes) await walk((cursor) => byIndex(index, cursor === undefined ? { limit: PAGE } : { limit: PAGE, cursor }), visit);
  } else {
    await walk((cursor) => store.listActive(cursor === undefined ? { limit: PAGE } : { limit: PAGE, cursor }), visit);
  }
  return deleted;
}

async function walk(page: (cursor: string | undefined) => Promise<ListPage>, visit: (ids: string[]) => Promise<void>): Promise<void> {
  let cursor: string | undefined;
  do {
    const res = await page(cursor);
    await visit(res.ids);
    cursor = res.cursor;
  } while (cursor !== undefined);
}

async function deleteOne(store: SealedStore, id: string, hashes: Set<string>, notBefore: number): Promise<boolean> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    let rec;
    try {
      rec = await store.loadSealed(id);
    } catch (err) {
      // Not ours to judge (another namespace's envelope, a retired key): left alone.
      if (isSessionStoreError(err, 'integrity') || isSessionStoreError(err, 'unknown_key')) return false;
      throw err;
    }
    if (rec === undefined) return false;
    const { subject, createdAt } = rec.sealed.meta;
    if (subject === undefined || !hashes.has(subject) || createdAt >= notBefore) return false;
    try {
      return await store.deleteRecord(id, { ifVersion: rec.version });
    } catch (err) {
      // Written meanwhile (by another process: this one's writes are queued ahead): read it again.
      if (!isSessionStoreError(err, 'conflict')) throw err;
    }
  }
  throw new ConflictError(`gave up deleting a revoked session after ${ATTEMPTS} concurrent writes`);
}

/**
 * "Log out everywhere": one not-before mark per subject (keyed by the subject hash). A session
 * created before its subject's mark is dead, in every process that shares the store.
 *
 * Marks are sealed records of the same `SealedStore` as sessions, `{ meta, data: { nb } }`, kept for
 * the longest a session can live, and that deadline is in the sealed meta. So an attacker with
 * write access to the backend who moves a mark's backend expiry into the past does not bring the
 * revoked sessions back: the backend's expiry is only a hint for space, here as for sessions.
 * Deleting a mark outright is a different matter: a database writer can always delete records.
 */
import { isSessionStoreError } from '../contract/errors.js';
import type { RecordStore } from '../contract/store.js';
import { MAX_TTL_MS } from '../contract/validate.js';
import type { Keyring } from '../keys/keyring.js';
import { base64urlEncode } from '../util/bytes.js';
import { intOption } from '../util/options.js';
import { subjectHash } from './owner-hash.js';
import type { Sealed } from './sealed.js';
import { type SealedRecord, type SealedStore, swapSealed } from './sealed-store.js';
import { expiryOf, legacyMeta, newMeta } from './ttl-policy.js';

/** Ids starting with this are the store's own records (revocation marks); sessions may not use it. */
export const RESERVED_PREFIX = '~';

/** Default of `revocationCacheMs`. */
export const DEFAULT_REVOCATION_CACHE_MS = 1000;

export interface RevocationOptions {
  now: () => number;
  /** How long a mark (or its absence) is cached in this process; default 1000 ms. Revocations by
   *  another process take up to this long to be seen here; this process's own are seen at once. */
  cacheMs?: number;
  /**
   * Migration: the record store below `store` (it opens records), to read marks written before marks
   * carried a sealed deadline. Such a mark opens to `{ nb }` alone and keeps the backend's expiry it
   * was written with; it is replaced by the next revocation of its subject.
   */
  legacy?: Pick<RecordStore, 'loadRecord'>;
}

const CACHE_ENTRIES = 10_000;

export class Revocations {
  private readonly cache = new Map<string, { notBefore: number; until: number }>();
  private readonly cacheMs: number;

  constructor(
    private readonly store: SealedStore,
    private readonly options: RevocationOptions,
  ) {
    this.cacheMs = intOption(options.cacheMs, DEFAULT_REVOCATION_CACHE_MS, 0, MAX_TTL_MS, 'revocationCacheMs');
  }

  private static markId(subjectHashB64: string): string {
    return `${RESERVED_PREFIX}rv.${subjectHashB64}`;
  }

  /** The cached not-before time for a subject hash, when this process has a fresh one; else undefined. */
  cachedNotBefore(subjectHashB64: string): number | undefined {
    const hit = this.cache.get(subjectHashB64);
    return hit !== undefined && hit.until > this.options.now() ? hit.notBefore : undefined;
  }

  /** The not-before time for a subject hash (0 when never revoked, or when its mark has ended). */
  async notBefore(subjectHashB64: string): Promise<number> {
    const now = this.options.now();
    const hit = this.cache.get(subjectHashB64);
    if (hit !== undefined && hit.until > now) return hit.notBefore;
    const rec = await this.read(Revocations.markId(subjectHashB64));
    const nb = rec !== undefined && rec.expiresAt > now ? markTime(rec.sealed) : 0;
    if (this.cacheMs > 0) this.remember(subjectHashB64, nb, now);
    return nb;
  }

  /** Writes (or moves forward) the mark for each subject hash; sessions created before now die. */
  async revoke(subjectHashes: string[]): Promise<number> {
    const now = this.options.now();
    const lifetime = this.store.policy.absoluteMs;
    const marks = { loadSealed: (id: string) => this.read(id), saveSealed: this.store.saveSealed.bind(this.store) };
    for (const sh of subjectHashes) {
      const written = await swapSealed(marks, Revocations.markId(sh), (cur) => {
        const nb = Math.max(cur === undefined ? 0 : markTime(cur.sealed), now);
        return { sealed: { meta: newMeta(this.store.policy, now, lifetime), data: { nb } }, expiresAt: now + lifetime, nb };
      });
      this.remember(sh, written.nb, now);
    }
    return now;
  }

  private remember(subjectHashB64: string, notBefore: number, now: number): void {
    if (this.cache.size > CACHE_ENTRIES) this.cache.clear();
    this.cache.set(subjectHashB64, { notBefore, until: now + this.cacheMs });
  }

  private async read(id: string): Promise<SealedRecord | undefined> {
    try {
      return await this.store.loadSealed(id);
    } catch (err) {
      const legacy = this.options.legacy;
      if (legacy === undefined || !isSessionStoreError(err, 'integrity')) throw err;
      // Only a record that opens to exactly `{ nb: number }` is an old mark; anything else that
      // failed the sealed shape stays an integrity failure.
      const rec = await legacy.loadRecord(id);
      const value = rec?.value;
      if (rec === undefined || value === undefined || value instanceof Uint8Array || typeof value.nb !== 'number' || Object.keys(value).length !== 1) throw err;
      const meta = legacyMeta(this.store.policy, this.options.now(), rec.expiresAt);
      return { sealed: { meta, data: { nb: value.nb } }, version: rec.version, expiresAt: expiryOf(meta) };
    }
  }
}

function markTime(sealed: Sealed): number {
  const nb = sealed.data.nb;
  return typeof nb === 'number' ? nb : 0;
}

/** Subject hashes under every usable hash key, so a revocation also covers sessions bound under an older key. */
export function subjectHashesFor(keyring: Keyring, subject: string): string[] {
  return keyring.keysFor('hash').map(({ key }) => base64urlEncode(subjectHash(key, subject)));
}

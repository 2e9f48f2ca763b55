/**
 * What this process last saw of each session through its secured stack: the record's version, its
 * sealed meta and its expiry, recorded after every read that opened and checked the record and every
 * write that produced a version. A `save` over a session known here writes conditionally on that
 * version instead of first reading and opening the current record - the read would only re-derive
 * what is known (owner, creation time, deadlines). If anything wrote the session since (another
 * process, a re-key, a renewal), its version changed, the condition fails and the save reads as
 * before, so a stale entry costs one refused write, never a wrong one. Versions come from the
 * backend and never repeat for an id; an attacker with write access to the backend who keeps a
 * version while changing the bytes only gets the bytes overwritten by the legitimate save. Loads
 * never use it: every load opens and authenticates what the backend holds. Holds no state and no
 * key material (owner and subject are keyed hashes); bounded (emptied when full).
 */
import type { SessionMeta } from './sealed.js';
import { clampToDeadline } from './ttl-policy.js';

export interface Known {
  version: string;
  meta: SessionMeta;
  /** The record's expiry as the TTL layer reports it (idle expiry, never past the absolute deadline). */
  expiresAt: number;
}

/** Default bound of `KnownRecords`: about 400 bytes an entry, so a few MB at most. */
export const DEFAULT_KNOWN_RECORDS = 10_000;

export class KnownRecords {
  private readonly entries = new Map<string, Known>();

  constructor(private readonly max = DEFAULT_KNOWN_RECORDS) {}

  get(id: string): Known | undefined {
    return this.entries.get(id);
  }

  set(id: string, version: string, meta: SessionMeta, expiresAt: number): void {
    if (this.max === 0) return;
    // Full: start over rather than evict one by one (deleting the oldest entry of a Map again and
    // again leaves holes its iterator walks past). Forgetting costs each save one read, once.
    if (this.entries.size >= this.max && !this.entries.has(id)) this.entries.clear();
    this.entries.set(id, { version, meta, expiresAt: clampToDeadline(meta, expiresAt) });
  }

  delete(id: string): void {
    this.entries.delete(id);
  }

  get size(): number {
    return this.entries.size;
  }
}
